"""Sessions: start, touch, end, lookup by window, cleanup and statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import Conflict, NotFound, Storage, ValidationError
from storage.models import Conversation
from storage.models import Session as SessionRow

from .factories import ago, fetch, make_conversation, set_fields


def start(store: Storage, user_id: str, **kw):
    kw.setdefault("window_id", "tmux:%1")
    kw.setdefault("user_agent", "kitty")
    kw.setdefault("device_info", {"os": "linux", "terminal": "kitty", "hostname": "box", "ssh": False, "pid": 42})
    kw.setdefault("location", {"timezone": "Europe/Paris", "locale": "fr_FR"})
    return store.sessions.start(user_id, **kw)


def test_start_records_where_the_app_runs(store: Storage, user_id: str) -> None:
    s = start(store, user_id)
    got = store.sessions.get(user_id, s.id)
    assert got.window_id == "tmux:%1" and got.user_agent == "kitty"
    assert got.device_info == {"os": "linux", "terminal": "kitty", "hostname": "box", "ssh": False, "pid": 42}
    assert got.location == {"timezone": "Europe/Paris", "locale": "fr_FR"}
    assert got.is_active and got.ended_at is None and got.created_at.tzinfo is not None
    assert len(got.client_session_id) == 36


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"device_info": {"browser": "firefox"}}, "device_info"),
        ({"device_info": {"pid": "42"}}, "device_info.pid"),
        ({"device_info": {"ssh": 1}}, "device_info.ssh"),
        ({"location": {"city": "Paris"}}, "location"),
        ({"window_id": "w" * 201}, "window_id"),
        ({"expires_at": ago(minutes=1)}, "expires_at"),
    ],
)
def test_start_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        start(store, user_id, **kwargs)
    assert info.value.field == field


def test_start_for_unknown_user(store: Storage) -> None:
    with pytest.raises(NotFound):
        start(store, "no-such-user")


def test_touch_and_end(store: Storage, user_id: str) -> None:
    s = start(store, user_id)
    set_fields(store.db, SessionRow, s.id, last_active_at=ago(hours=2))
    touched = store.sessions.touch(user_id, s.id)
    assert touched.last_active_at > ago(minutes=1)
    ended = store.sessions.end(user_id, s.id)
    assert not ended.is_active and ended.ended_at is not None
    assert store.sessions.end(user_id, s.id).ended_at == ended.ended_at  # idempotent
    with pytest.raises(Conflict):
        store.sessions.touch(user_id, s.id)


def test_by_window_and_active_skip_ended_and_expired(store: Storage, user_id: str) -> None:
    old = start(store, user_id, window_id="w1")
    new = start(store, user_id, window_id="w1")
    other = start(store, user_id, window_id="w2", expires_at=ago(seconds=-3600))
    assert store.sessions.by_window(user_id, "w1").id == new.id
    store.sessions.end(user_id, new.id)
    assert store.sessions.by_window(user_id, "w1").id == old.id
    assert store.sessions.by_window(user_id, "nowhere") is None
    assert [s.id for s in store.sessions.active(user_id)] == [other.id, old.id]
    set_fields(store.db, SessionRow, other.id, expires_at=ago(seconds=1))
    assert [s.id for s in store.sessions.active(user_id)] == [old.id]
    assert store.sessions.by_window(user_id, "w2") is None


def test_cleanup_deletes_inactive_and_surplus_but_keeps_their_chats(
    store: Storage, user_id: str, other_user_id: str
) -> None:
    stale = start(store, user_id)
    set_fields(store.db, SessionRow, stale.id, last_active_at=ago(days=31))
    conversation = make_conversation(store.db, user_id, session_id=stale.id)
    recent = []
    for hours in (5, 4, 3, 2, 1):
        s = start(store, user_id)
        set_fields(store.db, SessionRow, s.id, last_active_at=ago(hours=hours))
        recent.append(s.id)
    theirs = start(store, other_user_id)

    deleted = store.sessions.cleanup(inactive_days=30, keep_latest=3)

    assert deleted == 3  # the stale one and the two oldest recent ones
    assert fetch(store.db, SessionRow, stale.id) is None
    remaining = {s.id for s in store.sessions.active(user_id)}
    assert remaining == set(recent[2:])
    assert store.sessions.get(other_user_id, theirs.id).id == theirs.id
    kept = fetch(store.db, Conversation, conversation)
    assert kept is not None and kept.session_id is None


def test_cleanup_for_one_user_only(store: Storage, user_id: str, other_user_id: str) -> None:
    for uid in (user_id, other_user_id):
        for _ in range(3):
            start(store, uid)
    assert store.sessions.cleanup(keep_latest=1, user_id=user_id) == 2
    assert len(store.sessions.active(user_id)) == 1
    assert len(store.sessions.active(other_user_id)) == 3


@pytest.mark.parametrize("kwargs", [{"inactive_days": 0}, {"keep_latest": 0}, {"keep_latest": True}])
def test_cleanup_validation(store: Storage, kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        store.sessions.cleanup(**kwargs)


def test_statistics(store: Storage, user_id: str, other_user_id: str) -> None:
    a = start(store, user_id, user_agent="kitty", device_info={"os": "linux"})
    b = start(store, user_id, user_agent="iTerm2", device_info={"os": "macos"})
    start(store, user_id, user_agent=None, device_info={"os": "linux", "terminal": "alacritty"})
    start(store, other_user_id, user_agent="wezterm")
    now = ago()
    set_fields(store.db, SessionRow, a.id, created_at=now - timedelta(minutes=30), last_active_at=now)
    set_fields(store.db, SessionRow, b.id, created_at=now - timedelta(minutes=10), last_active_at=now,
               is_active=False, ended_at=now)

    stats = store.sessions.statistics(user_id)

    assert stats.total == 3 and stats.active == 2
    assert stats.by_terminal == {"kitty": 1, "iTerm2": 1, "alacritty": 1}
    assert stats.by_os == {"linux": 2, "macos": 1}
    assert timedelta(minutes=13) <= stats.average_duration <= timedelta(minutes=14)
    assert store.sessions.statistics("nobody").average_duration is None

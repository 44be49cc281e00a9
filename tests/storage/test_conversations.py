"""Conversation service: creation, validation, listing order, paging, organising, deletion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage import NotFound, Storage, ValidationError


def test_create_and_get_round_trip(store: Storage, user_id: str) -> None:
    created = store.conversations.create(
        user_id, title="  Trip plan ", provider="openai", model="gpt-4o",
        system_prompt="Be brief.", settings={"temperature": 0.3, "max_tokens": 64000},
        context_window=128000, tags=["Travel", "todo"], context={"cwd": "/tmp", "source": "cli"},
    )
    got = store.conversations.get(user_id, created.id)
    assert got.title == "Trip plan" and got.title_is_custom
    assert got.settings == {"temperature": 0.3, "max_tokens": 64000}
    assert got.tags == ("todo", "travel")
    assert got.context == {"cwd": "/tmp", "source": "cli"}
    assert got.total_cost == Decimal(0) and got.message_count == 0
    assert got.last_message_at.tzinfo is not None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"settings": {"temperature": 2.5}}, "temperature"),
        ({"settings": {"top_p": -0.1}}, "top_p"),
        ({"settings": {"max_tokens": 0}}, "max_tokens"),
        ({"settings": {"max_tokens": 2_000_000}}, "max_tokens"),
        ({"settings": {"frequency_penalty": 3}}, "frequency_penalty"),
        ({"settings": {"colour": "red"}}, "settings"),
        ({"context_strategy": "forget"}, "context_strategy"),
        ({"tags": ["two words"]}, "tag"),
    ],
)
def test_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.conversations.create(user_id, **kwargs)
    assert info.value.field == field


def test_output_limits_fit_todays_models(store: Storage, user_id: str) -> None:
    conv = store.conversations.create(user_id, settings={"max_tokens": 128_000})
    assert conv.settings["max_tokens"] == 128_000


def test_list_pinned_first_then_recent_and_cursor_paging(store: Storage, user_id: str) -> None:
    ids = [store.conversations.create(user_id, title=f"c{i}").id for i in range(7)]
    # Activity on c2 makes it the most recent; c5 is pinned.
    store.messages.add(user_id, ids[2], role="user", content="hello")
    store.conversations.pin(user_id, ids[5])
    first = store.conversations.list(user_id, limit=3)
    assert [c.title for c in first.items] == ["c5", "c2", "c6"]
    assert first.next_cursor
    second = store.conversations.list(user_id, limit=3, cursor=first.next_cursor)
    assert [c.title for c in second.items] == ["c4", "c3", "c1"]
    third = store.conversations.list(user_id, limit=3, cursor=second.next_cursor)
    assert [c.title for c in third.items] == ["c0"] and third.next_cursor is None


def test_bad_cursor_is_a_clear_error(store: Storage, user_id: str) -> None:
    with pytest.raises(ValidationError, match="cursor"):
        store.conversations.list(user_id, cursor="not-a-cursor!")


def test_archive_delete_restore_and_purge(store: Storage, user_id: str) -> None:
    keep = store.conversations.create(user_id, title="keep")
    gone = store.conversations.create(user_id, title="gone")
    store.messages.add(user_id, gone.id, role="user", content="some words here")
    store.conversations.archive(user_id, keep.id)
    assert [c.title for c in store.conversations.list(user_id, status="archived").items] == ["keep"]
    store.conversations.archive(user_id, keep.id, archived=False)
    store.conversations.delete(user_id, gone.id)
    assert [c.title for c in store.conversations.list(user_id).items] == ["keep"]
    assert store.conversations.get(user_id, gone.id).deleted_at is not None
    assert store.search.search(user_id, "words").messages == []  # hidden from search
    store.conversations.restore(user_id, gone.id)
    assert len(store.search.search(user_id, "words").messages) == 1
    store.conversations.purge(user_id, gone.id)
    with pytest.raises(NotFound):
        store.conversations.get(user_id, gone.id)
    assert store.search.search(user_id, "words").messages == []


def test_generated_title_never_overrides_a_chosen_one(store: Storage, user_id: str) -> None:
    auto = store.conversations.create(user_id)
    assert store.conversations.set_generated_title(user_id, auto.id, "  A   generated\ntitle ").title == "A generated title"
    chosen = store.conversations.create(user_id, title="Mine")
    assert store.conversations.set_generated_title(user_id, chosen.id, "Other").title == "Mine"
    renamed = store.conversations.rename(user_id, auto.id, "Renamed")
    assert renamed.title_is_custom


def test_tags(store: Storage, user_id: str) -> None:
    a = store.conversations.create(user_id, tags=["work"])
    b = store.conversations.create(user_id)
    assert store.conversations.add_tag(user_id, b.id, "Work") == ("work",)
    store.conversations.add_tag(user_id, b.id, "urgent")
    assert store.conversations.all_tags(user_id) == [("work", 2), ("urgent", 1)]
    assert [c.id for c in store.conversations.list(user_id, tag="urgent").items] == [b.id]
    assert store.conversations.remove_tag(user_id, b.id, "urgent") == ("work",)
    assert store.conversations.get(user_id, a.id).tags == ("work",)


def test_update_and_cost(store: Storage, user_id: str) -> None:
    conv = store.conversations.create(user_id)
    updated = store.conversations.update(user_id, conv.id, model="claude-sonnet-4-5", context_strategy="summarize")
    assert updated.model == "claude-sonnet-4-5" and updated.context_strategy == "summarize"
    store.conversations.add_cost(user_id, conv.id, Decimal("0.000123456"))
    store.conversations.add_cost(user_id, conv.id, Decimal("0.1"))
    assert store.conversations.get(user_id, conv.id).total_cost == Decimal("0.100123456")
    with pytest.raises(ValidationError):
        store.conversations.update(user_id, conv.id, status="deleted")


def test_latest_for_continue(store: Storage, user_id: str) -> None:
    assert store.conversations.latest(user_id) is None
    a = store.conversations.create(user_id)
    b = store.conversations.create(user_id)
    store.messages.add(user_id, a.id, role="user", content="newer activity")
    assert store.conversations.latest(user_id).id == a.id
    assert b.id != a.id


def test_isolation_between_users(store: Storage, user_id: str, other_user_id: str) -> None:
    mine = store.conversations.create(user_id, title="private plans")
    store.messages.add(user_id, mine.id, role="user", content="secret plans for the garden")
    assert store.conversations.list(other_user_id).items == []
    assert store.search.search(other_user_id, "garden").messages == []
    assert store.search.search(other_user_id, "private").titles == []
    for call in (
        lambda: store.conversations.get(other_user_id, mine.id),
        lambda: store.conversations.rename(other_user_id, mine.id, "hijacked"),
        lambda: store.conversations.delete(other_user_id, mine.id),
        lambda: store.conversations.purge(other_user_id, mine.id),
        lambda: store.messages.add(other_user_id, mine.id, role="user", content="x"),
        lambda: store.messages.branch(other_user_id, mine.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.conversations.get(user_id, mine.id).title == "private plans"

"""Sharing: a chat_shares row with an unguessable token, a bundle carrying the export,
and imports that enforce expiry, permission, recipient, access count and revocation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import storage.services.shares as shares_module
from storage import Storage

ALICE, BOB, CAROL, DAVE = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"


@pytest.fixture
def alice(store: Storage, as_user) -> str:
    as_user(ALICE)
    return store.users.ensure(ALICE).id


@pytest.fixture
def chat(store: Storage, alice: str) -> str:
    conv = store.conversations.create(alice, title="Trip plan", provider="openai", model="gpt-4o")
    store.messages.add(alice, conv.id, role="user", content="Where should we go?")
    store.messages.add(alice, conv.id, role="assistant", content="Lisbon.", model="gpt-4o")
    return conv.id


def share(cli, chat: str, path: Path, *extra: str) -> tuple[str, dict]:
    result = cli("share", chat, "-o", path, *extra)
    assert result.code == 0, result.err
    return result.out.strip(), json.loads(path.read_text())


def shared_copy(store: Storage, identity: str, conversation_id: str):
    return store.conversations.get(store.users.ensure(identity).id, conversation_id)


def test_share_writes_a_bundle_with_token_expiry_and_permission(cli, store, chat, tmp_path: Path) -> None:
    path = tmp_path / "trip.share.json"
    share_id, bundle = share(cli, chat, path)
    assert bundle["format"] == "tui-chat.share" and bundle["version"] == 1
    s = bundle["share"]
    assert s["id"] == share_id and s["permission"] == "read" and s["public"] is True and s["owner"] == ALICE
    assert len(s["token"]) >= 40  # 32 random bytes
    expires = datetime.fromisoformat(s["expires_at"])
    assert abs(expires - (datetime.now(timezone.utc) + timedelta(days=7))) < timedelta(minutes=1)
    assert bundle["conversation"]["format"] == "tui-chat.conversation"
    assert [m["content"] for m in bundle["conversation"]["messages"]] == ["Where should we go?", "Lisbon."]
    assert path.stat().st_mode & 0o077 == 0
    listed = cli("share", "list")
    assert share_id in listed.out and "active" in listed.out and "Trip plan" in listed.out
    assert s["token"] not in cli("share", "list", "--json").out  # tokens stay in bundles
    # To stdout without -o.
    piped = cli("share", chat, "--expires", "never", "--permission", "write")
    assert json.loads(piped.out)["share"]["expires_at"] is None and "write access" in piped.err


def test_import_bundle_as_a_read_only_shared_conversation_once(cli, store, chat, as_user, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    share_id, _ = share(cli, chat, path)
    as_user(BOB)
    result = cli("import", path)
    assert result.code == 0, result.err
    copy = shared_copy(store, BOB, result.out.strip())
    assert copy.title == "Trip plan" and copy.meta["import_key"] == f"share:{share_id}"
    assert copy.meta["shared"]["read_only"] is True and copy.meta["shared"]["owner"] == ALICE
    assert copy.meta["shared"]["conversation_id"] == chat and copy.context == {"source": "share", "read_only": True}
    bob = store.users.ensure(BOB).id
    assert [m.content for m in store.messages.branch(bob, copy.id).items] == ["Where should we go?", "Lisbon."]
    again = cli("import", path)
    assert again.code == 0 and again.out == "" and "skipped 1 already imported" in again.err
    as_user(ALICE)
    assert store.shares.get(store.users.ensure(ALICE).id, share_id).access_count == 1  # counted once
    own = cli("import", path)
    assert own.out.strip() == chat and "your own conversation" in own.err


def test_write_permission_imports_a_writable_conversation(cli, store, chat, as_user, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    share(cli, chat, path, "--permission", "write")
    as_user(BOB)
    copy = shared_copy(store, BOB, cli("import", path).out.strip())
    assert copy.meta["shared"]["permission"] == "write" and copy.meta["shared"]["read_only"] is False


def test_revoking_stops_the_share_at_once(cli, store, chat, as_user, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    share_id, _ = share(cli, chat, path)
    assert cli("share", "revoke", share_id).code == 0
    assert "revoked" in cli("share", "list").out
    as_user(BOB)
    result = cli("import", path)
    assert result.code == 3 and result.out == ""
    assert result.err == "tui-chat: cannot import the share: this share link has been revoked by its owner\n"
    assert store.conversations.list(store.users.ensure(BOB).id).items == []


def test_access_count_is_enforced(cli, store, chat, as_user, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    share(cli, chat, path, "--max-uses", "1")
    as_user(BOB)
    assert cli("import", path).code == 0
    as_user(CAROL)
    result = cli("import", path)
    assert result.code == 3 and "reached its limit of 1 uses" in result.err
    as_user(ALICE)
    assert "used_up" in cli("share", "list").out


def test_expiry_is_enforced_by_the_bundle_and_by_the_share_row(cli, store, chat, as_user, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "b.json"
    _, bundle = share(cli, chat, path, "--expires", "1h")
    stale = tmp_path / "stale.json"
    bundle["share"]["expires_at"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    stale.write_text(json.dumps(bundle))
    as_user(BOB)
    result = cli("import", stale)
    assert result.code == 3 and "this share expired on" in result.err
    # The bundle says it is fine, but the row knows better (someone edited the file, or clocks differ).
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    monkeypatch.setattr(shares_module, "utcnow", lambda: later)
    result = cli("import", path)
    assert result.code == 3 and "this share link expired on" in result.err


def test_share_with_one_user(cli, store, chat, as_user, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    result = cli("share", chat, "--with", DAVE, "-o", path)
    assert result.code == 0 and f"added user {DAVE}" in result.err
    assert json.loads(path.read_text())["share"]["shared_with"] == DAVE
    as_user(CAROL)
    refused = cli("import", path)
    assert refused.code == 3 and f"shared with {DAVE}, not with {CAROL}" in refused.err
    as_user(DAVE)
    assert cli("import", path).code == 0


def test_a_bundle_from_another_database_relies_on_its_own_checks(cli, chat, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch, as_user) -> None:
    path = tmp_path / "b.json"
    share(cli, chat, path)
    monkeypatch.setenv("TUI_CHAT_HOME", str(tmp_path / "laptop"))
    as_user(BOB)
    result = cli("import", path)
    assert result.code == 0, result.err
    other = Storage.open(f"sqlite:///{tmp_path / 'laptop' / 'data' / 'tui-chat.db'}")
    try:
        copy = other.conversations.get(other.users.ensure(BOB).id, result.out.strip())
        assert copy.meta["shared"]["read_only"] is True
    finally:
        other.close()


def test_bad_share_options(cli, chat) -> None:
    assert cli("share", chat, "--expires", "soon").code == 2
    assert cli("share", "no-such-conversation").code == 2
    assert cli("share", "revoke", "no-such-share").code == 2


@pytest.mark.postgres
def test_shared_database_grants_access_through_the_share_row(cli, pg_url: str, as_user, tmp_path: Path) -> None:
    db = Storage.open(pg_url)
    try:
        alice = db.users.ensure(ALICE).id
        db.users.ensure(BOB)
        conv = db.conversations.create(alice, title="Team notes")
        db.messages.add(alice, conv.id, role="user", content="Ship on Friday")
        as_user(BOB)
        assert cli("--db", pg_url, "export", conv.id).code == 2  # not shared yet
        as_user(ALICE)
        result = cli("--db", pg_url, "share", conv.id, "--with", BOB, "-o", tmp_path / "b.json")
        assert result.code == 0, result.err
        share_id = result.out.strip()
        public = cli("--db", pg_url, "share", conv.id, "-o", tmp_path / "public.json")
        assert public.code == 0

        as_user(BOB)
        shown = cli("--db", pg_url, "export", conv.id)
        assert shown.code == 0 and "Ship on Friday" in shown.out and "# Team notes" in shown.out
        assert "Ship on Friday" in cli("--db", pg_url, "export", conv.id, "--format", "html").out
        mine = cli("--db", pg_url, "share", "list", "--with-me")
        assert conv.id in mine.out and "Team notes" in mine.out
        as_user(CAROL)  # a public link needs its token: no access by id
        assert cli("--db", pg_url, "export", conv.id).code == 2

        as_user(ALICE)
        assert cli("--db", pg_url, "share", "revoke", share_id).code == 0
        as_user(BOB)
        gone = cli("--db", pg_url, "export", conv.id)
        assert gone.code == 2 and "not found" in gone.err
        assert "no conversations shared with you" in cli("--db", pg_url, "share", "list", "--with-me").err
    finally:
        db.close()

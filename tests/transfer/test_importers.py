"""Importing from ChatGPT, llm and Elia: titles, UTC times, models and branches kept;
the same file twice does not duplicate; bad files fail whole, bad conversations alone."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage import Storage
from tui_chat.importers.base import ImportIndex, PlannedConversation, PlannedMessage, write_plan

from .conftest import FIXTURES

CHATGPT = FIXTURES / "chatgpt_conversations.json"


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def by_key(store: Storage, user_id: str) -> dict[str, object]:
    found = {}
    for status in ("active", "archived"):
        for conversation in store.conversations.list(user_id, status=status, limit=500).items:
            found[conversation.meta.get("import_key")] = conversation
    return found


def all_messages(store: Storage, user_id: str, conversation_id: str) -> list:
    return store.messages.page(user_id, conversation_id, limit=500).items


# --- ChatGPT ------------------------------------------------------------------------

def test_chatgpt_export_keeps_branches_titles_times_and_models(cli, store, me) -> None:
    result = cli("import", CHATGPT)
    assert result.code == 0, result.err
    assert len(result.out.split()) == 2
    assert "ChatGPT export: imported 2 conversation(s), skipped 0 already imported, 1 malformed" in result.err
    assert "conversation #3 ('Broken')" in result.err and "mapping" in result.err

    found = by_key(store, me)
    regex = found["chatgpt:conv-a"]
    assert regex.title == "Regex help" and regex.provider == "openai" and regex.model == "gpt-4o"
    assert regex.created_at == utc(1700000000.5) and regex.context["source"] == "import"
    messages = all_messages(store, me, regex.id)
    # The hidden system node and the empty root are gone; both edits of the question stay.
    assert [m.content for m in messages] == [
        "How do I match digits?", messages[1].content, "And letters?", "Use [a-z]+",
        "And only letters, upper or lower case?", "Use [A-Za-z]+"]
    assert "```python\nimport re" in messages[1].content and messages[1].model == "gpt-4o"
    assert messages[0].created_at == utc(1700000001.25) and messages[0].created_at.tzinfo is not None
    first_answer = messages[1]
    assert {m.parent_id for m in messages if m.content.startswith("And ")} == {first_answer.id}
    # current_node is the tip: the edited question and its answer by gpt-4o-mini.
    branch = store.messages.branch(me, regex.id).items
    assert [m.content for m in branch][-2:] == ["And only letters, upper or lower case?", "Use [A-Za-z]+"]
    assert branch[-1].model == "gpt-4o-mini"
    assert store.messages.siblings(me, branch[-2].id).label == "2/2"

    picture = found["chatgpt:conv-b"]
    assert picture.model == "gpt-4o"  # "auto" is not a model: the one that answered
    branch = store.messages.branch(me, picture.id).items
    assert [m.role for m in branch] == ["user", "assistant", "assistant", "tool", "assistant"]
    assert branch[0].content == "[image asset pointer not included in the export]\nWhat is in this image?"
    assert branch[0].meta["chatgpt_assets"] == ["file-service://file-abc123"]
    assert branch[2].content == "```python\nprint(6 * 7)\n```"
    assert branch[3].content == "42" and branch[3].meta["tool_name"] == "python"
    assert branch[1].parent_id == branch[0].id  # the empty placeholder between them was skipped


def test_importing_the_same_file_twice_does_not_duplicate(cli, store, me) -> None:
    assert cli("import", CHATGPT).code == 0
    again = cli("import", CHATGPT)
    assert again.code == 0 and again.out == ""
    assert "imported 0 conversation(s), skipped 2 already imported, 1 malformed" in again.err
    assert len(store.conversations.list(me, limit=100).items) == 2


def test_chatgpt_zip_export(cli, store, me, tmp_path: Path) -> None:
    archive = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(CHATGPT, "conversations.json")
        zf.writestr("chat.html", "<html></html>")
    result = cli("import", archive, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["format"] == "ChatGPT export" and len(report["created"]) == 2 and len(report["failed"]) == 1


# --- llm ----------------------------------------------------------------------------

def make_llm_db(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript((FIXTURES / "llm_logs.sql").read_text())
        conn.executemany("INSERT INTO conversations VALUES (?, ?, ?)", [
            ("01j00000000000000000000001", "Ten names for cheesecakes", "gpt-4o-mini"),
            ("01j00000000000000000000002", "Haiku", "claude-3-5-haiku-latest"),
        ])
        rows = [
            ("r1", "gpt-4o-mini", "Ten names for cheesecakes", "Be brief", "1. Cheesy...", "01j00000000000000000000001",
             1200, "2024-05-01T10:00:00.123456", 12, 40, None),
            ("r2", "gpt-4o-mini", "Five more", "Be brief", "6. Creamy...", "01j00000000000000000000001",
             800, "2024-05-01T10:01:00", 60, 30, "gpt-4o-mini-2024-07-18"),
            ("r3", "claude-3-5-haiku-latest", "A haiku about SQLite", None, "Pages in one file", "01j00000000000000000000002",
             None, "2024-06-02 08:30:00+00:00", None, None, None),
            ("r4", "gpt-4o", "no conversation row", None, "orphan answer", None, None, "2024-06-03T00:00:00", 1, 2, None),
        ]
        conn.executemany(
            "INSERT INTO responses (id, model, prompt, system, response, conversation_id, duration_ms, datetime_utc, "
            "input_tokens, output_tokens, resolved_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
    return path


def test_llm_logs_database(cli, store, me, tmp_path: Path) -> None:
    db = make_llm_db(tmp_path / "logs.db")
    result = cli("import", db)
    assert result.code == 0, result.err
    assert "llm logs database: imported 3 conversation(s), skipped 0 already imported" in result.err
    found = by_key(store, me)
    cheese = found["llm:01j00000000000000000000001"]
    assert cheese.title == "Ten names for cheesecakes" and cheese.model == "gpt-4o-mini"
    assert cheese.provider == "openai" and cheese.system_prompt == "Be brief"
    branch = store.messages.branch(me, cheese.id).items
    assert [(m.role, m.content) for m in branch] == [
        ("user", "Ten names for cheesecakes"), ("assistant", "1. Cheesy..."),
        ("user", "Five more"), ("assistant", "6. Creamy...")]
    assert branch[0].created_at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    assert branch[1].meta == {"usage": {"input_tokens": 12, "output_tokens": 40}, "response_ms": 1200}
    assert branch[3].model == "gpt-4o-mini-2024-07-18"  # the resolved model, when llm recorded it
    haiku = found["llm:01j00000000000000000000002"]
    assert haiku.provider == "anthropic" and haiku.system_prompt is None
    assert store.messages.branch(me, haiku.id).items[0].created_at == datetime(2024, 6, 2, 8, 30, tzinfo=timezone.utc)
    assert "llm:response-r4" in found
    # Usage history stays history: nothing counts against today's budgets.
    assert store.usage.totals(me).calls == 0

    again = cli("import", db)
    assert again.code == 0 and "imported 0 conversation(s), skipped 3 already imported" in again.err
    assert len(by_key(store, me)) == 3


# --- Elia ---------------------------------------------------------------------------

def make_elia_db(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript((FIXTURES / "elia.sql").read_text())
        conn.execute("INSERT INTO chat VALUES (1, 'gpt-4o', 'Tree chat', '2024-03-01 09:00:00.000000', 0)")
        conn.execute("INSERT INTO chat VALUES (2, 'claude-3-5-sonnet-20240620', 'Old chat', '2024-02-01 12:00:00', 1)")
        conn.execute("INSERT INTO chat VALUES (3, 'gpt-4o', 'Bad roles', '2024-02-02 12:00:00', 0)")
        messages = [
            (1, 1, "system", "You are terse.", "2024-03-01 09:00:00", None, None, None),
            (2, 1, "user", "Hi", "2024-03-01 09:00:01", None, 1, None),
            (3, 1, "assistant", "Hello.", "2024-03-01 09:00:02", None, 2, "gpt-4o"),
            (4, 1, "assistant", "Hey!", "2024-03-01 09:05:00", None, 2, "gpt-4o-mini"),
            (5, 2, "system", "Be kind.", "2024-02-01 12:00:00", None, None, None),
            (6, 2, "user", "Hello", "2024-02-01 12:00:01", None, None, None),
            (7, 2, "assistant", "Hi there", "2024-02-01 12:00:02", None, None, None),
            (8, 3, "wizard", "?", "2024-02-02 12:00:01", None, None, None),
        ]
        conn.executemany("INSERT INTO message VALUES (?, ?, ?, ?, ?, ?, ?, ?)", messages)
        conn.commit()
    return path


def test_elia_database(cli, store, me, tmp_path: Path) -> None:
    db = make_elia_db(tmp_path / "elia.sqlite")
    result = cli("import", db)
    assert result.code == 0, result.err
    assert "Elia database: imported 2 conversation(s), skipped 0 already imported, 1 malformed" in result.err
    assert "chat 3: message 8: unknown role 'wizard'" in result.err
    found = by_key(store, me)
    tree = found["elia:1"]
    assert tree.title == "Tree chat" and tree.system_prompt == "You are terse." and tree.model == "gpt-4o"
    assert tree.created_at == datetime(2024, 3, 1, 9, tzinfo=timezone.utc)
    messages = all_messages(store, me, tree.id)
    assert [m.content for m in messages] == ["Hi", "Hello.", "Hey!"]
    assert messages[1].parent_id == messages[0].id == messages[2].parent_id  # two answers to one question
    assert [m.content for m in store.messages.branch(me, tree.id).items] == ["Hi", "Hey!"]  # newest is the tip
    assert messages[2].model == "gpt-4o-mini"
    old = found["elia:2"]
    assert old.status == "archived" and old.provider == "anthropic" and old.system_prompt == "Be kind."
    assert [m.content for m in store.messages.branch(me, old.id).items] == ["Hello", "Hi there"]
    assert cli("import", db).err.count("skipped 2 already imported") == 1


def test_old_elia_schema_with_human_and_ai_roles(cli, store, me, tmp_path: Path) -> None:
    path = tmp_path / "old-elia.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript("""
            CREATE TABLE chat (id INTEGER PRIMARY KEY, model VARCHAR, title VARCHAR, started_at DATETIME);
            CREATE TABLE message (id INTEGER PRIMARY KEY, chat_id INTEGER, role VARCHAR, content VARCHAR,
                                  timestamp DATETIME);
            INSERT INTO chat VALUES (7, 'gpt-3.5-turbo', 'Legacy', '2023-05-05 05:05:05');
            INSERT INTO message VALUES (1, 7, 'human', 'ping', '2023-05-05 05:05:06');
            INSERT INTO message VALUES (2, 7, 'ai', 'pong', '2023-05-05 05:05:07');
        """)
    assert cli("import", path).code == 0
    legacy = by_key(store, me)["elia:7"]
    assert [(m.role, m.content, m.model) for m in store.messages.branch(me, legacy.id).items] == [
        ("user", "ping", None), ("assistant", "pong", "gpt-3.5-turbo")]


# --- bad files ----------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    (b"this is not json", "is not valid JSON (line 1, column 1"),
    (b'{"hello": "world"}', "not a format tui-chat can import"),
    (b"[]", "empty list"),
    (b"\xff\xfe\x00garbage", "neither JSON text nor a SQLite database"),
    (b'{"format": "tui-chat.conversation", "version": 99}', "export version 99 is not supported"),
])
def test_bad_files_fail_in_one_line_with_exit_2(cli, store, me, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = cli("import", path)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("tui-chat: ") and message in result.err and result.err.count("\n") == 1
    assert store.conversations.list(me).items == []


def test_unknown_sqlite_database_and_missing_file(cli, store, me, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER)")
    result = cli("import", other)
    assert result.code == 2 and "a SQLite database, but not one from llm or Elia" in result.err
    missing = cli("import", tmp_path / "nope.json")
    assert missing.code == 2 and "no such file" in missing.err
    assert store.conversations.list(me).items == []


def test_llm_database_missing_columns_is_a_bad_file(cli, store, me, tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript("CREATE TABLE conversations (id TEXT, name TEXT, model TEXT);"
                           "CREATE TABLE responses (id TEXT, model TEXT, prompt TEXT);")
    result = cli("import", path)
    assert result.code == 2 and "responses table has no" in result.err
    assert store.conversations.list(me).items == []


# --- nothing half-imported ----------------------------------------------------------

def plan(key: str, count: int = 3) -> PlannedConversation:
    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    messages = [PlannedMessage(ref=str(i), parent=str(i - 1) if i else None, role="user" if i % 2 == 0 else "assistant",
                               content=f"message {i}", created_at=at) for i in range(count)]
    return PlannedConversation(key=key, title="Plan", created_at=at, messages=messages)


def test_a_conversation_failing_half_way_is_removed(store, me, monkeypatch: pytest.MonkeyPatch) -> None:
    real_add = store.messages.add
    calls = {"n": 0}

    def flaky_add(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(store.messages, "add", flaky_add)
    with pytest.raises(RuntimeError):
        write_plan(store, me, plan("test:1"))
    assert store.conversations.list(me).items == []
    monkeypatch.setattr(store.messages, "add", real_add)
    write_plan(store, me, plan("test:1"))
    assert len(store.conversations.list(me).items) == 1


def test_an_import_cut_short_is_replaced_not_skipped(store, me) -> None:
    leftover = store.conversations.create(me, title="Plan", meta={"import_pending": "test:2"})
    store.messages.add(me, leftover.id, role="user", content="message 0")
    index = ImportIndex(store, me)
    assert index.find("test:2") is None
    new_id = write_plan(store, me, plan("test:2"), index)
    ids = [c.id for c in store.conversations.list(me).items]
    assert ids == [new_id] and store.conversations.get(me, new_id).meta == {"import_key": "test:2"}
    assert len(store.messages.branch(me, new_id).items) == 3


def test_our_json_export_round_trips_into_another_database(cli, store, me, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("import", CHATGPT).code == 0
    source = by_key(store, me)["chatgpt:conv-a"]
    exported = cli("export", source.id, "--format", "json")
    path = tmp_path / "export.json"
    path.write_text(exported.out)
    again = cli("import", path)  # into the database it came from: already there
    assert again.code == 0 and again.out.strip() == source.id and "already imported" in again.err

    monkeypatch.setenv("TUI_CHAT_HOME", str(tmp_path / "elsewhere"))
    first = cli("import", path)
    assert first.code == 0, first.err
    other = Storage.open(f"sqlite:///{tmp_path / 'elsewhere' / 'data' / 'tui-chat.db'}")
    try:
        uid = other.users.ensure().id
        copy = other.conversations.get(uid, first.out.strip())
        assert copy.title == "Regex help" and copy.meta["imported_from"] == source.id
        assert len(all_messages(other, uid, copy.id)) == 6
        assert [m.content for m in other.messages.branch(uid, copy.id).items][-1] == "Use [A-Za-z]+"
    finally:
        other.close()
    assert cli("import", path).out.strip() == first.out.strip()
    shutil.rmtree(tmp_path / "elsewhere")


@pytest.mark.postgres
def test_imports_on_postgresql(cli, pg_url: str, tmp_path: Path) -> None:
    db = make_elia_db(tmp_path / "elia.sqlite")
    for source in (CHATGPT, db):
        result = cli("--db", pg_url, "import", source)
        assert result.code == 0, result.err
    again = cli("--db", pg_url, "import", CHATGPT)
    assert "skipped 2 already imported" in again.err
    store = Storage.open(pg_url)
    try:
        me = store.users.ensure().id
        found = by_key(store, me)
        assert set(found) == {"chatgpt:conv-a", "chatgpt:conv-b", "elia:1", "elia:2"}
        regex = found["chatgpt:conv-a"]
        assert regex.created_at == utc(1700000000.5)
        assert store.messages.branch(me, regex.id).items[-1].content == "Use [A-Za-z]+"
    finally:
        store.close()


def test_a_file_where_nothing_can_be_imported_exits_2(cli, store, me, tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([{"title": "A", "id": "x", "mapping": {}, "create_time": 1},
                                {"title": "B", "id": "y", "mapping": [], "create_time": 1}]))
    result = cli("import", path)
    assert result.code == 2 and result.out == ""
    assert "nothing could be imported; conversation #1 ('A'): has no message tree (mapping)" in result.err
    assert "skipped conversation #2 ('B')" in result.err
    assert store.conversations.list(me).items == []

"""SQLite set up right: owner-only file, WAL, foreign keys, and two writers at once."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

from sqlalchemy import text

from storage import Database, Storage


def test_file_is_owner_only_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "chat.db"
    database = Database.open(f"sqlite:///{path}")
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    database.close()


def _writer(url: str, user_id: str, conversation_id: str, worker: int, count: int) -> None:
    store = Storage(Database(url))
    message = store.messages.add(user_id, conversation_id, role="assistant", status="pending", advance=False)
    for i in range(count):
        store.messages.add(user_id, conversation_id, role="user", content=f"w{worker} m{i}", advance=False)
        store.messages.append(user_id, message.id, f"{worker}:{i} ")
        store.conversations.rename(user_id, conversation_id, f"renamed by {worker} at {i}")
    store.messages.finish(user_id, message.id)
    store.close()


def test_two_processes_writing_at_once_never_hit_database_is_locked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = Storage.open(url)
    user = store.users.ensure("local:w")
    conv = store.conversations.create(user.id)
    context = multiprocessing.get_context("spawn")
    count = 150
    workers = [context.Process(target=_writer, args=(url, user.id, conv.id, w, count)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0, 0]
    final = store.conversations.get(user.id, conv.id)
    assert final.message_count == 2 * count + 2  # counters stay exact under contention
    assert store.messages.count(user.id, conv.id) == 2 * count + 2
    store.close()

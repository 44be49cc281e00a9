"""Migrations: empty -> head on both backends, models and migrations agree, upgrades
back up first, a newer database is refused, and the current-revision check is cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from storage import Database, MigrationError, Storage
from storage import migrate
from storage.migrations import HEAD
from storage.models import Base


def test_head_constant_matches_alembic() -> None:
    assert migrate.script_head() == HEAD


def test_empty_to_head_creates_every_table(empty_db_url: str) -> None:
    database = Database.open(empty_db_url)
    try:
        tables = set(inspect(database.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert migrate.current_revision(database) == HEAD
    finally:
        database.close()


def test_models_and_migrations_agree(db: Database) -> None:
    def include(obj, name, type_, reflected, compare_to):  # same filter as env.py
        if type_ == "table" and name and "_fts" in name:
            return False
        return not (type_ == "index" and name and name.startswith("ix_fts_"))

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(empty_db_url: str) -> None:
    from alembic import command

    database = Database.open(empty_db_url)
    try:
        with database.engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "base")
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(database)
        assert migrate.current_revision(database) == HEAD
    finally:
        database.close()


def test_older_database_is_backed_up_before_upgrade(tmp_path) -> None:
    """An existing database at an older revision gets a backup beside it first."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Storage.open(url)
    user = store.users.ensure("local:old")
    conv = store.conversations.create(user.id, title="from the old version")
    store.close()
    # Pretend the file was written by an older release: roll the schema back to base
    # keeping a marker table, then record "base" as a known older revision.
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000_test'"))
    database.close()
    with pytest.raises(MigrationError, match="newer tui-chat"):
        Database.open(url)
    # A revision this version knows but that is not head: simulate by faking knowledge.
    database = Database(url)
    original = migrate._known_revisions
    migrate._known_revisions = lambda: {"0000_test", HEAD}  # type: ignore[assignment]
    calls: list[str] = []
    real_upgrade = __import__("alembic.command", fromlist=["upgrade"]).upgrade

    def fake_upgrade(config, revision):  # the schema is already there; just restamp
        calls.append(revision)
        config.attributes["connection"].execute(text(f"UPDATE alembic_version SET version_num = '{HEAD}'"))

    import alembic.command

    alembic.command.upgrade = fake_upgrade
    try:
        backup_path = migrate.ensure_current(database, backup_dir=tmp_path / "backups")
    finally:
        alembic.command.upgrade = real_upgrade
        migrate._known_revisions = original  # type: ignore[assignment]
    database.close()
    assert calls == ["head"] and backup_path
    copy = Storage.open(f"sqlite:///{backup_path}", upgrade=False)
    with copy.db.read() as session:
        assert session.execute(text("SELECT title FROM conversations")).scalar() == conv.title
    copy.close()


def test_manual_backup_is_a_consistent_copy(tmp_path) -> None:
    store = Storage.open(f"sqlite:///{tmp_path / 'main.db'}")
    user = store.users.ensure("local:b")
    store.conversations.create(user.id, title="backed up")
    path = migrate.backup(store.db, tmp_path / "bk")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    copy = Storage.open(f"sqlite:///{path}")
    assert [c.title for c in copy.conversations.list(user.id).items] == ["backed up"]
    copy.close()
    store.close()


def test_opening_a_current_database_does_not_import_alembic(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cur.db'}"
    Database.open(url).close()
    code = (
        "import sys; from storage import Database; Database.open(%r).close(); "
        "print('alembic' in sys.modules)" % url
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_database_at_0001_upgrades_with_its_data_and_search(empty_db_url: str, tmp_path) -> None:
    """A real older revision: history written at 0001 survives the upgrade, stays
    searchable, and the pinned-message index exists afterwards."""
    from alembic import command

    store = Storage.open(empty_db_url)
    with store.db.engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "0001")
    user = store.users.ensure("local:older").id
    conv = store.conversations.create(user, title="kept").id
    message = store.messages.add(user, conv, role="user", content="a zephyr of history")
    store.close()

    database = Database(empty_db_url)
    assert migrate.current_revision(database) == "0001"
    migrate.ensure_current(database, backup_dir=tmp_path / "backups")
    assert migrate.current_revision(database) == HEAD
    indexes = {index["name"] for index in inspect(database.engine).get_indexes("messages")}
    database.close()
    assert "ix_messages_pinned" in indexes

    store = Storage.open(empty_db_url)
    try:
        assert store.messages.get(user, message.id).content == "a zephyr of history"
        assert [hit.message_id for hit in store.search.search(user, "zephyr").messages] == [message.id]
        store.messages.pin(user, message.id)
        assert [row.id for row in store.messages.pinned_and_referenced(user, conv)] == [message.id]
    finally:
        store.close()

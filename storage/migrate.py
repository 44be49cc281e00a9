"""Schema revisions: check, back up, upgrade.

Alembic owns the schema from the first table. Checking whether a database is current
reads ``alembic_version`` directly, so the common case (already current) never imports
Alembic; only an actual upgrade does.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text

from .errors import MigrationError
from .migrations import HEAD

if TYPE_CHECKING:
    from alembic.config import Config

    from .db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(database: "Database") -> str | None:
    with database.engine.connect() as connection:
        return _revision(connection)


def _has_tables(connection: Connection) -> bool:
    return bool(inspect(connection).get_table_names())


def _lock(connection: Connection) -> None:
    """Serialise concurrent upgrades (two app instances starting at once)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(7420173)"))


def ensure_current(database: "Database", *, backup_dir: Path | None = None) -> str | None:
    """Bring the schema to ``HEAD``. Returns the backup written, if any."""
    if current_revision(database) == HEAD:
        return None
    return upgrade(database, backup_dir=backup_dir)


def upgrade(database: "Database", revision: str = "head", *, backup_dir: Path | None = None) -> str | None:
    """Upgrade to ``revision``, backing up an existing older database first."""
    from alembic import command
    from alembic.util import CommandError

    backup_path: str | None = None
    with database.engine.connect() as probe:
        found = _revision(probe)
        populated = _has_tables(probe)
    if found is not None and found != HEAD:
        known = _known_revisions()
        if found not in known:
            raise MigrationError(
                f"the database is at revision {found!r}, which this version of tui-chat does not know; "
                "it was probably written by a newer tui-chat — upgrade tui-chat"
            )
    if found != HEAD and populated and found is not None:
        backup_path = str(backup(database, backup_dir, reason=f"pre-upgrade-{found}"))
    writer = database.engine.execution_options(sqlite_begin="IMMEDIATE")
    try:
        with writer.begin() as connection:
            _lock(connection)
            if _revision(connection) == HEAD and revision == "head":
                return backup_path  # another process upgraded it meanwhile
            command.upgrade(alembic_config(connection), revision)
    except CommandError as exc:
        raise MigrationError(f"could not upgrade the database: {exc}") from exc
    except Exception as exc:
        if backup_path:
            raise MigrationError(f"upgrade failed ({exc}); a backup is at {backup_path}") from exc
        raise
    return backup_path


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def backup(database: "Database", directory: Path | None = None, *, reason: str = "manual") -> Path:
    """Write a consistent copy of the database and return its path.

    SQLite: the online backup API (safe while other processes write). PostgreSQL:
    ``pg_dump`` in custom format, which must be on PATH.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    if database.dialect == "sqlite":
        source = database.sqlite_path
        if source is None:
            raise MigrationError("an in-memory database cannot be backed up")
        target_dir = directory or source.parent / "backups"
        target_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = target_dir / f"{source.stem}-{reason}-{stamp}.db"
        raw = database.engine.raw_connection()
        try:
            dbapi: Any = raw.driver_connection
            destination = sqlite3.connect(str(target))
            try:
                dbapi.backup(destination)
            finally:
                destination.close()
        finally:
            raw.close()
        target.chmod(0o600)
        return target
    if database.dialect == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise MigrationError("pg_dump is not on PATH; install the PostgreSQL client tools to back up")
        target_dir = directory or Path.cwd()
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"tui-chat-{reason}-{stamp}.dump"
        url = database.engine.url.set(drivername="postgresql")
        result = subprocess.run(
            [pg_dump, "--format=custom", f"--file={target}", url.render_as_string(hide_password=False)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise MigrationError(f"pg_dump failed: {result.stderr.strip().splitlines()[-1:]}")
        return target
    raise MigrationError(f"backups are not supported for {database.dialect}")

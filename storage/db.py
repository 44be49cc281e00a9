"""Engine and sessions from a URL, with SQLite set up for two processes at once.

SQLite: the file is created owner-only; WAL, foreign keys, ``synchronous=NORMAL`` and a
busy timeout are set on every connection, and write transactions start with
``BEGIN IMMEDIATE`` so a second writer waits for the lock instead of failing with
"database is locked" when it upgrades a read lock. PostgreSQL: a plain engine with
pre-ping.

``Database.open`` brings the schema to the newest revision (after a backup, when an
older database is opened). Checking the revision does not import Alembic: a database
that is already current opens without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .errors import DatabaseError

BUSY_TIMEOUT_MS = 30_000
WAL_AUTOCHECKPOINT_PAGES = 4000


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _prepare_sqlite_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA temp_store = MEMORY")
    cursor.execute("PRAGMA cache_size = -32000")
    # Checkpoint every ~16 MB of WAL instead of every 4 MB: streamed-text appends rewrite
    # their row, and a checkpoint on every hundredth commit showed up as p99 latency.
    cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the backend-specific set-up applied."""
    sqlite_path = _sqlite_file(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        if sqlite_path is not None:
            _prepare_sqlite_file(sqlite_path)
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    raise DatabaseError(f"unsupported database backend {backend!r}: use a sqlite:// or postgresql:// URL")


class Database:
    """One database: an engine plus sessions for reading and for writing."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.dialect = self.engine.dialect.name
        writer = self.engine
        if self.dialect == "sqlite":
            writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True, backup_dir: Path | None = None) -> "Database":
        """Open ``url``, creating or upgrading the schema to the newest revision.

        An existing database at an older revision is backed up first (SQLite: a copy in
        ``backup_dir`` or beside the file; PostgreSQL: the upgrade runs in one
        transaction, so a failure leaves it as it was).
        """
        database = cls(url)
        if upgrade:
            from . import migrate

            migrate.ensure_current(database, backup_dir=backup_dir)
        return database

    @property
    def sqlite_path(self) -> Path | None:
        return _sqlite_file(self.url) if self.dialect == "sqlite" else None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        with self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (nothing is committed)."""
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"

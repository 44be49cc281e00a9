"""Every storage test runs twice: on a real SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database, Storage


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url)
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> Storage:
    return Storage(db)


@pytest.fixture
def user_id(store: Storage) -> str:
    return store.users.ensure("local:alice", name="Alice").id


@pytest.fixture
def other_user_id(store: Storage) -> str:
    return store.users.ensure("bob@example.com", email="bob@example.com").id

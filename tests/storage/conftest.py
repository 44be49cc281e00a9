"""Every storage test runs twice: on a real SQLite file and on a real PostgreSQL server.

The schema is migrated once per test run into a template (a SQLite file; a PostgreSQL
template database); each test gets a fresh copy, so tests stay independent without
running the migrations hundreds of times. The migration tests themselves start from
empty databases (``empty_db_url``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database, Storage


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    Database.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def pg_template(request: pytest.FixtureRequest) -> str:
    server = request.getfixturevalue("pg_server")
    name = f"tmpl_{uuid.uuid4().hex[:12]}"
    database = Database.open(server.create_database(name))
    database.close()
    return name


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database already at the newest schema revision (a copy of the template)."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        target.chmod(0o600)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name, template=request.getfixturevalue("pg_template"))
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, for tests of the migrations themselves."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
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

"""The throwaway PostgreSQL server and per-test databases."""

from __future__ import annotations

import os

import pytest

from tests.infra import postgres


def test_server_answers(pg_server):
    with pg_server.connect() as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        fsync = conn.execute("SHOW fsync").fetchone()[0]
    assert int(version) >= 120000
    if pg_server.local is not None:
        assert fsync == "off"
        assert pg_server.host == "127.0.0.1"
        assert pg_server.url("x") == f"postgresql+psycopg://postgres@127.0.0.1:{pg_server.port}/x"


def test_pg_url_is_a_fresh_database_usable_by_sqlalchemy(pg_url):
    import sqlalchemy as sa

    assert pg_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("select count(*) from pg_tables where schemaname='public'")).scalar() == 0
            conn.execute(sa.text("create table t (id int primary key, body text)"))
            conn.execute(sa.text("insert into t values (1, 'héllo')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("select body from t")).scalar() == "héllo"
    finally:
        engine.dispose()


def test_create_and_drop_database(pg_server):
    url = pg_server.create_database("t_create_drop")
    try:
        assert url.endswith("/t_create_drop")
        with pg_server.connect("t_create_drop") as conn:  # left open: drop still works
            conn.execute("select 1")
            pg_server.drop_database("t_create_drop")
    finally:
        pg_server.drop_database("t_create_drop")
    with pg_server.connect() as conn:
        names = [r[0] for r in conn.execute("select datname from pg_database")]
    assert "t_create_drop" not in names


def test_unsafe_database_names_refused(pg_server):
    with pytest.raises(ValueError):
        pg_server.create_database('x"; drop database postgres; --')


def test_external_url_is_used_as_is(pg_server, monkeypatch):
    """TUI_CHAT_TEST_PG_URL: connect to that server instead of starting one."""
    monkeypatch.setenv(postgres.URL_ENV, pg_server.libpq_url())
    server, local = postgres.start_pg_server()
    assert local is None
    assert server.port == pg_server.port
    assert server.url("abc").startswith("postgresql+psycopg://") and server.url("abc").endswith("/abc")
    url = server.create_database("t_external")
    server.drop_database("t_external")
    assert url.endswith("/t_external")


def test_missing_binaries_skip_locally_but_fail_in_ci(monkeypatch):
    monkeypatch.setattr(postgres, "find_bindir", lambda: None)
    monkeypatch.delenv(postgres.URL_ENV, raising=False)
    with pytest.raises(postgres.PostgresUnavailable, match="initdb"):
        postgres.start_pg_server()
    from tests.infra import skip_or_fail

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("no PostgreSQL")
    for value in ("true", "1", "yes"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match="CI is set"):
            skip_or_fail("no PostgreSQL")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("no PostgreSQL")


def test_server_files_are_temporary(pg_server):
    if pg_server.local is None:
        pytest.skip("using an external server")
    root = pg_server.local.root
    assert root is not None and root.is_dir() and str(root).startswith("/tmp/")
    if os.geteuid() == 0:
        import pwd

        assert root.stat().st_uid == pwd.getpwnam("postgres").pw_uid

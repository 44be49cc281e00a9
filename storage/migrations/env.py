"""Alembic environment: runs on a connection handed over by :mod:`storage.migrate`."""

from __future__ import annotations

from alembic import context

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` command line: make an engine from the URL
        from storage.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Full-text search objects (FTS5 tables and their shadow tables, GIN indexes) are
    # created by hand in the migrations, not from the models.
    if type_ == "table" and name and "_fts" in name:
        return False
    if type_ == "index" and name and name.startswith("ix_fts_"):
        return False
    return True


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `tui-chat db upgrade`")
run_migrations_online()

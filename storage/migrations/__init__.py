"""Alembic migrations for the tui-chat schema (run through :mod:`storage.migrate`)."""

#: The newest revision. A test checks it matches Alembic's head, so that opening a
#: current database can skip importing Alembic at all.
HEAD = "0002"

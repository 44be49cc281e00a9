"""``tui-chat db``: where the database is, upgrade it, back it up."""

from __future__ import annotations

import click

from ..errors import AppError, ExitCode
from ..paths import app_paths, database_url


@click.group()
def db() -> None:
    """Manage the database."""


@db.command("path")
@click.pass_context
def path(ctx: click.Context) -> None:
    """Print the database URL (the file path for SQLite)."""
    url = database_url(ctx.find_root().obj.get("db"))
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    click.echo(parsed.database if parsed.get_backend_name() == "sqlite" else parsed.render_as_string(hide_password=True))


@db.command("upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Bring the schema to the newest revision (backing up an older database first)."""
    from storage import Database, MigrationError
    from storage import migrate

    paths = app_paths().ensure()
    url = database_url(ctx.find_root().obj.get("db"))
    database = Database(url)
    try:
        before = migrate.current_revision(database)
        backup = migrate.upgrade(database, backup_dir=paths.backups_dir)
        after = migrate.current_revision(database)
    except MigrationError as exc:
        raise AppError(str(exc), ExitCode.CONFIG) from exc
    finally:
        database.close()
    if before == after:
        click.echo(f"database is current (revision {after})")
    else:
        click.echo(f"upgraded from {before or 'empty'} to {after}" + (f"; backup at {backup}" if backup else ""))


@db.command("backup")
@click.option("--to", "directory", type=click.Path(file_okay=False), help="Directory for the backup.")
@click.pass_context
def backup(ctx: click.Context, directory: str | None) -> None:
    """Write a consistent copy of the database (safe while the app runs)."""
    from pathlib import Path

    from storage import Database, MigrationError
    from storage import migrate

    paths = app_paths().ensure()
    database = Database(database_url(ctx.find_root().obj.get("db")))
    try:
        target = migrate.backup(database, Path(directory) if directory else paths.backups_dir)
    except MigrationError as exc:
        raise AppError(str(exc), ExitCode.CONFIG) from exc
    finally:
        database.close()
    click.echo(str(target))

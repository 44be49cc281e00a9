"""``tui-chat export ID`` and ``tui-chat import FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import AppError, ExitCode
from . import app_context


@click.command()
@click.argument("conversation_id")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file, not stdout.")
@click.pass_context
def export(ctx: click.Context, conversation_id: str, fmt: str, output: str | None) -> None:
    """Export a conversation (secrets redacted)."""
    from ..transfer import export_json, export_markdown

    with app_context(ctx) as app:
        if fmt == "json":
            text = json.dumps(export_json(app.storage, app.user.id, conversation_id), ensure_ascii=False, indent=2) + "\n"
        else:
            text = export_markdown(app.storage, app.user.id, conversation_id)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(output, err=True)
    else:
        click.echo(text, nl=False)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def import_(ctx: click.Context, file: str) -> None:
    """Import a conversation from a tui-chat JSON export."""
    from ..transfer import ImportFormatError, import_json

    try:
        raw = Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AppError(f"no such file: {file}", ExitCode.USAGE) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AppError(f"cannot read {file}: {exc}", ExitCode.USAGE) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AppError(f"{file} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                       ExitCode.USAGE) from None
    with app_context(ctx) as app:
        try:
            conversation_id, created = import_json(app.storage, app.user.id, data)
        except ImportFormatError as exc:
            raise AppError(f"{file}: {exc}", ExitCode.USAGE) from exc
    click.echo(conversation_id)
    if not created:
        click.echo("already imported; nothing changed", err=True)

"""``tui-chat export ID`` and ``tui-chat import FILE``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..errors import AppError, ExitCode
from . import app_context, print_json


def write_private(path: str, text: str) -> None:
    """Write a file only its owner can read (exports and bundles hold whole conversations)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@click.command()
@click.argument("conversation_id")
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True)
@click.option("--tree", is_flag=True, help="Every branch, not just the current one (md and html; json always has all).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to a file, not stdout.")
@click.pass_context
def export(ctx: click.Context, conversation_id: str, fmt: str, tree: bool, output: str | None) -> None:
    """Export a conversation (secrets redacted): Markdown, JSON (the full record) or a
    self-contained HTML page."""
    from ..transfer import export_html, export_json, export_markdown

    with app_context(ctx) as app:
        if fmt == "json":
            text = json.dumps(export_json(app.storage, app.user.id, conversation_id), ensure_ascii=False, indent=2) + "\n"
        elif fmt == "html":
            text = export_html(app.storage, app.user.id, conversation_id, tree=tree)
        else:
            text = export_markdown(app.storage, app.user.id, conversation_id, tree=tree)
    if output:
        write_private(output, text)
        click.echo(output, err=True)
    else:
        click.echo(text, nl=False)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print what was imported as JSON.")
@click.pass_context
def import_(ctx: click.Context, file: str, as_json: bool) -> None:
    """Import conversations: a tui-chat export or share bundle, ChatGPT's
    conversations.json (or its export .zip), an llm logs.db or an Elia database.

    Prints the new conversations' ids. Importing the same file again skips what is
    already there; a malformed conversation is reported and skipped (exit code 2 when
    nothing in the file could be imported).
    """
    from ..importers import ImportFormatError, ShareRefused, import_file

    if not Path(file).exists():
        raise AppError(f"no such file: {file}", ExitCode.USAGE)
    with app_context(ctx) as app:
        try:
            report = import_file(app.storage, app.user, file)
        except ImportFormatError as exc:
            message = str(exc)
            raise AppError(message if file in message else f"{file}: {message}", ExitCode.USAGE) from exc
        except ShareRefused as exc:
            raise AppError(f"cannot import the share: {exc}", ExitCode.CONFIG) from exc
    if report.failed and not report.created and not report.skipped:
        for problem in report.failed[1:]:
            click.echo(f"skipped {problem}", err=True)
        raise AppError(f"{file}: nothing could be imported; {report.failed[0]}", ExitCode.USAGE)
    if as_json:
        print_json(report.as_dict())
        return
    for conversation_id in report.created:
        click.echo(conversation_id)
    for problem in report.failed:
        click.echo(f"skipped {problem}", err=True)
    if report.source == "tui-chat export" and report.skipped and not report.created:
        click.echo(report.skipped[0])
        click.echo("already imported; nothing changed", err=True)
    elif report.source == "tui-chat share bundle" and report.skipped and not report.skipped[0].startswith("share:"):
        click.echo(report.skipped[0])
        click.echo("this is your own conversation; nothing imported", err=True)
    else:
        click.echo(report.summary(), err=True)

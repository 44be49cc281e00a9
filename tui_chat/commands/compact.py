"""``tui-chat compact ID``: summarise a conversation's older turns now."""

from __future__ import annotations

import asyncio

import click

from ..errors import AppError, ExitCode
from . import app_context


@click.command()
@click.argument("conversation_id")
@click.option("--keep", type=click.IntRange(0, 1000), default=4, show_default=True,
              help="How many of the newest messages stay as they are.")
@click.pass_context
def compact(ctx: click.Context, conversation_id: str, keep: int) -> None:
    """Replace older turns with a model-written summary (recorded as an optimization)."""
    from ..engine.directory import ProviderDirectory
    from ..engine.turn import ChatEngine
    from ..providers.base import ProviderError

    with app_context(ctx) as app:
        directory = ProviderDirectory(app.storage, app.user.id)
        engine = ChatEngine(app.storage, app.user.id, directory, interactive=False)

        async def run() -> tuple[object, str | None]:
            try:
                return await engine.compact(conversation_id, keep_recent=keep)
            finally:
                await directory.aclose()

        try:
            built, optimization = asyncio.run(run())
        except ProviderError as exc:
            code = ExitCode.CONFIG if exc.kind in ("auth", "config") else ExitCode.PROVIDER
            raise AppError(str(exc), code) from exc
    if optimization is None:
        click.echo("nothing to compact: the conversation is already that short")
    else:
        click.echo(f"compacted: {built.tokens:,} tokens in context now ({len(built.messages)} messages kept)")

"""``tui-chat memory add|list|remove``: facts remembered across conversations."""

from __future__ import annotations

import dataclasses

import click

from . import app_context, print_json


@click.group()
def memory() -> None:
    """Facts the model is reminded of when they are relevant."""


@memory.command("add")
@click.argument("fact", nargs=-1, required=True)
@click.pass_context
def add(ctx: click.Context, fact: tuple[str, ...]) -> None:
    """Remember FACT (e.g. `tui-chat memory add my cat is called Miso`)."""
    with app_context(ctx) as app:
        record = app.storage.memories.add(app.user.id, " ".join(fact))
    click.echo(record.id)


@memory.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List remembered facts."""
    with app_context(ctx) as app:
        records = app.storage.memories.list(app.user.id)
    if as_json:
        print_json([dataclasses.asdict(r) for r in records])
        return
    for record in records:
        click.echo(f"{record.id}  used {record.use_count:>3}×  {record.content}")


@memory.command("remove")
@click.argument("memory_id")
@click.pass_context
def remove(ctx: click.Context, memory_id: str) -> None:
    """Forget a fact."""
    with app_context(ctx) as app:
        app.storage.memories.remove(app.user.id, memory_id)
    click.echo(f"removed {memory_id}", err=True)

"""``tui-chat models``: the model catalog with context windows and prices."""

from __future__ import annotations

import dataclasses

import click

from . import app_context, print_json


def _price(value) -> str:  # type: ignore[no-untyped-def]
    return "unknown" if value is None else f"${value.normalize():f}"


def _cached(entry) -> str:  # type: ignore[no-untyped-def]
    """No cached price means no cache discount: cached input costs what input costs."""
    if entry.cached_input_price is None and entry.input_price is not None:
        return "=input"
    return _price(entry.cached_input_price)


@click.command()
@click.option("--provider-kind", type=click.Choice(["openai", "anthropic", "openai-compatible"]))
@click.option("--load", "load_file", type=click.Path(exists=True, dir_okay=False),
              help="Update the catalog from a JSON file (a list of models with prices).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def models(ctx: click.Context, provider_kind: str | None, load_file: str | None, as_json: bool) -> None:
    """List known models: context window, output limit and USD per million tokens."""
    with app_context(ctx) as app:
        if load_file:
            count = app.storage.catalog.load_file(load_file)
            click.echo(f"loaded {count} model(s) from {load_file}", err=True)
        entries = app.storage.catalog.list(provider_kind)
    if as_json:
        print_json([dataclasses.asdict(e) for e in entries])
        return
    click.echo(f"{'provider':<18} {'model':<28} {'window':>9} {'output':>8} {'input':>9} {'cached':>9} {'output':>9}")
    for e in entries:
        click.echo(f"{e.provider_kind:<18} {e.model:<28} {e.context_window or 0:>9,} {e.max_output_tokens or 0:>8,} "
                   f"{_price(e.input_price):>9} {_cached(e):>9} {_price(e.output_price):>9}")
    click.echo("prices: USD per million tokens; a call to a model with an unknown price shows its tokens and "
               "no cost (load prices with --load FILE)", err=True)

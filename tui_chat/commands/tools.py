"""``tui-chat tools list``: every tool the model can be offered, with its risk and source."""

from __future__ import annotations

import asyncio

import click

from . import app_context, print_json


@click.group()
def tools() -> None:
    """The tools the model can call (built-in and from MCP servers)."""


@tools.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--refresh", is_flag=True, help="Start MCP servers never listed before, to list their tools.")
@click.pass_context
def list_tools(ctx: click.Context, as_json: bool, refresh: bool) -> None:
    """List the tools with their risk level (read_only, low, medium, high) and source."""
    from ..tools.runtime import build_runtime

    with app_context(ctx) as app:
        runtime = build_runtime(app.storage, app.user.id)
        problems: dict[str, str] = {}
        if refresh and runtime.mcp is not None:
            async def prepare() -> dict[str, str]:
                try:
                    return await runtime.prepare()
                finally:
                    await runtime.aclose()

            problems = asyncio.run(prepare())
        unlisted = [n for n in (runtime.mcp.unlisted() if runtime.mcp else []) if n not in problems]
        rows = [{"name": t.name, "model_name": t.wire, "risk": t.risk, "source": t.source,
                 "description": t.description} for t in runtime.tools()]
    if as_json:
        print_json({"tools": rows, "unlisted_servers": unlisted, "errors": problems})
        return
    width = max(len(r["name"]) for r in rows)
    click.echo(f"{'TOOL':<{width}}  {'RISK':<9}  {'SOURCE':<12}  DESCRIPTION")
    for row in rows:
        summary = row["description"].split(". ")[0].rstrip(".")
        click.echo(f"{row['name']:<{width}}  {row['risk']:<9}  {row['source']:<12}  {summary[:70]}")
    for name in unlisted:
        click.echo(f"tui-chat: the tools of MCP server {name} are not listed yet; run `tui-chat tools list "
                   f"--refresh` or `tui-chat mcp refresh {name}`", err=True)
    for name, problem in problems.items():
        click.echo(f"tui-chat: {problem}", err=True)

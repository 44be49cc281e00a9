"""``tui-chat mcp``: MCP servers whose tools the model can call (as ``server.tool``).

\b
  tui-chat mcp add files -- npx -y @modelcontextprotocol/server-filesystem ~/notes
  tui-chat mcp add github --env-secret GITHUB_TOKEN -- github-mcp-server stdio
  tui-chat mcp add docs --url https://example.com/mcp --header-secret Authorization
  tui-chat mcp import ~/.config/Claude/claude_desktop_config.json

Credentials (``--env-secret``, ``--header-secret``, and anything in an imported file that
looks like a secret) are read from a hidden prompt or standard input and kept in the OS
keyring; the database holds a reference. A stdio server gets PATH, HOME, the locale and
what is configured for it -- not the rest of your environment.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import AppError, ExitCode
from . import app_context, print_json


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        if "=" not in value:
            raise AppError(f"{what} {value!r} must be NAME=VALUE", ExitCode.USAGE)
        key, _, item = value.partition("=")
        out[key.strip()] = item
    return out


def _read_secrets(names: tuple[str, ...], what: str) -> dict[str, str]:
    """One value per name: a hidden prompt on a terminal, else one line of stdin each."""
    values = {}
    stdin = sys.stdin
    for name in names:
        if stdin is not None and stdin.isatty():
            value = click.prompt(f"{what} {name} (input hidden)", hide_input=True, err=True)
        else:
            value = stdin.readline().rstrip("\r\n") if stdin is not None else ""
        if not value.strip():
            raise AppError(f"no value was given for {what} {name} (type it at the prompt or pipe one line "
                           "per secret on standard input)", ExitCode.USAGE)
        values[name] = value.strip()
    return values


def _store(app: Any, spec: Any) -> Any:
    """Credentials to the keyring first, then the database row (nothing half-stored)."""
    from ..secrets import KeyStoreError
    from ..tools.mcpconfig import delete_credentials, save_credentials

    ref = None
    if spec.credentials:
        try:
            ref = save_credentials(spec.name, spec.credentials)
        except KeyStoreError as exc:
            raise AppError(f"the credentials of {spec.name} cannot be kept: {exc}", ExitCode.CONFIG) from None
    try:
        return app.storage.integrations.add(app.user.id, spec.name, spec.kind, spec.config, credentials_ref=ref)
    except Exception:
        if ref:
            delete_credentials(ref)
        raise


def _check(app: Any, names: list[str]) -> int:
    """Start the servers and list their tools; returns how many failed."""
    from ..tools.base import ToolError
    from ..tools.mcp import McpManager

    manager = McpManager(app.storage, app.user.id)
    failed = 0

    async def run() -> None:
        nonlocal failed
        try:
            for name in names:
                try:
                    tools = await manager.discover(name)
                except ToolError as exc:
                    failed += 1
                    click.echo(f"tui-chat: {exc}", err=True)
                    continue
                shown = ", ".join(f"{name}.{t['name']}" for t in tools) or "(none)"
                click.echo(f"{name}: {len(tools)} tool(s): {shown}")
        finally:
            await manager.aclose()

    asyncio.run(run())
    return failed


@click.group()
def mcp() -> None:
    """MCP servers (stdio or streamable HTTP) whose tools the model can call."""


@mcp.command("add", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--url", help="Streamable HTTP endpoint (instead of a command).")
@click.option("--env", "env", multiple=True, metavar="VAR=VALUE", help="A (non-secret) variable for the server.")
@click.option("--env-secret", multiple=True, metavar="VAR", help="A secret variable, read from a hidden prompt "
              "or stdin and kept in the keyring.")
@click.option("--header", multiple=True, metavar="NAME=VALUE", help="A (non-secret) HTTP header.")
@click.option("--header-secret", multiple=True, metavar="NAME", help="A secret HTTP header (e.g. Authorization), "
              "read from a hidden prompt or stdin and kept in the keyring.")
@click.option("--cwd", type=click.Path(file_okay=False), help="Working directory of a stdio server.")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), help="Seconds a call may take (default 60).")
@click.option("--no-check", is_flag=True, help="Do not start the server to list its tools now.")
@click.pass_context
def add(ctx: click.Context, name: str, command: tuple[str, ...], url: str | None, env: tuple[str, ...],
        env_secret: tuple[str, ...], header: tuple[str, ...], header_secret: tuple[str, ...], cwd: str | None,
        timeout: float | None, no_check: bool) -> None:
    """Add the MCP server NAME: `-- COMMAND ARGS...` (stdio) or `--url URL` (HTTP)."""
    from ..tools.mcpconfig import McpConfigError, http_spec, stdio_spec

    if bool(url) == bool(command):
        raise AppError("give either -- COMMAND ARGS... (a stdio server) or --url URL (an HTTP server)", ExitCode.USAGE)
    try:
        if url:
            if env or env_secret or cwd:
                raise AppError("--env, --env-secret and --cwd are for stdio servers", ExitCode.USAGE)
            spec = http_spec(name, url, _pairs(header, "--header"), timeout=timeout,
                             secret_headers=_read_secrets(header_secret, "header"))
        else:
            if header or header_secret:
                raise AppError("--header and --header-secret are for HTTP servers (--url)", ExitCode.USAGE)
            spec = stdio_spec(name, list(command), _pairs(env, "--env"), cwd=str(Path(cwd).resolve()) if cwd else None,
                              timeout=timeout, secret_env=_read_secrets(env_secret, "environment variable"))
    except McpConfigError as exc:
        raise AppError(str(exc), ExitCode.USAGE) from None
    with app_context(ctx) as app:
        _store(app, spec)
        for note in spec.notes:
            click.echo(f"tui-chat: note: {note}", err=True)
        click.echo(f"added MCP server {name} ({spec.kind}); its tools are named {name}.TOOL")
        if not no_check:
            _check(app, [name])


@mcp.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--no-check", is_flag=True, help="Do not start the servers to list their tools now.")
@click.pass_context
def import_(ctx: click.Context, file: str, no_check: bool) -> None:
    """Add the servers of a Claude-Desktop-style {"mcpServers": {...}} FILE."""
    from ..tools.mcpconfig import McpConfigError, parse_desktop_config

    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
        specs, skipped = parse_desktop_config(data)
    except (ValueError, McpConfigError) as exc:
        raise AppError(f"{file}: {exc}", ExitCode.USAGE) from None
    added = []
    with app_context(ctx) as app:
        existing = {r.name for r in app.storage.integrations.list(app.user.id)}
        for spec in specs:
            if spec.name in existing:
                skipped.append(f"{spec.name}: a server of that name exists already")
                continue
            try:
                _store(app, spec)
            except AppError:
                raise
            except Exception as exc:  # a bad entry (name, URL) is skipped with its reason
                skipped.append(f"{spec.name}: {exc}")
                continue
            added.append(spec.name)
            for note in spec.notes:
                click.echo(f"tui-chat: note: {spec.name}: {note}", err=True)
        click.echo(f"imported {len(added)} server(s): {', '.join(added) or 'none'}")
        for reason in skipped:
            click.echo(f"tui-chat: skipped {reason}", err=True)
        if added and not no_check:
            _check(app, added)


@mcp.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List the MCP servers with their status and tools."""
    from ..tools.mcp import MCP_KINDS, McpManager

    with app_context(ctx) as app:
        manager = McpManager(app.storage, app.user.id)
        rows = []
        for record in app.storage.integrations.list(app.user.id):
            if record.kind not in MCP_KINDS:
                continue
            server = manager.servers.get(record.name)
            listing = server.listing if server else None
            target = record.config.get("url") or " ".join(record.config.get("command") or [])
            rows.append({"name": record.name, "kind": record.kind, "target": target, "status": record.status,
                         "error": record.error, "credentials": "keyring" if record.credentials_ref else None,
                         "env": sorted((record.config.get("env") or {})),
                         "tools": None if listing is None else [f"{record.name}.{t['name']}" for t in listing],
                         "last_synced_at": record.last_synced_at.isoformat() if record.last_synced_at else None})
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("tui-chat: no MCP servers yet; add one with `tui-chat mcp add NAME -- COMMAND`", err=True)
        return
    for row in rows:
        click.echo(f"{row['name']}  [{row['kind']}, {row['status']}]  {row['target']}")
        if row["credentials"]:
            click.echo("    credentials: in the keyring")
        if row["error"]:
            click.echo(f"    error: {row['error']}")
        tools = row["tools"]
        click.echo("    tools: " + ("not listed yet (tui-chat mcp refresh " + row["name"] + ")" if tools is None
                                    else ", ".join(tools) or "(none)"))


@mcp.command("refresh")
@click.argument("names", nargs=-1)
@click.pass_context
def refresh(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Start the servers (all, or NAMES) and list their tools again."""
    with app_context(ctx) as app:
        known = [r.name for r in app.storage.integrations.list(app.user.id) if r.kind.startswith("mcp")]
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise AppError(f"no MCP server named {', '.join(unknown)} (see `tui-chat mcp list`)", ExitCode.USAGE)
        if _check(app, list(names) or known):
            raise AppError("some servers could not be listed (see above)", ExitCode.CONFIG)


@mcp.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove the MCP server NAME and its credentials."""
    from ..secrets import KeyStoreError
    from ..tools.mcpconfig import delete_credentials

    with app_context(ctx) as app:
        record = app.storage.integrations.remove(app.user.id, name)
        try:
            delete_credentials(record.credentials_ref)
        except KeyStoreError as exc:
            click.echo(f"tui-chat: the credentials could not be removed from the keyring: {exc}", err=True)
        from ..paths import app_paths

        (app_paths().data_dir / "mcp-tools" / f"{record.id}.json").unlink(missing_ok=True)
    click.echo(f"removed MCP server {name}")

"""``tui-chat policy``: check a call against the policy; list, add and remove rules;
show and change the auto-approval settings.

\b
  tui-chat policy check run_shell '{"command": "git status | grep x"}'
  tui-chat policy add allow 'run_shell(git status*)' --scope project --expires 7d
  tui-chat policy add deny 'run_shell(rm *)'
  tui-chat policy add allow 'github.*' --scope conversation --conversation ID
  tui-chat policy list
  tui-chat policy remove RULE_ID
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import click

from ..errors import AppError, ExitCode
from . import app_context, print_json

MODES = ("default", "read-only", "accept-edits", "bypass")


def _when(value: datetime | None, expired: bool = False) -> str:
    if value is None:
        return "never"
    from storage.types import utcnow

    delta = value - utcnow()
    seconds = abs(int(delta.total_seconds()))
    span = (f"{seconds // 86400}d {seconds % 86400 // 3600}h" if seconds >= 86400 else
            f"{seconds // 3600}h {seconds % 3600 // 60}m" if seconds >= 3600 else f"{seconds // 60}m")
    return f"expired {span} ago" if expired or delta.total_seconds() <= 0 else f"in {span}"


@click.group()
def policy() -> None:
    """Approval rules and settings: which tool calls run, ask or are denied."""


@policy.command("check")
@click.argument("tool")
@click.argument("arguments", default="{}")
@click.option("--workspace", type=click.Path(file_okay=False), help="The workspace (default: this directory).")
@click.option("--conversation", metavar="ID", help="Include the rules of this conversation.")
@click.option("--scripted", is_flag=True, help="Judge as a -p run would (nobody to ask: ask becomes deny).")
@click.option("--permission-mode", type=click.Choice(MODES), default="default", show_default=True)
@click.option("--allow-tool", multiple=True, metavar="PATTERN", help="As in a -p run.")
@click.option("--deny-tool", multiple=True, metavar="PATTERN", help="As in a -p run.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def check(ctx: click.Context, tool: str, arguments: str, workspace: str | None, conversation: str | None,
          scripted: bool, permission_mode: str, allow_tool: tuple[str, ...], deny_tool: tuple[str, ...],
          as_json: bool) -> None:
    """Print what the policy decides for TOOL called with ARGUMENTS (JSON), and why."""
    from ..engine.tooling import ToolContext
    from ..tools.runtime import build_runtime
    from ..tools.scripted import check_patterns

    try:
        args = json.loads(arguments)
    except ValueError as exc:
        raise AppError(f"ARGUMENTS must be a JSON object: {exc}", ExitCode.USAGE) from None
    if not isinstance(args, dict):
        raise AppError("ARGUMENTS must be a JSON object, e.g. '{\"path\": \"README.md\"}'", ExitCode.USAGE)
    check_patterns(allow_tool, "--allow-tool")
    check_patterns(deny_tool, "--deny-tool")
    with app_context(ctx) as app:
        if conversation:
            conversation = app.storage.conversations.get(app.user.id, conversation).id
        runtime = build_runtime(app.storage, app.user.id, mode=permission_mode, allow=allow_tool, deny=deny_tool,
                                interactive=not scripted)
        if runtime.lookup(tool) is None:
            known = ", ".join(t.name for t in runtime.tools())
            raise AppError(f"no tool named {tool!r}; the tools are: {known}", ExitCode.USAGE)
        context = ToolContext(app.user.id, conversation or "", workspace or os.getcwd(), not scripted)
        outcome = runtime.evaluate_sync(tool, args, context)
        rule = app.storage.approvals.get_rule(app.user.id, outcome.rule_id) if outcome.rule_id else None
    result = {"tool": runtime.display_name(tool), "decision": outcome.action, "risk": outcome.risk,
              "decided_by": outcome.decided_by, "reason": outcome.reason, "rule_id": outcome.rule_id,
              "rule": _rule_text(rule) if rule else None, "can_remember": outcome.can_remember,
              "preview": outcome.preview}
    if as_json:
        print_json(result)
        return
    click.echo(f"decision:   {outcome.action}")
    click.echo(f"risk:       {outcome.risk}")
    click.echo(f"decided by: {outcome.decided_by}: {outcome.reason}")
    if rule:
        click.echo(f"rule:       {_rule_text(rule)} [{rule.scope}, expires {_when(rule.expires_at)}, id {rule.id}]")
    if outcome.preview:
        click.echo("preview:")
        for line in outcome.preview.splitlines():
            click.echo(f"  {line}")


def _rule_text(rule: Any) -> str:
    return rule.tool_pattern if rule.argument_pattern is None else f"{rule.tool_pattern}({rule.argument_pattern})"


@policy.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include deactivated rules.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_rules(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List the rules with their scope and expiry (oldest first)."""
    from ..tools.rules import rule_row

    with app_context(ctx) as app:
        records = app.storage.approvals.all_rules(app.user.id, include_inactive=show_all)
    if as_json:
        print_json([rule_row(r) for r in records])
        return
    if not records:
        click.echo("tui-chat: no rules yet; add one with `tui-chat policy add allow|ask|deny PATTERN`", err=True)
        return
    rows = [rule_row(r) for r in records]
    width = max(len(r["pattern"]) for r in rows)
    click.echo(f"{'ID':<36}  {'ACTION':<6}  {'PATTERN':<{width}}  {'EXPIRES':<16}  SCOPE")
    for record, row in zip(records, rows):
        expiry = _when(record.expires_at, record.is_expired)
        flag = "" if record.is_active else " (inactive)"
        click.echo(f"{row['id']:<36}  {row['action']:<6}  {row['pattern']:<{width}}  {expiry:<16}  "
                   f"{row['where']}{flag}")


@policy.command("add")
@click.argument("action", type=click.Choice(("allow", "ask", "deny")))
@click.argument("pattern")
@click.option("--scope", type=click.Choice(("global", "project", "conversation")),
              help="Where the rule applies (default: global; project with --project; conversation with "
                   "--conversation).")
@click.option("--project", type=click.Path(file_okay=False), help="Project directory (default: this directory).")
@click.option("--conversation", metavar="ID", help="The conversation of a conversation rule.")
@click.option("--expires", metavar="DURATION", help="Expire after e.g. 30m, 12h, 7d, 2w (default: never).")
@click.option("--note", help="Why the rule exists.")
@click.pass_context
def add_rule_command(ctx: click.Context, action: str, pattern: str, scope: str | None, project: str | None,
                     conversation: str | None, expires: str | None, note: str | None) -> None:
    """Add a rule: ACTION (allow, ask, deny) for PATTERN, e.g. 'run_shell(git status*)',
    'write_file(src/**)', 'fetch_url(https://docs.python.org/*)', 'github.*'."""
    from ..tools.patterns import PatternError
    from ..tools.rules import add_rule, parse_duration, rule_row

    scope = scope or ("conversation" if conversation else "project" if project else "global")
    if scope == "project":
        project = os.path.abspath(project or os.getcwd())
    elif project:
        raise AppError(f"--project is for --scope project, not {scope}", ExitCode.USAGE)
    if scope == "conversation" and not conversation:
        raise AppError("a conversation rule needs --conversation ID", ExitCode.USAGE)
    if scope != "conversation" and conversation:
        raise AppError(f"--conversation is for --scope conversation, not {scope}", ExitCode.USAGE)
    try:
        seconds = parse_duration(expires) if expires else None
    except ValueError as exc:
        raise AppError(f"--expires: {exc}", ExitCode.USAGE) from None
    with app_context(ctx) as app:
        try:
            record = add_rule(app.storage, app.user.id, action, pattern, scope=scope, project=project,
                              conversation=conversation, expires_in=seconds, note=note)
        except PatternError as exc:
            raise AppError(f"PATTERN: {exc}", ExitCode.USAGE) from None
    row = rule_row(record)
    click.echo(f"added {row['action']} {row['pattern']} [{row['where']}, expires "
               f"{_when(record.expires_at)}] id {row['id']}")


@policy.command("remove")
@click.argument("rule_id")
@click.pass_context
def remove_rule(ctx: click.Context, rule_id: str) -> None:
    """Remove the rule RULE_ID (see `tui-chat policy list`)."""
    with app_context(ctx) as app:
        app.storage.approvals.remove_rule(app.user.id, rule_id)
    click.echo(f"removed rule {rule_id}")


@policy.command("settings")
@click.option("--read-only/--no-read-only", default=None, help="Auto-approve read-only tools.")
@click.option("--low-risk/--no-low-risk", default=None, help="Auto-approve low-risk tools (fetch_url).")
@click.option("--ask-new-tools/--no-ask-new-tools", default=None, help="Ask before an MCP tool's first call.")
@click.option("--tool", "specific", multiple=True, metavar="NAME=allow|ask|deny|clear", help="A per-tool setting.")
@click.option("--max-cost-per-tool", type=float, metavar="USD")
@click.option("--max-cost-per-hour", type=float, metavar="USD")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def settings(ctx: click.Context, read_only: bool | None, low_risk: bool | None, ask_new_tools: bool | None,
             specific: tuple[str, ...], max_cost_per_tool: float | None, max_cost_per_hour: float | None,
             as_json: bool) -> None:
    """Show (and with options, change) the auto-approval settings."""
    with app_context(ctx) as app:
        current = app.storage.approvals.get_settings(app.user.id)
        changes: dict[str, Any] = {}
        for key, value in (("read_only_operations", read_only), ("low_risk_operations", low_risk),
                           ("require_approval_for_new_tools", ask_new_tools),
                           ("max_cost_per_tool", max_cost_per_tool), ("max_cost_per_hour", max_cost_per_hour)):
            if value is not None:
                changes[key] = value
        if specific:
            tools = dict(current.specific_tools)
            for item in specific:
                name, _, action = item.partition("=")
                if action == "clear":
                    tools.pop(name, None)
                else:
                    tools[name] = action
            changes["specific_tools"] = tools
        if changes:
            current = app.storage.approvals.update_settings(app.user.id, **changes)
    data = {"read_only_operations": current.read_only_operations, "low_risk_operations": current.low_risk_operations,
            "specific_tools": current.specific_tools, "max_cost_per_tool": str(current.max_cost_per_tool),
            "max_cost_per_hour": str(current.max_cost_per_hour),
            "require_approval_for_new_tools": current.require_approval_for_new_tools}
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key}: {value}")

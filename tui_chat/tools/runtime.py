"""The tool runtime the engine talks to: the registry (built-ins and MCP tools), the
policy for each call, running calls, and turning "always" into rules.

Build one with :func:`build_runtime`; the TUI passes ``interactive=True`` and resolves
"ask" outcomes in its approval prompt, scripted mode passes ``interactive=False`` (see
:mod:`.scripted`). Every public coroutine reports problems as outcomes or error
results: a bad argument, a broken MCP server or a database hiccup never crashes a turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..engine.tooling import PolicyOutcome, RememberRule, ToolContext, ToolOutput
from ..providers.base import ToolSpec
from .base import ArgumentError, Tool, ToolEnv, ToolError, error, validate_arguments, validate_with_jsonschema
from .policy import MODES, ActiveRule, Call, Decider, remembered_patterns, suggest_patterns
from .workspace import resolve, workspace_root

if TYPE_CHECKING:
    from storage import Storage

    from .mcp import McpManager

log = logging.getLogger(__name__)

#: A scripted run stops ("policy stop") after this many denied calls.
DEFAULT_MAX_DENIALS = 3
MAX_REMEMBERED_COMMAND = 2000


def builtin_tools() -> list[Tool]:
    from .files import file_tools
    from .net import fetch_tool
    from .shell import shell_tool

    return [*file_tools(), fetch_tool(), shell_tool()]


class Runtime:
    def __init__(self, storage: "Storage", user_id: str, *, tools: Iterable[Tool] | None = None,
                 mcp: "McpManager | None" = None, mode: str = "default", allow: Iterable[str] = (),
                 deny: Iterable[str] = (), interactive: bool = True, env: dict[str, Any] | None = None,
                 max_denials: int | None = DEFAULT_MAX_DENIALS) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown permission mode {mode!r} (one of {', '.join(MODES)})")
        self.storage = storage
        self.user_id = user_id
        self.mcp = mcp
        self.mode = mode
        self.interactive = interactive
        self.env_options = dict(env or {})
        self.flag_rules = [ActiveRule.from_flag("deny", p) for p in deny] + [ActiveRule.from_flag("allow", p)
                                                                           for p in allow]
        self._builtins = list(tools) if tools is not None else builtin_tools()
        self._index: dict[str, Tool] = {}
        self.refresh()
        self.max_denials = max_denials
        self.denials: list[dict[str, str]] = []
        self.stop_reason: str | None = None
        self._denied: set[str] = set()

    # --- the registry ----------------------------------------------------------------

    def refresh(self) -> None:
        tools: list[Tool] = []
        self._index = {}
        for tool in [*self._builtins, *(self.mcp.tools() if self.mcp else ())]:
            if tool.name in self._index:
                log.warning("two tools are named %s; the second is ignored", tool.name)
                continue
            if tool.wire in self._index:  # two MCP names that map to one provider-safe name
                import dataclasses
                import hashlib

                suffix = hashlib.sha256(tool.name.encode()).hexdigest()[:6]
                tool = dataclasses.replace(tool, wire_name=f"{tool.wire[:57]}_{suffix}")
            tools.append(tool)
            self._index[tool.name] = tool
            self._index[tool.wire] = tool
        self._tools = tools
        self._specs = [ToolSpec(t.wire, t.description, t.schema) for t in tools]

    def tools(self) -> list[Tool]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        return self._specs

    def lookup(self, name: str) -> Tool | None:
        return self._index.get(name)

    def source_of(self, name: str) -> str:
        tool = self.lookup(name)
        return tool.source if tool else "unknown"

    def display_name(self, name: str) -> str:
        """The name people see (``server.tool``) for a name the model used."""
        tool = self.lookup(name)
        return tool.name if tool else name

    async def prepare(self) -> dict[str, str]:
        """List the tools of MCP servers never listed before (starting them); returns errors."""
        if self.mcp is None or not self.mcp.unlisted():
            return {}
        errors = await self.mcp.prepare()
        self.refresh()
        return errors

    async def aclose(self) -> None:
        if self.mcp is not None:
            await self.mcp.aclose()

    # --- judging ---------------------------------------------------------------------

    def tool_env(self, workspace: str | None) -> ToolEnv:
        return ToolEnv(workspace=workspace_root(workspace), **self.env_options)

    def assess(self, tool: Tool, arguments: dict[str, Any], env: ToolEnv) -> Call:
        """What the call would do: its risk, the paths it touches, its preview."""
        risk, notes, path, shell, outside, refusal = tool.risk, [], None, None, False, None
        can_remember = True
        subject = arguments.get(tool.subject) if tool.subject else None
        if tool.subject == "path":
            try:
                path = resolve(env.workspace, subject or ".")
            except ToolError as exc:
                refusal = str(exc)
            else:
                if not path.inside:
                    outside = True
                    if tool.kind == "read":
                        refusal = (f"{subject!r} is outside the workspace {env.workspace}; {tool.name} only "
                                   "reads inside it")
                    else:
                        risk = "high"
                        notes.append(f"{path.path} is OUTSIDE the workspace")
        elif tool.subject == "url":
            from .net import url_risk

            level, why = url_risk(subject or "")
            if level != "low" and why:
                risk = "medium" if risk in ("read_only", "low") else risk
                notes.append(why)
        elif tool.subject == "command":
            from .shellparse import parse

            shell = parse(subject or "")
            can_remember = shell.confident and len(subject or "") <= MAX_REMEMBERED_COMMAND
            escapes = _outside_words(shell.parts, env)
            if escapes:
                outside = True
                notes.append("mentions paths outside the workspace: " + ", ".join(escapes[:5]))
        preview = ""
        if refusal is None:
            try:
                preview = tool.preview(arguments, env) if tool.preview else \
                    f"{tool.name} {json.dumps(arguments, ensure_ascii=False, indent=1)}"
            except ToolError as exc:
                refusal = str(exc)
            except OSError as exc:
                refusal = f"{type(exc).__name__}: {exc}"
        return Call(tool, arguments, risk, preview, path, shell, outside, tuple(notes), refusal, can_remember)

    def validate(self, tool: Tool, arguments: Any) -> dict[str, Any]:
        if tool.kind == "mcp":
            return validate_with_jsonschema(tool.schema, arguments)
        return validate_arguments(tool.schema, arguments)

    def decider(self, context: ToolContext, tool: Tool, env: ToolEnv) -> Decider:
        storage, uid = self.storage, self.user_id
        records = storage.approvals.list_rules(uid, conversation_id=context.conversation_id or None,
                                               project_path=str(env.workspace))
        stored = [r for r in (ActiveRule.from_record(x) for x in records) if r is not None]
        from storage.types import utcnow

        return Decider(
            rules=[*[r for r in self.flag_rules if r.action == "deny"], *stored,
                   *[r for r in self.flag_rules if r.action == "allow"]],
            settings=storage.approvals.get_settings(uid), mode=self.mode,
            interactive=self.interactive and context.interactive,
            spent_last_hour=lambda: storage.tools.cost_in_window(uid, utcnow() - timedelta(hours=1)),
            known_tool=lambda: storage.tools.known_tool(uid, tool.wire) or storage.tools.known_tool(uid, tool.name),
        )

    def evaluate_sync(self, name: str, arguments: dict[str, Any], context: ToolContext) -> PolicyOutcome:
        tool = self.lookup(name)
        if tool is None:
            return PolicyOutcome("deny", "high", f"no tool named {name!r} is available", decided_by="policy")
        try:
            clean = self.validate(tool, arguments)
        except ArgumentError as exc:
            return PolicyOutcome("deny", tool.risk, f"invalid arguments for {tool.name}: {exc}", decided_by="policy")
        env = self.tool_env(context.workspace)
        call = self.assess(tool, clean, env)
        return self.decider(context, tool, env).decide(call)

    async def evaluate(self, name: str, arguments: dict[str, Any], context: ToolContext) -> PolicyOutcome:
        try:
            outcome = await asyncio.to_thread(self.evaluate_sync, name, arguments, context)
        except Exception as exc:  # fail closed, and say why
            log.exception("policy evaluation failed for %s", name)
            outcome = PolicyOutcome("deny", "high", f"the policy could not be evaluated "
                                                    f"({type(exc).__name__}: {exc}); the call is denied",
                                    decided_by="policy")
        if outcome.action == "deny" and not (self.interactive and context.interactive) \
                and not outcome.reason.startswith(("invalid arguments", "no tool named")):
            self._count_denial(name, arguments, outcome)
        return outcome

    def _count_denial(self, name: str, arguments: dict[str, Any], outcome: PolicyOutcome) -> None:
        key = name + json.dumps(arguments, sort_keys=True, default=str)
        self.denials.append({"tool": self.display_name(name), "reason": outcome.reason})
        if key in self._denied and self.stop_reason is None:
            self.stop_reason = f"the model asked again for {self.display_name(name)} after it was denied"
        elif self.max_denials and len(self.denials) >= self.max_denials and self.stop_reason is None:
            self.stop_reason = f"{len(self.denials)} tool calls were denied in this run"
        self._denied.add(key)

    # --- for the approval prompt ---------------------------------------------------

    def check_arguments(self, name: str, arguments: Any) -> str | None:
        """Why edited arguments are not acceptable, or None when they are."""
        tool = self.lookup(name)
        if tool is None:
            return f"no tool named {name!r} is available"
        try:
            self.validate(tool, arguments)
        except ArgumentError as exc:
            return str(exc)
        return None

    def suggest(self, name: str, arguments: dict[str, Any], context: ToolContext) -> list[str]:
        """Argument patterns to offer for "always", narrowest first (empty: tool-wide only)."""
        tool = self.lookup(name)
        if tool is None or self.check_arguments(name, arguments):
            return []
        env = self.tool_env(context.workspace)
        return suggest_patterns(self.assess(tool, self.validate(tool, arguments), env))

    # --- running ---------------------------------------------------------------------

    async def execute(self, name: str, arguments: dict[str, Any], context: ToolContext) -> ToolOutput:
        tool = self.lookup(name)
        if tool is None or tool.run is None:
            return error(f"no tool named {name!r} is available")
        try:
            clean = self.validate(tool, arguments)
            return await tool.run(clean, self.tool_env(context.workspace))
        except ToolError as exc:
            return error(str(exc))
        except OSError as exc:
            return error(f"{tool.name} failed: {type(exc).__name__}: {exc}")

    # --- remembering -----------------------------------------------------------------

    def remember_sync(self, name: str, arguments: dict[str, Any], rule: RememberRule, context: ToolContext,
                      *, action: str = "allow", source: str = "prompt") -> list[Any]:
        """Store rules for "always": the given argument pattern, or exactly these arguments
        (one rule per part of a command line). Returns the new rules; none when the call
        cannot be remembered (a command that cannot be judged part by part)."""
        tool = self.lookup(name)
        if tool is None:
            return []
        env = self.tool_env(context.workspace)
        call = self.assess(tool, self.validate(tool, arguments), env)
        if not call.can_remember and rule.argument_pattern is None:
            log.warning("not remembering %s: the whole call cannot be judged", name)
            return []
        patterns = [rule.argument_pattern] if rule.argument_pattern is not None else remembered_patterns(call)
        from storage.types import utcnow

        expires = utcnow() + timedelta(seconds=rule.expires_in_seconds) if rule.expires_in_seconds else None
        where: dict[str, Any] = {}
        if rule.scope == "conversation":
            where["conversation_id"] = context.conversation_id
        elif rule.scope == "project":
            where["project_path"] = str(env.workspace)
        return [self.storage.approvals.add_rule(self.user_id, action, tool.name, pattern, scope=rule.scope,
                                                expires_at=expires, source=source, **where)
                for pattern in patterns]

    async def remember(self, name: str, arguments: dict[str, Any], rule: RememberRule, context: ToolContext) -> None:
        try:
            await asyncio.to_thread(self.remember_sync, name, arguments, rule, context)
        except Exception:  # the call itself was approved; a rule that could not be kept is logged
            log.exception("could not store the rule for %s", name)


def _outside_words(parts: Iterable[str], env: ToolEnv) -> list[str]:
    found = []
    for part in parts:
        for word in part.split():
            word = word.lstrip("<>")
            if word.startswith(("/", "~")) or ".." in word.split("/"):
                if word.startswith("/dev/"):
                    continue
                try:
                    if not resolve(env.workspace, word).inside:
                        found.append(word)
                except ToolError:
                    continue
    return list(dict.fromkeys(found))


def build_runtime(storage: "Storage", user_id: str, *, mode: str = "default", allow: Iterable[str] = (),
                  deny: Iterable[str] = (), interactive: bool = True, mcp: bool = True,
                  mcp_options: dict[str, Any] | None = None, **options: Any) -> Runtime:
    """The runtime for the TUI (``interactive=True``) or a scripted run. MCP servers are
    not started here: their cached tool listings are offered, and a server starts on its
    first call (``await runtime.prepare()`` lists servers never listed before)."""
    manager = None
    if mcp:
        from .mcp import MCP_KINDS, McpManager

        if any(r.kind in MCP_KINDS for r in storage.integrations.list(user_id)):
            manager = McpManager(storage, user_id, **(mcp_options or {}))
    return Runtime(storage, user_id, mcp=manager, mode=mode, allow=allow, deny=deny, interactive=interactive,
                   **options)


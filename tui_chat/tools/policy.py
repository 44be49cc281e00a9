"""One policy for every tool call, built-in or MCP.

The order, first answer wins:

1. **deny rules** (stored rules in force here, and ``--deny-tool``) -- deny;
2. **ask rules** -- ask (skipped in bypass mode);
3. the **permission mode**: ``bypass`` allows; ``read-only`` denies every tool that is
   not read-only;
4. **allow rules** (stored, and ``--allow-tool``) -- allow. For ``run_shell`` every part of
   the command line (see :mod:`.shellparse`) must be allowed by some rule, and a command
   that cannot be parsed with confidence matches no allow rule;
5. the mode's own allowances: ``accept-edits`` allows write_file/edit_file inside the
   workspace; ``read-only`` allows read-only tools inside it;
6. the user's **auto_approval_settings**: ``specific_tools`` (allow/ask/deny per tool),
   read-only and low-risk tiers, the cost caps per tool and per hour, and approval for
   tools never approved before (MCP tools). Anything outside the workspace is never
   auto-approved;
7. otherwise **ask**.

"Ask" becomes "deny" when nobody can answer (a scripted run): fail closed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..engine.tooling import PolicyOutcome
from .base import Tool
from .patterns import RulePattern, escape, glob_match, match_arguments, match_path, match_tool, parse_rule
from .shellparse import ParsedShell
from .workspace import ResolvedPath

MODES = ("default", "read-only", "accept-edits", "bypass")


@dataclass(frozen=True, slots=True)
class ActiveRule:
    """A rule in force for this call: stored (with its id), or given by a flag for one run."""

    action: str
    pattern: RulePattern
    label: str
    rule_id: str | None = None
    decided_by: str = "rule"

    @classmethod
    def from_record(cls, record: Any) -> "ActiveRule | None":
        try:
            pattern = parse_rule(record.tool_pattern)
        except ValueError:
            return None
        if record.argument_pattern is not None:
            pattern = RulePattern(pattern.tool, record.argument_pattern)
        where = {"global": "global", "project": f"project {record.project_path}",
                 "conversation": "this conversation"}.get(record.scope, record.scope)
        return cls(record.action, pattern, f"{record.action} rule {pattern} [{where}, id {record.id}]",
                   record.id, "rule")

    @classmethod
    def from_flag(cls, action: str, text: str) -> "ActiveRule":
        return cls(action, parse_rule(text), f"--{action}-tool '{text}'", None, "flag")


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call as the policy judges it."""

    tool: Tool
    arguments: dict[str, Any]
    risk: str
    preview: str
    path: ResolvedPath | None = None
    shell: ParsedShell | None = None
    outside: bool = False  # touches something outside the workspace
    notes: tuple[str, ...] = ()
    refusal: str | None = None  # the call cannot run as asked (outside, bad edit, ...)
    can_remember: bool = True

    @property
    def subject(self) -> str | None:
        key = self.tool.subject
        value = self.arguments.get(key) if key else None
        return value if isinstance(value, str) else None


@dataclass
class Decider:
    rules: Sequence[ActiveRule]
    settings: Any = None  # ApprovalSettingsRecord
    mode: str = "default"
    interactive: bool = True
    spent_last_hour: Callable[[], Decimal] = field(default=lambda: Decimal(0))
    known_tool: Callable[[], bool] = field(default=lambda: True)
    _unmatched: list[str] = field(default_factory=list)

    def decide(self, call: Call) -> PolicyOutcome:
        if call.refusal:
            return self._outcome("deny", call, call.refusal, "policy")
        for rule in self.rules:
            if rule.action == "deny" and matches(rule, call):
                return self._outcome("deny", call, f"denied by {rule.label}", rule.decided_by, rule.rule_id)
        if self.mode != "bypass":
            for rule in self.rules:
                if rule.action == "ask" and matches(rule, call):
                    return self._ask(call, f"{rule.label} asks for approval", rule.decided_by, rule.rule_id)
        if self.mode == "bypass":
            return self._outcome("allow", call, "bypass mode (--permission-mode bypass): every call runs unchecked",
                                 "bypass")
        if self.mode == "read-only" and not call.tool.read_only:
            return self._outcome("deny", call, f"read-only mode: {call.tool.name} is not a read-only tool", "flag")
        allowed = self._allow_rules(call)
        if allowed is not None:
            return allowed
        inside = call.path is not None and call.path.inside
        if self.mode == "accept-edits" and call.tool.kind == "write" and inside:
            return self._outcome("allow", call, "accept-edits mode: edits inside the workspace are allowed", "flag")
        if self.mode == "read-only" and call.tool.read_only and not call.outside:
            return self._outcome("allow", call, "read-only mode: read-only tools are allowed", "flag")
        return self._settings(call)

    # --- steps -----------------------------------------------------------------------

    def _allow_rules(self, call: Call) -> PolicyOutcome | None:
        allow = [r for r in self.rules if r.action == "allow"]
        if call.tool.subject == "command" and call.shell is not None:
            if not call.shell.confident:
                return None
            used: list[str] = []
            used_rules: list[ActiveRule] = []
            for part in call.shell.parts:
                rule = next((r for r in allow if _tool_matches(r, call.tool)
                             and (r.pattern.argument is None or glob_match(r.pattern.argument, part))), None)
                if rule is None:
                    self._unmatched = [p for p in call.shell.parts if not any(
                        _tool_matches(r, call.tool) and (r.pattern.argument is None or glob_match(r.pattern.argument, p))
                        for r in allow)]
                    return None
                used.append(f"`{part}` by {rule.label}")
                used_rules.append(rule)
            stored = next((r for r in used_rules if r.rule_id), used_rules[0])
            return self._outcome("allow", call, "allowed: " + "; ".join(used), stored.decided_by, stored.rule_id)
        for rule in allow:
            if matches(rule, call, for_allow=True):
                return self._outcome("allow", call, f"allowed by {rule.label}", rule.decided_by, rule.rule_id)
        return None

    def _settings(self, call: Call) -> PolicyOutcome:
        settings = self.settings
        fallback = f"no rule or setting allows {call.tool.name}"
        if call.shell is not None and call.shell.problems:
            fallback += f" (the command cannot be judged part by part: {'; '.join(call.shell.problems)})"
        elif self._unmatched and len(call.shell.parts if call.shell else ()) > 1:
            fallback += " (not allowed by any rule: " + ", ".join(f"`{p}`" for p in self._unmatched) + ")"
        if settings is None:
            return self._ask(call, fallback, "policy")
        specific = _specific(settings.specific_tools, call.tool)
        if specific == "deny":
            return self._outcome("deny", call, f"your settings deny {call.tool.name} (specific tools)", "auto")
        if specific == "ask":
            return self._ask(call, f"your settings ask before {call.tool.name} (specific tools)", "auto")
        if specific == "allow":
            why = f"your settings allow {call.tool.name} (specific tools)"
        elif call.risk == "read_only" and settings.read_only_operations:
            why = "your settings auto-approve read-only operations"
        elif call.risk == "low" and settings.low_risk_operations:
            why = "your settings auto-approve low-risk operations"
        else:
            return self._ask(call, fallback, "policy")
        if call.outside:
            return self._ask(call, f"{call.tool.name} touches something outside the workspace, which is never "
                                   "auto-approved", "policy")
        if call.shell is not None and not call.shell.confident:
            return self._ask(call, fallback, "policy")
        cost = call.tool.cost
        if cost is not None and cost > settings.max_cost_per_tool:
            return self._ask(call, f"{call.tool.name} costs about ${cost} a call, over your cap of "
                                   f"${settings.max_cost_per_tool} per tool", "auto")
        spent = self.spent_last_hour()
        if spent + (cost or 0) > settings.max_cost_per_hour:
            return self._ask(call, f"tool calls cost ${spent} in the last hour; your cap is "
                                   f"${settings.max_cost_per_hour} per hour", "auto")
        if settings.require_approval_for_new_tools and call.tool.kind == "mcp" and not self.known_tool():
            return self._ask(call, f"{call.tool.name} has never been approved, and your settings ask before a "
                                   "new tool runs", "auto")
        return self._outcome("allow", call, why, "auto")

    # --- outcomes --------------------------------------------------------------------

    def _ask(self, call: Call, reason: str, decided_by: str, rule_id: str | None = None) -> PolicyOutcome:
        if self.interactive:
            return self._outcome("ask", call, reason, decided_by, rule_id)
        hint = suggest_flag(call)
        return self._outcome("deny", call, f"{reason}; a scripted run cannot ask, so it is denied"
                             + (f" (to allow it: --allow-tool '{hint}')" if hint else ""), "policy", rule_id)

    @staticmethod
    def _outcome(action: str, call: Call, reason: str, decided_by: str, rule_id: str | None = None) -> PolicyOutcome:
        if call.notes:
            reason += " [" + "; ".join(call.notes) + "]"
        remembers = tuple(f"{call.tool.name}({pattern})" if pattern is not None
                          else f"every call of {call.tool.name}, whatever its arguments"
                          for pattern in remembered_patterns(call)) if call.can_remember else ()
        return PolicyOutcome(action, call.risk, reason, decided_by=decided_by, rule_id=rule_id,  # type: ignore[arg-type]
                             preview=call.preview, can_remember=call.can_remember, remembers=remembers)


def _tool_matches(rule: ActiveRule, tool: Tool) -> bool:
    return match_tool(rule.pattern.tool, tool.name) or (tool.wire != tool.name and match_tool(rule.pattern.tool, tool.wire))


def matches(rule: ActiveRule, call: Call, *, for_allow: bool = False) -> bool:
    """Whether ``rule`` applies to ``call``. For deny and ask rules on a command, any part
    (or the whole command line) matching is enough."""
    if not _tool_matches(rule, call.tool):
        return False
    argument = rule.pattern.argument
    subject = call.tool.subject
    if subject == "command":  # allow rules for commands are judged part by part in Decider._allow_rules
        if argument is None:
            return True
        texts = [*(call.shell.parts if call.shell else ()), call.subject or ""]
        return any(glob_match(argument, text) for text in texts)
    if argument is None:
        return not (for_allow and call.outside)
    if subject == "path" and call.path is not None:
        return match_path(argument, call.path.relative if call.path.inside else None, call.path.path.as_posix())
    if subject == "url":
        return glob_match(argument, call.subject or "")
    return match_arguments(argument, call.arguments)


def _specific(specific: dict[str, str], tool: Tool) -> str | None:
    for key in (tool.name, tool.wire):
        if key in specific:
            return specific[key]
    for key, action in specific.items():
        if any(ch in key for ch in "*?") and match_tool(key, tool.name):
            return action
    return None


def suggest_flag(call: Call) -> str | None:
    """The narrowest --allow-tool pattern that would allow this call."""
    if call.tool.subject == "command":
        if call.shell is None or not call.shell.confident or len(call.shell.parts) != 1:
            return None
        return f"{call.tool.name}({escape(call.shell.parts[0])})"
    if call.tool.subject == "path" and call.path is not None:
        return f"{call.tool.name}({escape(call.path.relative if call.path.inside else call.path.path.as_posix())})"
    if call.tool.subject == "url" and call.subject:
        return f"{call.tool.name}({escape(call.subject)})"
    return call.tool.name


def remembered_patterns(call: Call) -> list[str | None]:
    """The argument patterns "always" stores for ``call`` (None: any arguments): each part
    of a command line, else the exact path or URL; a tool without a command, path or URL
    is allowed whole."""
    if call.tool.subject == "command" and call.shell is not None:
        return [escape(part) for part in call.shell.parts]
    if call.tool.subject:
        return list(suggest_patterns(call)[:1]) or [None]
    return [None]


def suggest_patterns(call: Call) -> list[str]:
    """Argument patterns to offer for "always": exact first, then broader ones."""
    subject = call.tool.subject
    if subject == "command" and call.shell is not None and call.shell.confident:
        out = [escape(p) for p in call.shell.parts] if len(call.shell.parts) == 1 else []
        words = call.shell.parts[0].split() if len(call.shell.parts) == 1 else []
        if len(words) >= 2:
            out.append(escape(" ".join(words[:2])) + ":*")
        if words:
            out.append(escape(words[0]) + ":*")
        return list(dict.fromkeys(out))
    if subject == "path" and call.path is not None:
        shown = call.path.relative if call.path.inside else call.path.path.as_posix()
        out = [escape(shown)]
        parent = shown.rsplit("/", 1)[0] if "/" in shown else None
        if parent:
            out.append(escape(parent) + "/**")
        elif call.path.inside:
            out.append("**")
        return out
    if subject == "url" and call.subject:
        from urllib.parse import urlsplit

        parts = urlsplit(call.subject)
        return [escape(call.subject), f"{parts.scheme}://{escape(parts.netloc)}/*"]
    return []

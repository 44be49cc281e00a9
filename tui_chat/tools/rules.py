"""Rules from the command line, and rules from past decisions (the audit screen).

``rule_from_execution`` is what an audit view calls to turn a recorded tool call into a
rule ("always allow this", "never allow this"): the same patterns the approval prompt
would store, with the scope and expiry the user picked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..engine.tooling import RememberRule, ToolContext
from .patterns import parse_rule

if TYPE_CHECKING:
    from storage import Storage

    from .runtime import Runtime

_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|hour|hours|d|day|days|w|week|weeks)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400,
          "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}


def parse_duration(text: str) -> int:
    """``"7d"`` -> seconds. Units: s, m, h, d, w (no unit: seconds)."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 30m, 12h, 7d or 2w")
    return int(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]


def add_rule(storage: "Storage", user_id: str, action: str, pattern: str, *, scope: str = "global",
             project: str | None = None, conversation: str | None = None, expires_in: int | None = None,
             source: str = "cli", note: str | None = None) -> Any:
    """Store ``action PATTERN`` (``run_shell(git status*)``) with its scope and expiry."""
    from storage.types import utcnow

    parsed = parse_rule(pattern)
    expires_at: datetime | None = utcnow() + timedelta(seconds=expires_in) if expires_in else None
    return storage.approvals.add_rule(
        user_id, action, parsed.tool, parsed.argument, scope=scope,
        conversation_id=conversation if scope == "conversation" else None,
        project_path=project if scope == "project" else None, expires_at=expires_at, source=source, note=note)


def rule_from_execution(storage: "Storage", user_id: str, execution_id: str, *, action: str = "allow",
                        scope: str = "conversation", expires_in: int | None = None,
                        argument_pattern: str | None = None, runtime: "Runtime | None" = None,
                        workspace: str | None = None) -> list[Any]:
    """Rules from a past call: exactly its (approved) arguments, or ``argument_pattern``.
    The workspace is the conversation's (its recorded cwd) unless given."""
    from .runtime import build_runtime

    execution = storage.tools.get(user_id, execution_id)
    conversation = storage.conversations.get(user_id, execution.conversation_id)
    where = workspace or (conversation.context or {}).get("cwd") or "."
    runtime = runtime or build_runtime(storage, user_id)
    if runtime.lookup(execution.tool_name) is None:
        raise ValueError(f"the tool {execution.tool_name!r} is no longer available")
    context = ToolContext(user_id, execution.conversation_id, where, True)
    return runtime.remember_sync(execution.tool_name, execution.effective_parameters,
                                 RememberRule(scope, expires_in, argument_pattern),  # type: ignore[arg-type]
                                 context, action=action, source="audit")


def rule_row(record: Any) -> dict[str, Any]:
    """A rule for display: its pattern, scope and expiry in words."""
    pattern = record.tool_pattern if record.argument_pattern is None else \
        f"{record.tool_pattern}({record.argument_pattern})"
    where = {"global": "global", "project": f"project {record.project_path}",
             "conversation": f"conversation {record.conversation_id}"}.get(record.scope, record.scope)
    return {"id": record.id, "action": record.action, "pattern": pattern, "scope": record.scope, "where": where,
            "expires_at": record.expires_at.isoformat() if record.expires_at else None,
            "expired": record.is_expired, "source": record.source, "note": record.note,
            "created_at": record.created_at.isoformat()}

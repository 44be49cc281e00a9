"""The engine's view of tools: a runtime that lists, judges and runs them, and the
approval function the UI (or scripted mode) supplies.

The engine never decides on its own: every call goes to ``ToolRuntime.evaluate`` (the
policy), and when the policy says "ask", to the injected ``approve`` coroutine, which the
TUI resolves from its approval prompt and scripted mode resolves from its flags.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..providers.base import ToolSpec


@dataclass(frozen=True, slots=True)
class ToolContext:
    user_id: str
    conversation_id: str
    workspace: str
    interactive: bool


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    action: Literal["allow", "ask", "deny"]
    risk: str  # read_only | low | medium | high
    reason: str  # which rule or setting decided, in words
    decided_by: str = "policy"  # rule | auto | policy | flag | bypass
    rule_id: str | None = None
    preview: str = ""  # exactly what will run: the command, the diff, the URL
    can_remember: bool = True  # False when the whole action cannot be shown
    remembers: tuple[str, ...] = ()  # what "always" would allow, in words (one per rule)


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    execution_id: str
    tool_name: str
    arguments: dict[str, Any]
    outcome: PolicyOutcome


@dataclass(frozen=True, slots=True)
class RememberRule:
    scope: Literal["conversation", "project", "global"]
    expires_in_seconds: int | None = None
    argument_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    approved: bool
    note: str | None = None  # sent to the model with a denial
    edited_arguments: dict[str, Any] | None = None
    remember: RememberRule | None = None
    decided_by: str = "user"


@dataclass(frozen=True, slots=True)
class ToolOutput:
    text: str  # what the model is sent (truncated sensibly)
    is_error: bool = False
    data: Any = None  # the whole result, stored
    cost: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ApproveFn = Callable[[ApprovalRequest], Awaitable[ApprovalDecision]]


class ToolRuntime(Protocol):
    def specs(self) -> list[ToolSpec]: ...

    def source_of(self, name: str) -> str: ...

    def display_name(self, name: str) -> str: ...  # `server.tool` for a provider-safe `server__tool`

    async def evaluate(self, name: str, arguments: dict[str, Any], context: ToolContext) -> PolicyOutcome: ...

    async def execute(self, name: str, arguments: dict[str, Any], context: ToolContext) -> ToolOutput: ...

    async def remember(self, name: str, arguments: dict[str, Any], rule: RememberRule, context: ToolContext) -> None: ...


async def deny_all(request: ApprovalRequest) -> ApprovalDecision:
    """The approval function of a run that cannot ask anyone: fail closed."""
    return ApprovalDecision(approved=False, note="no one is available to approve this call", decided_by="policy")

"""What the engine tells its caller while a turn runs.

The TUI renders these; scripted mode prints them (``stream-json`` writes each as one
JSON line). They are plain frozen dataclasses with a ``type`` tag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    type: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        data = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = str(value) if isinstance(value, Decimal) else value
        return data


@dataclass(frozen=True, slots=True)
class TurnStarted(Event):
    type: ClassVar[str] = "turn_started"
    conversation_id: str
    user_message_id: str | None
    provider: str
    model: str
    new_conversation: bool


@dataclass(frozen=True, slots=True)
class ContextBuilt(Event):
    """What is about to be sent: tokens against the window, and any optimization."""

    type: ClassVar[str] = "context"
    tokens: int
    window: int
    messages: int
    dropped: bool
    optimization: str | None  # truncation | summarization
    memory_ids: list[str]
    exact: bool


@dataclass(frozen=True, slots=True)
class ResponseStarted(Event):
    """An assistant message row exists; text will follow."""

    type: ClassVar[str] = "response_started"
    message_id: str
    step: int


@dataclass(frozen=True, slots=True)
class TextDelta(Event):
    type: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta(Event):
    type: ClassVar[str] = "reasoning"
    text: str


@dataclass(frozen=True, slots=True)
class Retrying(Event):
    type: ClassVar[str] = "retrying"
    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class ToolCallRequested(Event):
    type: ClassVar[str] = "tool_call"
    execution_id: str
    call_id: str
    name: str
    arguments: dict[str, Any]
    risk: str


@dataclass(frozen=True, slots=True)
class ApprovalNeeded(Event):
    type: ClassVar[str] = "approval_needed"
    execution_id: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ToolDecided(Event):
    type: ClassVar[str] = "tool_decision"
    execution_id: str
    name: str
    approved: bool
    decided_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class ToolResult(Event):
    type: ClassVar[str] = "tool_result"
    execution_id: str
    call_id: str
    name: str
    output: str
    is_error: bool


@dataclass(frozen=True, slots=True)
class Usage(Event):
    type: ClassVar[str] = "usage"
    message_id: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class ResponseFinished(Event):
    """One model call is over (a turn with tool calls has several)."""

    type: ClassVar[str] = "response_finished"
    message_id: str
    finish_reason: str
    status: str


@dataclass(frozen=True, slots=True)
class TurnFinished(Event):
    type: ClassVar[str] = "turn_finished"
    conversation_id: str | None  # None: refused before a new conversation was created
    message_id: str | None
    text: str
    finish_reason: str
    status: str  # done | cancelled | error | stopped
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: Decimal | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    stop_reason: str | None = None  # max_turns | max_cost | budget | policy | context
    context: dict[str, Any] = field(default_factory=dict)  # tokens, window, messages, dropped, optimization


@dataclass(frozen=True, slots=True)
class TurnError(Event):
    type: ClassVar[str] = "error"
    kind: str  # auth | rate_limit | server | connection | bad_request | protocol | config | budget | internal
    message: str
    message_id: str | None = None


EngineEvent = (
    TurnStarted | ContextBuilt | ResponseStarted | TextDelta | ReasoningDelta | Retrying | ToolCallRequested | ApprovalNeeded
    | ToolDecided | ToolResult | Usage | ResponseFinished | TurnFinished | TurnError
)

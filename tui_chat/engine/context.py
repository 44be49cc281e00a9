"""Turn the stored branch into what the provider is sent, within the model's window.

Messages are grouped so a tool call and its results are never split; the newest groups
are kept and the oldest dropped until the total (system prompt + history + the reply
reserve) fits. The newest group is always sent: if it alone does not fit, that is an
error the user must see, not a silent cut.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..providers.base import ChatMessage, ToolCall

#: Rough tokens per message for the chat format's framing (role, separators).
MESSAGE_OVERHEAD = 4


@dataclass(frozen=True, slots=True)
class BuiltContext:
    messages: tuple[ChatMessage, ...]
    sent_ids: tuple[str, ...]
    dropped_ids: tuple[str, ...]
    tokens: int  # estimated tokens of system prompt + messages
    window: int
    reserve: int


class ContextTooLarge(Exception):
    pass


def to_chat_message(record: Any) -> ChatMessage | None:
    """A stored message as a provider message (None for rows with nothing to send)."""
    parts = record.parts or []
    if record.role == "tool":
        result = next((p for p in parts if p.get("type") == "tool_result"), None)
        if result is None:
            return None
        return ChatMessage(role="tool", text=str(result.get("content", record.content)),
                           tool_call_id=result.get("tool_call_id"), is_error=bool(result.get("is_error")))
    calls = tuple(
        ToolCall(id=p["id"], name=p["name"], arguments=p.get("arguments") if isinstance(p.get("arguments"), str)
                 else json.dumps(p.get("arguments") or {}))
        for p in parts if p.get("type") == "tool_call"
    )
    reasoning = "".join(p.get("text", "") for p in parts if p.get("type") == "reasoning")
    signature = next((p["signature"] for p in parts if p.get("type") == "reasoning" and p.get("signature")), None)
    if record.role == "assistant" and not record.content and not calls:
        return None  # an answer that never produced anything
    return ChatMessage(role=record.role, text=record.content, tool_calls=calls, reasoning=reasoning,
                       reasoning_signature=signature)


def _groups(records: Sequence[Any]) -> list[list[Any]]:
    """Split into groups: an assistant message with tool calls plus the tool results after it."""
    groups: list[list[Any]] = []
    for record in records:
        if record.role == "tool" and groups and groups[-1][0].role == "assistant":
            groups[-1].append(record)
        else:
            groups.append([record])
    return groups


def build_context(
    records: Sequence[Any],
    *,
    system: str | None,
    window: int,
    reserve: int,
    count: Callable[[str], int],
    pinned_ids: frozenset[str] = frozenset(),
) -> BuiltContext:
    """Fit ``records`` (oldest first) into ``window - reserve`` tokens."""

    def tokens_of(record: Any) -> int:
        if record.token_count is not None and record.status == "done":
            return record.token_count + MESSAGE_OVERHEAD
        text = record.content + "".join(json.dumps(p) for p in (record.parts or []) if p.get("type") == "tool_call")
        return count(text) + MESSAGE_OVERHEAD

    from .tokens import upper_bound_tokens

    budget = window - reserve - (count(system) + MESSAGE_OVERHEAD if system else 0)
    groups = _groups(records)
    # Fast path: if even the byte count (an upper bound on tokens) fits, nothing needs
    # an exact count and everything is sent.
    bound = sum(upper_bound_tokens(r.content) + MESSAGE_OVERHEAD + upper_bound_tokens(json.dumps(r.parts or []))
                for r in records)
    if bound + upper_bound_tokens(system) + MESSAGE_OVERHEAD <= window - reserve:
        sent_all = [(r.id, m) for r in records if (m := to_chat_message(r)) is not None]
        estimate = sum(r.token_count if r.token_count is not None else (len(r.content) + 3) // 4 for r in records)
        return BuiltContext(tuple(m for _, m in sent_all), tuple(i for i, _ in sent_all), (), estimate, window, reserve)
    sizes = [sum(tokens_of(r) for r in g) for g in groups]
    keep = [False] * len(groups)
    used = 0
    if not groups:
        return BuiltContext((), (), (), window - reserve - budget, window, reserve)
    last = len(groups) - 1
    pinned = {i for i, g in enumerate(groups) if any(r.id in pinned_ids for r in g)}
    # The newest group always; then pinned groups; then the rest, newest to oldest.
    order = [last] + sorted(pinned - {last}) + [i for i in range(last - 1, -1, -1) if i not in pinned]
    for index in order:
        if used + sizes[index] <= budget:
            keep[index] = True
            used += sizes[index]
        elif index == last:
            raise ContextTooLarge(
                f"the message is about {sizes[index]:,} tokens; the model's window leaves room for {max(budget, 0):,}"
            )
        elif index not in pinned:
            break  # keep history contiguous: nothing older than a group that did not fit
    sent: list[ChatMessage] = []
    sent_ids: list[str] = []
    dropped: list[str] = []
    for index, group in enumerate(groups):
        for record in group:
            if keep[index]:
                message = to_chat_message(record)
                if message is not None:
                    sent.append(message)
                    sent_ids.append(record.id)
            else:
                dropped.append(record.id)
    total = used + (window - reserve - budget)
    return BuiltContext(tuple(sent), tuple(sent_ids), tuple(dropped), total, window, reserve)


@dataclass
class ContextLimits:
    window: int = 32_768
    max_output: int | None = None
    defaults: dict[str, Any] = field(default_factory=dict)

    def reserve(self, requested_max_tokens: int | None) -> int:
        wanted = requested_max_tokens or self.max_output or 4096
        return min(wanted, self.window // 4)

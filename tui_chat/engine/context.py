"""What the model is sent each turn, within its window.

The budget is the model's window minus the reply reserve. The system prompt (with the
remembered facts relevant to this turn and, under the ``summarize`` strategy, the
summary of older turns) comes first; then pinned and referenced messages; then the
newest turns of the current branch, newest first, until the budget is spent. A tool
call and its results are never split. The branch is read newest-first a page at a time,
with each message's token count cached in ``messages.token_count``, so the cost grows
with what is sent, not with the conversation's length.

When older turns no longer fit, the conversation's strategy decides: ``truncate`` drops
them, ``summarize`` replaces them with a model-written summary (kept on the
conversation and reused until more turns fall out of the window), ``manual`` stops and
asks the user to compact. Each change is recorded as a ``context_optimizations`` row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..providers.base import ChatMessage, ImagePart, ToolCall
from .tokens import count_tokens, estimate_tokens, is_exact_for, upper_bound_tokens

if TYPE_CHECKING:
    from storage import Storage

#: Tokens the chat format adds per message (role and separators), and to prime the reply.
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3
#: Pages of the branch walk: at least PAGE rows, at most MAX_PAGE; the first one sized
#: for the budget at TOKENS_PER_MESSAGE tokens a message.
PAGE = 64
MAX_PAGE = 4096
TOKENS_PER_MESSAGE = 96
MEMORY_HEADER = "Facts the user asked you to remember (use them when relevant):"
SUMMARY_HEADER = "Summary of the earlier part of this conversation:"


class ContextTooLarge(Exception):
    """Even the newest message does not fit the window."""


class ContextFull(Exception):
    """Older turns no longer fit and the conversation's strategy is ``manual``."""


@dataclass(frozen=True, slots=True)
class BuiltContext:
    system: str | None
    messages: tuple[ChatMessage, ...]
    sent_ids: tuple[str, ...]
    tokens: int  # system + messages + reply priming
    window: int
    reserve: int
    exact: bool  # counted with the model's own tokenizer
    boundary_id: str | None = None  # oldest message sent from the branch (None: from the root)
    newly_dropped: tuple[str, ...] = ()  # messages that fell out since the last turn
    to_summarize: tuple[Any, ...] = ()  # records the summarize strategy should fold in
    memory_ids: tuple[str, ...] = ()
    summary_used: bool = False
    dropped: bool = False


@dataclass
class ContextLimits:
    window: int = 32_768
    max_output: int | None = None
    defaults: dict[str, Any] = field(default_factory=dict)

    def reserve(self, requested_max_tokens: int | None) -> int:
        wanted = requested_max_tokens or self.max_output or 4096
        return min(wanted, self.window // 4)


def to_chat_message(record: Any, load_image: Callable[[str], bytes | None] | None = None) -> ChatMessage | None:
    """A stored message as a provider message (None for rows with nothing to send)."""
    parts = record.parts or []
    if not parts and record.role != "tool":  # plain text: most of a long history
        if record.role == "assistant" and not record.content:
            return None  # an answer that never produced anything
        return ChatMessage(role=record.role, text=record.content)
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
    images: list[ImagePart] = []
    if load_image is not None:
        for part in parts:
            if part.get("type") == "image" and part.get("attachment_id"):
                data = load_image(part["attachment_id"])
                if data is not None:
                    images.append(ImagePart(data=data, mime_type=part.get("mime_type") or "image/png"))
    if record.role == "assistant" and not record.content and not calls:
        return None  # an answer that never produced anything
    return ChatMessage(role=record.role, text=record.content, tool_calls=calls, reasoning=reasoning,
                       reasoning_signature=signature, images=tuple(images))


def record_text(record: Any) -> str:
    """The text a stored message's tokens are counted from: its content and tool calls."""
    extra = "".join(json.dumps(p) for p in (record.parts or []) if p.get("type") == "tool_call")
    return record.content + extra


class ContextBuilder:
    """Plans each turn's context from storage (synchronous: run it in a worker thread)."""

    def __init__(self, storage: "Storage", user_id: str) -> None:
        self.storage = storage
        self.user_id = user_id

    def tokens_of(self, text: str | None, model: str | None) -> int:
        return count_tokens(text, model)

    def system_text(self, conversation: Any, query: str, model: str | None) -> tuple[str | None, tuple[str, ...], bool]:
        pieces: list[str] = []
        if conversation.system_prompt:
            pieces.append(conversation.system_prompt)
        memory_ids: tuple[str, ...] = ()
        if conversation.context.get("memory", True) and query.strip():
            hits = self.storage.memories.search(self.user_id, query[:4000], limit=5)
            if hits:
                memory_ids = tuple(h.memory.id for h in hits)
                pieces.append(MEMORY_HEADER + "\n" + "\n".join(f"- {h.memory.content}" for h in hits))
        summary_used = bool(conversation.summary and conversation.context.get("summary_upto"))
        if summary_used:
            pieces.append(f"{SUMMARY_HEADER}\n{conversation.summary}")
        return ("\n\n".join(pieces) or None), memory_ids, summary_used

    def build(
        self, conversation: Any, tip: str | None, *, model: str | None, window: int, reserve: int,
        query: str = "", tool_schema_tokens: int = 0, load_image: Callable[[str], bytes | None] | None = None,
        keep_recent: int | None = None, budget_scale: float = 1.0,
    ) -> BuiltContext:
        """Plan the context. ``keep_recent`` (for /compact) keeps at most that many of
        the newest messages and treats everything older as out of the window;
        ``budget_scale`` below 1 leaves room (used when choosing what to summarise, so
        the next turns fit without summarising again)."""
        system, memory_ids, summary_used = self.system_text(conversation, query, model)
        system_tokens = (self.tokens_of(system, model) + MESSAGE_OVERHEAD) if system else 0
        budget = window - reserve - system_tokens - REPLY_PRIMING - tool_schema_tokens
        summary_upto = conversation.context.get("summary_upto") if summary_used else None
        previous_boundary = conversation.context.get("context_boundary")
        sizes = _Sizer(self, model)
        # Pinned and referenced messages come first: their room is taken before the walk.
        extra = self._pinned_and_referenced(conversation.id, budget, sizes)
        extra_ids = {r.id for r in extra}
        budget -= sum(sizes.one(r) for r in extra)
        used_extra = sum(sizes.one(r) for r in extra)
        budget = int(budget * budget_scale)

        kept: list[list[Any]] = []  # groups, newest first; each group oldest first
        kept_messages = 0
        used = 0
        dropped: list[Any] = []  # newest first
        boundary: str | None = None
        stopped = False
        summarizing = conversation.context_strategy == "summarize" or keep_recent is not None
        newly: list[str] = []
        for group in _groups(self._walk(conversation.id, tip, budget)):
            group = [r for r in group if r.id not in extra_ids] or group
            ids = [r.id for r in group]
            if all(i in extra_ids for i in ids):
                continue
            if summary_upto in ids:
                stopped = True  # this and everything older is in the summary
                boundary = kept[-1][0].id if kept else None
                break
            if stopped:  # collecting what the summary should fold in
                dropped.extend(reversed(group))
                if previous_boundary in ids or len(dropped) >= MAX_SUMMARIZED:
                    break
                continue
            size = sizes.group(group)
            if used + size > budget and not sizes.exact:
                sizes.exact = True  # close to the window: count exactly from here on
                used = sum(sizes.group(g) for g in kept)
                size = sizes.group(group)
            too_many = keep_recent is not None and kept_messages + len(group) > keep_recent
            if used + size > budget or (too_many and kept):
                if not kept:
                    raise ContextTooLarge(
                        f"the newest message is about {size:,} tokens; the model's window ({window:,}) "
                        f"leaves room for {max(budget, 0):,} after the reply reserve"
                    )
                stopped = True
                boundary = kept[-1][0].id
                if boundary == previous_boundary and not summarizing:
                    break  # nothing new fell out of the window
                if not summarizing:  # only the ids of what fell out, without loading it
                    for message_id in self.storage.messages.branch_ids(
                            self.user_id, conversation.id, group[-1].id, limit=MAX_COLLECTED):
                        newly.append(message_id)
                        if message_id == previous_boundary:
                            break
                    break
                dropped.extend(reversed(group))
                if previous_boundary in ids:
                    break
                continue
            kept.append(group)
            kept_messages += len(group)
            used += size
        if summarizing:
            newly = [r.id for r in dropped]
        sizes.persist()

        records = [r for g in reversed(kept) for r in g]
        used += used_extra
        sent: list[ChatMessage] = []
        sent_ids: list[str] = []
        for record in extra + records:
            message = to_chat_message(record, load_image)
            if message is not None:
                sent.append(message)
                sent_ids.append(record.id)
        return BuiltContext(
            system=system, messages=tuple(sent), sent_ids=tuple(sent_ids),
            tokens=used + system_tokens + REPLY_PRIMING + tool_schema_tokens, window=window, reserve=reserve,
            exact=sizes.exact and is_exact_for(model), boundary_id=boundary,
            newly_dropped=tuple(newly) if boundary != previous_boundary else (),
            to_summarize=tuple(reversed(dropped)), memory_ids=memory_ids, summary_used=summary_used,
            dropped=stopped,
        )

    def _walk(self, conversation_id: str, tip: str | None, budget: int) -> Iterator[Any]:
        """The branch from ``tip`` to the root, newest first, in pages (one statement
        each). The first page holds about what ``budget`` tokens of typical messages
        need, and pages grow fourfold, so a long walk costs one or two queries."""
        start, limit = tip, min(max(budget // TOKENS_PER_MESSAGE, PAGE), MAX_PAGE)
        while start is not None:
            rows = self.storage.messages.context_page(self.user_id, conversation_id, start, limit=limit)
            yield from rows
            if len(rows) < limit:
                return
            start, limit = rows[-1].parent_id, min(limit * 4, MAX_PAGE)

    def _pinned_and_referenced(self, conversation_id: str, room: int, sizes: "_Sizer") -> list[Any]:
        """Pinned and referenced messages, oldest first, as many as fit half the budget."""
        room = room // 2
        chosen = []
        for record in self.storage.messages.pinned_and_referenced(self.user_id, conversation_id):
            size = sizes.one(record)
            if size <= room:
                chosen.append(record)
                room -= size
        sizes.persist()
        return chosen


MAX_COLLECTED = 10_000
#: At most this many dropped messages are read to be folded into a summary.
MAX_SUMMARIZED = 400


def _groups(records: Iterator[Any]) -> Iterator[list[Any]]:
    """Newest-first records as groups (each oldest first): an assistant message that
    called tools travels with the tool results after it."""
    group: list[Any] = []
    for record in records:
        group.insert(0, record)
        if record.role != "tool":
            yield group
            group = []
    if group:
        yield group


class _Sizer:
    """Token sizes of messages: cached counts first; until the window is close, the
    UTF-8 byte count (an upper bound) for uncounted ones, so no tokenizer is loaded;
    then exact counts, which are saved on the messages."""

    def __init__(self, builder: ContextBuilder, model: str | None) -> None:
        self.builder = builder
        self.model = model
        self.exact = False
        self.new_counts: dict[str, int] = {}

    def one(self, record: Any) -> int:
        if record.token_count is not None and record.status == "done":
            return record.token_count + MESSAGE_OVERHEAD
        if record.id in self.new_counts:
            return self.new_counts[record.id] + MESSAGE_OVERHEAD
        text = record_text(record)
        if not self.exact:
            return upper_bound_tokens(text) + MESSAGE_OVERHEAD
        count = self.builder.tokens_of(text, self.model)
        if record.status == "done":
            self.new_counts[record.id] = count
        return count + MESSAGE_OVERHEAD

    def group(self, group: list[Any]) -> int:
        return sum(self.one(r) for r in group)

    def persist(self) -> None:
        if self.new_counts:
            self.builder.storage.messages.set_token_counts(self.builder.user_id, self.new_counts)
            self.new_counts = {}


def estimate_context(records: list[Any], system: str | None) -> int:
    """A quick estimate for display (no tokenizer)."""
    total = sum(r.token_count if r.token_count is not None else estimate_tokens(record_text(r)) for r in records)
    return total + len(records) * MESSAGE_OVERHEAD + (estimate_tokens(system) if system else 0) + REPLY_PRIMING

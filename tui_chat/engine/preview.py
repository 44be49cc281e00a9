"""What the next turn would send, worked out without sending it.

:func:`preview_context` plans the context the way a turn does (the same
:class:`~.context.ContextBuilder`, the same window and reply reserve, the draft prompt
as the newest message and as the query that picks remembered facts) and says what
happens to each message of the branch: sent, pinned (sent although old), summarised
(already folded into the conversation's summary, or about to be) or dropped. Nothing
is recorded: no optimization rows, no summary, no memory use. The builder may cache
exact token counts on messages, as it does for every turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .context import (
    MEMORY_HEADER,
    MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    SUMMARY_HEADER,
    ContextBuilder,
    ContextTooLarge,
    record_text,
)
from .tokens import count_tokens, is_exact_for

if TYPE_CHECKING:
    from storage import Storage

#: The newest messages of the branch listed one by one; older ones are only counted.
LIST_LIMIT = 400
MAX_LISTED = 5_000
#: Pinned and referenced messages older than the listed ones: at most this many listed.
MAX_EXTRA = 200
#: How many of the branch's messages are counted at most (for the "older" line).
COUNT_LIMIT = 100_000
FATES = ("sent", "pinned", "summarised", "dropped", "draft")


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    id: str | None  # None for the draft
    role: str
    text: str  # the start of the message, on one line
    tokens: int
    fate: str  # one of FATES


@dataclass(frozen=True, slots=True)
class InjectedMemory:
    id: str
    content: str
    tokens: int


@dataclass(frozen=True, slots=True)
class ContextPreview:
    conversation_id: str | None
    provider: str
    model: str
    window: int
    reserve: int  # tokens kept free for the reply
    strategy: str  # truncate | summarize | manual
    system_prompt_tokens: int
    summary_tokens: int  # the stored summary of older turns, in the system message
    tool_tokens: int  # the tool schemas
    memory_enabled: bool
    memories: tuple[InjectedMemory, ...]  # injected into the system message for this draft
    memory_tokens: int
    candidates: tuple[InjectedMemory, ...]  # with memory off: what would have been injected
    draft_tokens: int
    messages: tuple[PlannedMessage, ...]  # oldest first, the draft last
    older: dict[str, int]  # fate -> count of older messages not listed one by one
    total_tokens: int  # everything sent: system, messages, draft, tools, reply priming
    exact: bool  # counted with the model's own tokenizer
    note: str = ""  # what the turn will do first (summarise, ...)
    problem: str | None = None  # why the turn would stop before asking the model

    @property
    def budget(self) -> int:
        """Tokens the context may use: the window less the reply reserve."""
        return max(self.window - self.reserve, 0)

    def count(self, fate: str) -> int:
        return sum(1 for m in self.messages if m.fate == fate) + self.older.get(fate, 0)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(record: Any) -> str:
    if record.content.strip():
        return _one_line(record.content)
    calls = [p.get("name", "?") for p in (record.parts or []) if p.get("type") == "tool_call"]
    return f"(tool call: {', '.join(calls)})" if calls else "(empty)"


def _memories(storage: "Storage", user_id: str, ids: tuple[str, ...], model: str) -> tuple[InjectedMemory, ...]:
    found = []
    for memory_id in ids:
        record = storage.memories.get(user_id, memory_id)
        found.append(InjectedMemory(record.id, record.content, count_tokens(f"- {record.content}\n", model)))
    return tuple(found)


def preview_context(
    storage: "Storage", user_id: str, conversation: Any, *, provider: str, model: str, window: int,
    reserve: int, draft: str = "", tool_tokens: int = 0, summary_headroom: float = 0.6, system: str | None = None,
) -> ContextPreview:
    """Plan the next turn of ``conversation`` (None: a new one, with ``system`` as its
    system prompt) with ``draft`` as the prompt. Blocking: run it in a thread."""
    builder = ContextBuilder(storage, user_id)
    if conversation is None:
        conversation = SimpleNamespace(id=None, system_prompt=system, context={}, summary=None,
                                       context_strategy="truncate", current_message_id=None)
    memory_on = bool(conversation.context.get("memory", True))
    system, memory_ids, summary_used = builder.system_text(conversation, draft, model)
    memories = _memories(storage, user_id, memory_ids, model)
    candidates: tuple[InjectedMemory, ...] = ()
    if not memory_on and draft.strip():
        probe = SimpleNamespace(system_prompt=None, summary=None, context={**conversation.context, "memory": True})
        candidates = _memories(storage, user_id, builder.system_text(probe, draft, model)[1], model)
    system_prompt_tokens = count_tokens(conversation.system_prompt, model) if conversation.system_prompt else 0
    memory_tokens = count_tokens(MEMORY_HEADER, model) + sum(m.tokens for m in memories) if memories else 0
    summary_tokens = count_tokens(f"{SUMMARY_HEADER}\n{conversation.summary}", model) if summary_used else 0
    draft_tokens = count_tokens(draft, model) + MESSAGE_OVERHEAD if draft.strip() else 0
    draft_row = (PlannedMessage(None, "user", _one_line(draft), draft_tokens, "draft"),) if draft.strip() else ()
    strategy = conversation.context_strategy
    common = dict(conversation_id=conversation.id, provider=provider, model=model, window=window, reserve=reserve,
                  strategy=strategy, system_prompt_tokens=system_prompt_tokens, summary_tokens=summary_tokens,
                  tool_tokens=tool_tokens, memory_enabled=memory_on, memories=memories, memory_tokens=memory_tokens,
                  candidates=candidates, draft_tokens=draft_tokens)
    system_total = count_tokens(system, model) + MESSAGE_OVERHEAD if system else 0

    alone = system_total + draft_tokens + tool_tokens + REPLY_PRIMING  # the draft with no history
    too_big = (f"the draft is about {draft_tokens:,} tokens; the model's window ({window:,}) leaves room "
               f"for {max(window - reserve - system_total - tool_tokens, 0):,} after the reply reserve")

    tip = conversation.current_message_id
    if tip is None:
        total = alone
        problem = too_big if total > window - reserve else None
        return ContextPreview(**common, messages=draft_row, older={}, total_tokens=total,
                              exact=is_exact_for(model), problem=problem)

    # The draft is the newest message and is always sent: its room is taken first.
    def plan(scale: float = 1.0) -> Any:
        return builder.build(conversation, tip, model=model, window=window, reserve=reserve, query=draft,
                             tool_schema_tokens=tool_tokens + draft_tokens, budget_scale=scale)

    note, problem = "", None
    summarising: set[str] = set()
    try:
        built = plan()
    except ContextTooLarge as exc:
        built = None
        problem = too_big if draft_tokens and alone > window - reserve else str(exc)
    if built is not None and built.dropped and built.newly_dropped:
        if strategy == "manual":
            problem = ("the conversation no longer fits the model's window and its context strategy is manual: "
                       "compact it (/compact) or switch the strategy to truncate or summarize")
        elif strategy == "summarize" and built.to_summarize:
            built = plan(summary_headroom)  # what a turn keeps after summarising
            summarising = {r.id for r in built.to_summarize}
            note = (f"older turns no longer fit: before sending, the model will summarise "
                    f"{len(summarising):,} message(s) into the conversation's summary")
        else:
            note = "older turns no longer fit the window and will be left out"
    sent = set(built.sent_ids) if built is not None else set()
    boundary = built.boundary_id if built is not None else None

    ids_newest_first = storage.messages.branch_ids(user_id, conversation.id, tip, limit=COUNT_LIMIT)
    position = {message_id: n for n, message_id in enumerate(reversed(ids_newest_first))}  # 0: the oldest
    boundary_at = position.get(boundary) if boundary is not None else None
    # The messages sent from the newest turns are listed (at least LIST_LIMIT, at most
    # MAX_LISTED), then the older pinned and referenced ones that are sent too.
    if boundary_at is not None:
        wanted = len(ids_newest_first) - boundary_at
    else:
        wanted = len(ids_newest_first) if built is not None else LIST_LIMIT
    page = storage.messages.branch(user_id, conversation.id, tip=tip, limit=min(max(wanted, LIST_LIMIT), MAX_LISTED))
    records = list(page.items)  # oldest first
    listed = {r.id for r in records}
    unlisted = [i for i in (built.sent_ids if built is not None else ()) if i not in listed][:MAX_EXTRA]
    extra = [storage.messages.get(user_id, i) for i in unlisted]
    listed.update(unlisted)
    summary_upto = conversation.context.get("summary_upto") if summary_used else None
    summarised_upto = position.get(summary_upto) if summary_upto is not None else None
    older: dict[str, int] = {}

    def fate(message_id: str, pinned: bool) -> str:
        where = position.get(message_id)
        if message_id in sent:
            before_boundary = boundary_at is not None and where is not None and where < boundary_at
            return "pinned" if pinned or before_boundary else "sent"
        if message_id in summarising:
            return "summarised"
        if summarised_upto is not None and where is not None and where <= summarised_upto:
            return "summarised"
        return "dropped"

    for message_id in ids_newest_first[len(records):]:
        if message_id not in listed:
            kind = fate(message_id, False)
            older[kind] = older.get(kind, 0) + 1
    rows = []
    for record in extra + records:
        tokens = record.token_count if record.token_count is not None else count_tokens(record_text(record), model)
        rows.append(PlannedMessage(record.id, record.role, _label(record), tokens + MESSAGE_OVERHEAD,
                                   fate(record.id, bool(getattr(record, "is_pinned", False)))))
    total = sum(r.tokens for r in rows if r.fate in ("sent", "pinned")) + system_total + draft_tokens
    return ContextPreview(**common, messages=tuple(rows) + draft_row, older=older,
                          total_tokens=total + tool_tokens + REPLY_PRIMING, exact=is_exact_for(model), note=note,
                          problem=problem)

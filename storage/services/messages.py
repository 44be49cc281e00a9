"""Messages: a tree per conversation, streamed text persisted as it arrives.

- A message's ``parent_id`` is the message it answers or follows. Edits and
  regenerations are siblings under one parent; the conversation's
  ``current_message_id`` is the tip of the branch on screen, and "the branch" is the
  path from the root to that tip.
- Streaming: the engine creates the assistant row (``pending``) before the first token,
  appends text in batches (``append``: one short UPDATE, no full-text index work), and
  ends it with ``finish``. Rows left ``pending``/``streaming`` by a process that died
  are marked ``interrupted`` by ``recover_interrupted``, their text kept.
- Counters on the conversation (message_count, token_count) change in the same
  transaction as the messages they count.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from .. import enums
from ..errors import Conflict, NotFound, ValidationError
from ..models import Conversation, Message, MessageEdit, MessageFeedback, MessageReference
from ..repositories.conversations import owned_conversation, owned_message
from ..types import utcnow
from .base import Service, check_choice, check_length, to_record

_UNSET: Any = object()

#: Allowed status changes. Terminal statuses do not change (a retry is a new message).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("streaming", "done", "error", "cancelled", "interrupted"),
    "streaming": ("done", "error", "cancelled", "interrupted"),
}


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    conversation_id: str
    user_id: str
    parent_id: str | None
    role: str
    content: str
    content_type: str
    parts: list[Any]
    status: str
    token_count: int | None
    provider: str | None
    model: str | None
    finish_reason: str | None
    meta: dict[str, Any]
    is_pinned: bool
    is_edited: bool
    edited_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ContextRow:
    """The few fields the context builder needs; ``parts`` is decoded only when present."""

    id: str
    parent_id: str | None
    role: str
    content: str
    raw_parts: str | None
    status: str
    token_count: int | None

    @property
    def parts(self) -> list[Any]:
        raw = self.raw_parts
        if not raw or raw == "[]":
            return []
        return json.loads(raw)


@dataclass(frozen=True, slots=True)
class MessagePage:
    items: list[MessageRecord]  # oldest first
    has_more: bool  # older messages exist before items[0]


@dataclass(frozen=True, slots=True)
class Siblings:
    ids: tuple[str, ...]  # oldest first
    index: int  # position of the asked-for message

    @property
    def label(self) -> str:
        return f"{self.index + 1}/{len(self.ids)}"


@dataclass(frozen=True, slots=True)
class EditRecord:
    id: str
    message_id: str
    source_message_id: str | None
    previous_content: str
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    message_id: str
    rating: int
    comment: str | None
    updated_at: datetime


def _record(row: Message) -> MessageRecord:
    return to_record(MessageRecord, row)


#: The columns of a MessageRecord, in field order: reading rows (not ORM objects) is
#: several times faster for pages of history.
RECORD_COLUMNS = tuple(getattr(Message, f.name) for f in dataclasses.fields(MessageRecord))


def _records(session: Session, query: Any) -> list[MessageRecord]:
    return [MessageRecord(*row) for row in session.execute(query)]


def _build_branch_query() -> Any:
    chain = (
        select(Message.id, Message.parent_id, literal(1).label("depth"))
        .where(Message.id == bindparam("tip"))
        .cte("chain", recursive=True)
    )
    parent = aliased(Message)
    step = select(parent.id, parent.parent_id, (chain.c.depth + 1).label("depth")).join(
        chain, parent.id == chain.c.parent_id).where(chain.c.depth < bindparam("limit"))
    chain = chain.union_all(step)
    return select(chain.c.id).order_by(chain.c.depth)


_BRANCH_QUERY = _build_branch_query()

#: The columns of a ContextRow, in field order.
CONTEXT_COLUMNS = (Message.id, Message.parent_id, Message.role, Message.content, cast(Message.parts, Text),
                   Message.status, Message.token_count)


def _build_context_query() -> Any:
    """The rows of a branch from ``start`` towards the root (newest first), at most
    ``limit`` of them, in one statement: the chain of ids walks the primary key and the
    columns are joined onto it."""
    chain = (
        select(Message.id, Message.parent_id, literal(1).label("depth"))
        .where(Message.id == bindparam("start"), Message.conversation_id == bindparam("conversation"),
               Message.user_id == bindparam("user"))
        .cte("chain", recursive=True)
    )
    parent = aliased(Message)
    step = select(parent.id, parent.parent_id, (chain.c.depth + 1).label("depth")).join(
        chain, parent.id == chain.c.parent_id).where(chain.c.depth < bindparam("limit"))
    chain = chain.union_all(step)
    return select(*CONTEXT_COLUMNS).join(chain, Message.id == chain.c.id).order_by(chain.c.depth)


_CONTEXT_QUERY = _build_context_query()


def _build_extras_query() -> Any:
    """A conversation's pinned messages and the messages its messages reference."""
    pinned = select(Message.id).where(Message.conversation_id == bindparam("conversation"),
                                      Message.is_pinned == True)  # noqa: E712 (the partial index's condition)
    source = aliased(Message)
    # References are rare: start from them and look each source up by key (the function
    # keeps the planner off the conversation index, which would probe the references
    # once for every message of the conversation).
    referenced = select(MessageReference.referenced_message_id).join(
        source, source.id == MessageReference.message_id).where(
        func.coalesce(source.conversation_id, "") == bindparam("conversation"))
    # Looked up by key from that short list (sorted by the caller, so that no index of
    # the conversation or the user is walked for the order).
    return select(*CONTEXT_COLUMNS, Message.created_at).where(
        Message.id.in_(pinned.union(referenced)), func.coalesce(Message.user_id, "") == bindparam("user"))


_EXTRAS_QUERY = _build_extras_query()


def _check_parts(parts: Sequence[Any] | None) -> list[Any]:
    if parts is None:
        return []
    clean = []
    for index, part in enumerate(parts):
        if not isinstance(part, dict) or "type" not in part:
            raise ValidationError(f"parts[{index}]", "must be an object with a 'type'")
        check_choice(f"parts[{index}].type", part["type"], enums.PART_TYPES)
        clean.append(dict(part))
    return clean


def _branch_ids(session: Session, tip_id: str, limit: int | None = None) -> list[str]:
    """Ids from ``tip_id`` up to the root (tip first), at most ``limit`` of them."""
    return list(session.scalars(_BRANCH_QUERY, {"tip": tip_id, "limit": limit or enums.MAX_THREAD_DEPTH + 1}))


def _check_owner(session: Session, user_id: str, conversation_id: str) -> None:
    """Ownership without loading the conversation (for the hot read paths)."""
    found = session.execute(select(Conversation.id).where(
        Conversation.id == conversation_id, Conversation.user_id == user_id)).first()
    if found is None:
        raise NotFound("conversation", conversation_id)


class MessageService(Service):
    # --- adding ----------------------------------------------------------------------

    def add(
        self,
        user_id: str,
        conversation_id: str,
        *,
        role: str,
        content: str = "",
        parts: Sequence[Any] | None = None,
        content_type: str = "text",
        status: str = "done",
        parent_id: str | None = _UNSET,
        provider: str | None = None,
        model: str | None = None,
        token_count: int | None = None,
        finish_reason: str | None = None,
        meta: dict[str, Any] | None = None,
        advance: bool = True,
        created_at: datetime | None = None,
    ) -> MessageRecord:
        """Add a message under ``parent_id`` (default: the current tip) and, with
        ``advance``, make it the new tip."""
        check_choice("role", role, enums.ROLES)
        check_choice("status", status, enums.MESSAGE_STATUSES)
        check_choice("content_type", content_type, enums.CONTENT_TYPES)
        check_length("content", content, enums.MAX_MESSAGE_LENGTH)
        clean_parts = _check_parts(parts)
        if token_count is not None and token_count < 0:
            raise ValidationError("token_count", "must not be negative")
        now = created_at or utcnow()
        with self.db.write() as session:
            conversation = owned_conversation(session, user_id, conversation_id, for_update=True)
            if parent_id is _UNSET:
                parent_id = conversation.current_message_id
            elif parent_id is not None:
                parent = session.get(Message, parent_id)
                if parent is None or parent.conversation_id != conversation_id:
                    raise NotFound("message", parent_id)
            row = Message(
                conversation_id=conversation_id, user_id=user_id, parent_id=parent_id, role=role,
                content=content, parts=clean_parts, content_type=content_type, status=status,
                provider=provider, model=model, token_count=token_count, finish_reason=finish_reason,
                meta=meta or {}, created_at=now, updated_at=now,
            )
            session.add(row)
            session.flush()
            conversation.message_count += 1
            conversation.token_count += token_count or 0
            conversation.last_message_at = max(conversation.last_message_at, now)
            if advance:
                conversation.current_message_id = row.id
            return _record(row)

    # --- streaming -------------------------------------------------------------------

    def append(self, user_id: str, message_id: str, text: str) -> None:
        """Append streamed text. One UPDATE; no search-index work until ``finish``."""
        with self.db.write() as session:
            result = session.execute(
                update(Message)
                .where(Message.id == message_id, Message.user_id == user_id,
                       Message.status.in_(("pending", "streaming")))
                .values(content=Message.content + text, status="streaming", updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                self._explain_not_streaming(session, user_id, message_id)

    def heartbeat(self, user_id: str, message_id: str) -> None:
        """Show that the writer is alive (while a model thinks and sends nothing)."""
        with self.db.write() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.user_id == user_id,
                       Message.status.in_(("pending", "streaming")))
                .values(updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def finish(
        self,
        user_id: str,
        message_id: str,
        *,
        status: str = "done",
        content: str | None = None,
        parts: Sequence[Any] | None = None,
        token_count: int | None = None,
        finish_reason: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> MessageRecord:
        """End a streaming message: final status, parts, token count, metadata."""
        check_choice("status", status, enums.FINAL_MESSAGE_STATUSES)
        with self.db.write() as session:
            row = owned_message(session, user_id, message_id)
            allowed = TRANSITIONS.get(row.status, ())
            if status not in allowed:
                raise Conflict(f"message {message_id} is {row.status}; it cannot become {status}")
            if content is not None:
                check_length("content", content, enums.MAX_MESSAGE_LENGTH)
                row.content = content
            if parts is not None:
                row.parts = _check_parts(parts)
            if finish_reason is not None:
                row.finish_reason = finish_reason
            if meta:
                row.meta = {**(row.meta or {}), **meta}
            if token_count is not None:
                delta = token_count - (row.token_count or 0)
                row.token_count = token_count
                session.execute(update(Conversation).where(Conversation.id == row.conversation_id)
                                .values(token_count=Conversation.token_count + delta))
            row.status = status
            session.flush()
            return _record(row)

    def set_token_count(self, user_id: str, message_id: str, token_count: int) -> None:
        with self.db.write() as session:
            row = owned_message(session, user_id, message_id)
            delta = token_count - (row.token_count or 0)
            row.token_count = token_count
            session.execute(update(Conversation).where(Conversation.id == row.conversation_id)
                            .values(token_count=Conversation.token_count + delta))

    def set_token_counts(self, user_id: str, counts: dict[str, int]) -> None:
        """Cache exact token counts on many messages at once (the conversation's total follows)."""
        if not counts:
            return
        with self.db.write() as session:
            rows = session.scalars(select(Message).where(Message.id.in_(list(counts)), Message.user_id == user_id))
            deltas: dict[str, int] = {}
            for row in rows:
                new = int(counts[row.id])
                if new < 0:
                    raise ValidationError("token_count", "must not be negative")
                deltas[row.conversation_id] = deltas.get(row.conversation_id, 0) + new - (row.token_count or 0)
                row.token_count = new
            for conversation_id, delta in deltas.items():
                session.execute(update(Conversation).where(Conversation.id == conversation_id)
                                .values(token_count=Conversation.token_count + delta))

    def pinned_and_referenced(self, user_id: str, conversation_id: str) -> list[ContextRow]:
        """The conversation's pinned messages and the messages its messages reference,
        oldest first: the context sends these even when they are old. (Another user's
        conversation has none.)"""
        with self.db.read() as session:
            rows = session.connection().execute(_EXTRAS_QUERY, {"conversation": conversation_id, "user": user_id}).all()
            rows.sort(key=lambda row: (row[-1], row[0]))
            return [ContextRow(*row[:-1]) for row in rows]

    def recover_interrupted(self, *, stale_after: timedelta = timedelta(seconds=30)) -> list[str]:
        """Mark rows left pending/streaming, untouched for ``stale_after``, as interrupted.

        The streaming writer touches ``updated_at`` at least every few seconds, so a live
        stream in another process is never taken for a dead one.
        """
        cutoff = utcnow() - stale_after
        with self.db.write() as session:
            ids = list(session.scalars(select(Message.id).where(
                Message.status.in_(("pending", "streaming")), Message.updated_at < cutoff)))
            if ids:
                session.execute(
                    update(Message).where(Message.id.in_(ids), Message.status.in_(("pending", "streaming")))
                    .values(status="interrupted", finish_reason="interrupted")
                    .execution_options(synchronize_session=False)
                )
            return ids

    # --- reading ---------------------------------------------------------------------

    def get(self, user_id: str, message_id: str) -> MessageRecord:
        with self.db.read() as session:
            row = session.scalars(
                select(Message).join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.id == message_id, Conversation.user_id == user_id)
            ).one_or_none()
            if row is None:
                raise NotFound("message", message_id)
            return _record(row)

    def page(self, user_id: str, conversation_id: str, *, before: str | None = None, limit: int = 50) -> MessagePage:
        """Every message of the conversation in time order, newest page first."""
        with self.db.read() as session:
            owned_conversation(session, user_id, conversation_id)
            query = select(*RECORD_COLUMNS).where(Message.conversation_id == conversation_id)
            if before is not None:
                anchor = session.get(Message, before)
                if anchor is None or anchor.conversation_id != conversation_id:
                    raise NotFound("message", before)
                query = query.where(
                    (Message.created_at < anchor.created_at)
                    | ((Message.created_at == anchor.created_at) & (Message.id < anchor.id))
                )
            rows = _records(session, query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1))
            return MessagePage(list(reversed(rows[:limit])), len(rows) > limit)

    def branch(
        self, user_id: str, conversation_id: str, *, tip: str | None = None,
        before: str | None = None, limit: int | None = None,
    ) -> MessagePage:
        """The current branch (root to tip), or its newest ``limit`` messages before
        ``before``. Uses one recursive query; cost grows with ``limit``, not history."""
        with self.db.read() as session:
            conversation = owned_conversation(session, user_id, conversation_id)
            start = before or tip or conversation.current_message_id
            if start is None:
                return MessagePage([], False)
            if before is not None:
                anchor = session.get(Message, before)
                if anchor is None or anchor.conversation_id != conversation_id:
                    raise NotFound("message", before)
                start = anchor.parent_id
                if start is None:
                    return MessagePage([], False)
            ids = _branch_ids(session, start, None if limit is None else limit + 1)
            more = limit is not None and len(ids) > limit
            ids = ids[:limit] if limit is not None else ids
            rows = {r.id: r for r in _records(session, select(*RECORD_COLUMNS).where(Message.id.in_(ids)))}
            return MessagePage([rows[i] for i in reversed(ids) if i in rows], more)

    def context_page(self, user_id: str, conversation_id: str, start: str, *,
                     limit: int = 200) -> list[ContextRow]:
        """The newest ``limit`` messages of the branch ending at ``start``, newest first,
        with only what building a context needs: the fast path for long histories. The
        next page starts at the ``parent_id`` of the last row (None: the root was reached)."""
        with self.db.read() as session:
            # Core, not the ORM: these are plain rows, and the ORM's per-row work would
            # cost as much as the query. The start row must be the user's.
            rows = session.connection().execute(
                _CONTEXT_QUERY, {"start": start, "conversation": conversation_id, "user": user_id, "limit": limit}
            ).all()
            if not rows:
                _check_owner(session, user_id, conversation_id)
            return [ContextRow(*row) for row in rows]

    def branch_ids(self, user_id: str, conversation_id: str, tip: str, *, limit: int = 10_000) -> list[str]:
        """Ids on the branch from ``tip`` towards the root, newest first (no rows loaded)."""
        with self.db.read() as session:
            owned_conversation(session, user_id, conversation_id)
            return _branch_ids(session, tip, limit)

    def siblings(self, user_id: str, message_id: str) -> Siblings:
        """The alternatives at this point of the tree (edits, regenerations)."""
        with self.db.read() as session:
            row = self._visible(session, user_id, message_id)
            parent_clause = Message.parent_id.is_(None) if row.parent_id is None else Message.parent_id == row.parent_id
            ids = tuple(session.scalars(
                select(Message.id).where(Message.conversation_id == row.conversation_id, parent_clause)
                .order_by(Message.created_at, Message.id)))
            return Siblings(ids, ids.index(message_id))

    def siblings_many(self, user_id: str, message_ids: Sequence[str]) -> dict[str, Siblings]:
        """:meth:`siblings` for many messages (a page of a conversation) in two statements.
        Messages that are not the user's are left out."""
        if not message_ids:
            return {}
        with self.db.read() as session:
            rows = session.execute(
                select(Message.id, Message.parent_id, Message.conversation_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.id.in_(list(message_ids)), Conversation.user_id == user_id)).all()
            if not rows:
                return {}
            parents = {row.parent_id for row in rows if row.parent_id is not None}
            roots = {row.conversation_id for row in rows if row.parent_id is None}
            groups: dict[tuple[str, str | None], list[str]] = {}
            clauses = []
            if parents:
                clauses.append(Message.parent_id.in_(parents))
            if roots:
                clauses.append(Message.parent_id.is_(None) & Message.conversation_id.in_(roots))
            query = (select(Message.id, Message.parent_id, Message.conversation_id)
                     .where(clauses[0] if len(clauses) == 1 else clauses[0] | clauses[1])
                     .order_by(Message.created_at, Message.id))
            # Siblings share a parent; the roots of a conversation share its id and no parent.
            for row in session.execute(query):
                groups.setdefault((row.conversation_id, row.parent_id), []).append(row.id)
            result: dict[str, Siblings] = {}
            for row in rows:
                ids = tuple(groups.get((row.conversation_id, row.parent_id), (row.id,)))
                result[row.id] = Siblings(ids, ids.index(row.id) if row.id in ids else 0)
            return result

    def switch_branch(self, user_id: str, message_id: str) -> str:
        """Show the branch through ``message_id``: the tip becomes its newest descendant."""
        with self.db.write() as session:
            row = self._visible(session, user_id, message_id)
            conversation = owned_conversation(session, user_id, row.conversation_id)
            tip = row.id
            while True:
                child = session.scalars(
                    select(Message.id).where(Message.parent_id == tip)
                    .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
                if child is None:
                    break
                tip = child
            conversation.current_message_id = tip
            return tip

    # --- changing --------------------------------------------------------------------

    def edit(self, user_id: str, message_id: str, content: str, *, branch: bool = True) -> MessageRecord:
        """Edit a message. With ``branch`` (the default) the edit is a new sibling that
        becomes the tip and the original stays; otherwise the text changes in place.
        Either way the previous text is kept in message_edits."""
        check_length("content", content, enums.MAX_MESSAGE_LENGTH, required=True)
        now = utcnow()
        with self.db.write() as session:
            row = owned_message(session, user_id, message_id)
            if row.status in ("pending", "streaming"):
                raise Conflict("a message cannot be edited while it is being written")
            if not branch:
                session.add(MessageEdit(message_id=row.id, previous_content=row.content,
                                        previous_parts=row.parts, edited_at=now))
                row.content = content
                row.parts = [{"type": "text", "text": content}] if row.parts else []
                row.is_edited, row.edited_at = True, now
                session.flush()
                return _record(row)
            conversation = owned_conversation(session, user_id, row.conversation_id)
            sibling = Message(
                conversation_id=row.conversation_id, user_id=user_id, parent_id=row.parent_id,
                role=row.role, content=content, content_type=row.content_type,
                parts=[{"type": "text", "text": content}] if row.parts else [],
                status="done", meta={"edited_from": row.id}, is_edited=True, edited_at=now,
                created_at=now, updated_at=now,
            )
            session.add(sibling)
            session.flush()
            session.add(MessageEdit(message_id=sibling.id, source_message_id=row.id,
                                    previous_content=row.content, previous_parts=row.parts, edited_at=now))
            conversation.message_count += 1
            conversation.current_message_id = sibling.id
            conversation.last_message_at = max(conversation.last_message_at, now)
            session.flush()
            return _record(sibling)

    def edits(self, user_id: str, message_id: str) -> list[EditRecord]:
        with self.db.read() as session:
            self._visible(session, user_id, message_id)
            rows = session.scalars(select(MessageEdit).where(MessageEdit.message_id == message_id)
                                   .order_by(MessageEdit.edited_at, MessageEdit.id))
            return [to_record(EditRecord, r) for r in rows]

    def delete(self, user_id: str, message_id: str) -> None:
        """Delete one message; its children move up to its parent, so no branch is lost."""
        with self.db.write() as session:
            row = owned_message(session, user_id, message_id)
            conversation = owned_conversation(session, user_id, row.conversation_id)
            session.execute(update(Message).where(Message.parent_id == row.id)
                            .values(parent_id=row.parent_id).execution_options(synchronize_session=False))
            if conversation.current_message_id == row.id:
                conversation.current_message_id = row.parent_id
            conversation.message_count -= 1
            conversation.token_count = max(0, conversation.token_count - (row.token_count or 0))
            session.flush()
            session.execute(delete(Message).where(Message.id == row.id))

    def truncate_from(self, user_id: str, message_id: str) -> int:
        """Delete a message and everything after it (all its descendants). The tip moves
        to its parent. Returns how many messages were removed."""
        with self.db.write() as session:
            row = owned_message(session, user_id, message_id)
            conversation = owned_conversation(session, user_id, row.conversation_id)
            tree = select(Message.id, Message.token_count).where(Message.id == message_id).cte("tree", recursive=True)
            child = aliased(Message)
            tree = tree.union_all(select(child.id, child.token_count).join(tree, child.parent_id == tree.c.id))
            doomed = session.execute(select(tree.c.id, tree.c.token_count)).all()
            ids = [i for i, _ in doomed]
            tokens = sum(t or 0 for _, t in doomed)
            if conversation.current_message_id in ids:
                conversation.current_message_id = row.parent_id
            conversation.message_count = max(0, conversation.message_count - len(ids))
            conversation.token_count = max(0, conversation.token_count - tokens)
            session.flush()
            session.execute(delete(Message).where(Message.id.in_(ids)))
            return len(ids)

    def pin(self, user_id: str, message_id: str, pinned: bool = True) -> None:
        with self.db.write() as session:
            owned_message(session, user_id, message_id).is_pinned = pinned

    # --- references and feedback -----------------------------------------------------

    def add_reference(self, user_id: str, message_id: str, referenced_id: str) -> None:
        if message_id == referenced_id:
            raise ValidationError("reference", "a message cannot reference itself")
        with self.db.write() as session:
            self._visible(session, user_id, message_id)
            self._visible(session, user_id, referenced_id)
            exists = session.get(MessageReference, (message_id, referenced_id))
            if exists is None:
                session.add(MessageReference(message_id=message_id, referenced_message_id=referenced_id))

    def references(self, user_id: str, message_id: str) -> list[str]:
        with self.db.read() as session:
            self._visible(session, user_id, message_id)
            return list(session.scalars(select(MessageReference.referenced_message_id)
                                        .where(MessageReference.message_id == message_id)
                                        .order_by(MessageReference.created_at)))

    def referenced_in(self, user_id: str, conversation_id: str) -> list[str]:
        """Every message that some message of the conversation references."""
        with self.db.read() as session:
            owned_conversation(session, user_id, conversation_id)
            return list(session.scalars(
                select(MessageReference.referenced_message_id).distinct()
                .join(Message, Message.id == MessageReference.message_id)
                .where(Message.conversation_id == conversation_id)))

    def set_feedback(self, user_id: str, message_id: str, rating: int, comment: str | None = None) -> FeedbackRecord:
        if rating not in (-1, 1):
            raise ValidationError("rating", "must be 1 (thumbs up) or -1 (thumbs down)")
        check_length("comment", comment, 10_000)
        with self.db.write() as session:
            self._visible(session, user_id, message_id)
            row = session.scalars(select(MessageFeedback).where(
                MessageFeedback.message_id == message_id, MessageFeedback.user_id == user_id)).one_or_none()
            if row is None:
                row = MessageFeedback(message_id=message_id, user_id=user_id, rating=rating, comment=comment)
                session.add(row)
            else:
                row.rating, row.comment = rating, comment
            session.flush()
            return to_record(FeedbackRecord, row)

    def clear_feedback(self, user_id: str, message_id: str) -> None:
        with self.db.write() as session:
            session.execute(delete(MessageFeedback).where(
                MessageFeedback.message_id == message_id, MessageFeedback.user_id == user_id))

    def feedback(self, user_id: str, message_id: str) -> FeedbackRecord | None:
        with self.db.read() as session:
            row = session.scalars(select(MessageFeedback).where(
                MessageFeedback.message_id == message_id, MessageFeedback.user_id == user_id)).one_or_none()
            return to_record(FeedbackRecord, row) if row else None

    def feedback_many(self, user_id: str, message_ids: Sequence[str]) -> dict[str, FeedbackRecord]:
        """The user's feedback on each of ``message_ids`` that has some, in one statement."""
        if not message_ids:
            return {}
        with self.db.read() as session:
            rows = session.scalars(select(MessageFeedback).where(
                MessageFeedback.message_id.in_(list(message_ids)), MessageFeedback.user_id == user_id))
            return {row.message_id: to_record(FeedbackRecord, row) for row in rows}

    # --- helpers ---------------------------------------------------------------------

    @staticmethod
    def _visible(session: Session, user_id: str, message_id: str) -> Message:
        row = session.scalars(
            select(Message).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id == message_id, Conversation.user_id == user_id)).one_or_none()
        if row is None:
            raise NotFound("message", message_id)
        return row

    @staticmethod
    def _explain_not_streaming(session: Session, user_id: str, message_id: str) -> None:
        status = session.scalar(select(Message.status).where(Message.id == message_id, Message.user_id == user_id))
        if status is None:
            raise NotFound("message", message_id)
        raise Conflict(f"message {message_id} is {status}; streamed text can no longer be added")

    def count(self, user_id: str, conversation_id: str) -> int:
        with self.db.read() as session:
            owned_conversation(session, user_id, conversation_id)
            return session.scalar(select(func.count()).where(Message.conversation_id == conversation_id)) or 0

"""Conversations: create, list (pinned first, then by recency), organise, delete and restore."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update

from .. import enums
from ..errors import ValidationError
from ..models import Conversation, ConversationTag
from ..repositories.conversations import owned_conversation
from ..types import utcnow
from .base import Service, check_choice, check_generation_settings, check_length, check_range, to_record


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: str
    user_id: str
    title: str | None
    title_is_custom: bool
    provider: str | None
    model: str | None
    system_prompt: str | None
    context_window: int | None
    context_strategy: str
    settings: dict[str, Any]
    approval_overrides: dict[str, Any]
    status: str
    is_pinned: bool
    message_count: int
    token_count: int
    total_cost: Decimal
    summary: str | None
    context: dict[str, Any]
    meta: dict[str, Any]
    session_id: str | None
    window_id: str | None
    current_message_id: str | None
    last_message_at: datetime
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConversationPage:
    items: list[ConversationRecord]
    next_cursor: str | None


def _record(row: Conversation, tags: tuple[str, ...] = ()) -> ConversationRecord:
    return to_record(ConversationRecord, row, tags=tags)


def _encode_cursor(row: Conversation) -> str:
    raw = json.dumps([bool(row.is_pinned), row.last_message_at.isoformat(), row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[bool, datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        pinned, stamp, ident = json.loads(base64.urlsafe_b64decode(padded))
        return bool(pinned), datetime.fromisoformat(stamp), str(ident)
    except (ValueError, TypeError) as exc:
        raise ValidationError("cursor", "is not a cursor this list gave out") from exc


def _check_tag(tag: str) -> str:
    tag = tag.strip().lower()
    check_length("tag", tag, enums.MAX_TAG_LENGTH, required=True)
    if any(ch.isspace() for ch in tag):
        raise ValidationError("tag", "must be one word (use - or _ between words)")
    return tag


class ConversationService(Service):
    def create(
        self,
        user_id: str,
        *,
        title: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        system_prompt: str | None = None,
        settings: dict[str, Any] | None = None,
        context_window: int | None = None,
        context_strategy: str = "truncate",
        session_id: str | None = None,
        window_id: str | None = None,
        context: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        created_at: datetime | None = None,
    ) -> ConversationRecord:
        if title is not None:
            title = title.strip() or None
        check_length("title", title, enums.MAX_TITLE_LENGTH)
        check_length("system_prompt", system_prompt, enums.MAX_SYSTEM_PROMPT_LENGTH)
        check_choice("context_strategy", context_strategy, enums.CONTEXT_STRATEGIES)
        check_range("context_window", context_window, 1, enums.MAX_CONTEXT_WINDOW)
        clean_settings = check_generation_settings(settings or {})
        clean_tags = sorted({_check_tag(t) for t in tags or []})
        if len(clean_tags) > enums.MAX_TAGS_PER_CONVERSATION:
            raise ValidationError("tags", f"at most {enums.MAX_TAGS_PER_CONVERSATION} tags")
        now = created_at or utcnow()
        with self.db.write() as session:
            row = Conversation(
                user_id=user_id,
                title=title,
                title_is_custom=title is not None,
                provider=provider,
                model=model,
                system_prompt=system_prompt,
                settings=clean_settings,
                context_window=context_window,
                context_strategy=context_strategy,
                session_id=session_id,
                window_id=window_id,
                context=context or {},
                meta=meta or {},
                created_at=now,
                updated_at=now,
                last_message_at=now,
            )
            session.add(row)
            session.flush()
            for tag in clean_tags:
                session.add(ConversationTag(conversation_id=row.id, tag=tag))
            return _record(row, tuple(clean_tags))

    def get(self, user_id: str, conversation_id: str) -> ConversationRecord:
        with self.db.read() as session:
            row = owned_conversation(session, user_id, conversation_id)
            return _record(row, self._tags(session, conversation_id))

    def latest(self, user_id: str) -> ConversationRecord | None:
        """The conversation with the newest message (what ``--continue`` resumes)."""
        with self.db.read() as session:
            row = session.scalars(
                select(Conversation)
                .where(Conversation.user_id == user_id, Conversation.status == "active")
                .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
                .limit(1)
            ).first()
            return _record(row, self._tags(session, row.id)) if row else None

    def list(
        self,
        user_id: str,
        *,
        status: str = "active",
        limit: int = 50,
        cursor: str | None = None,
        tag: str | None = None,
    ) -> ConversationPage:
        """A page of conversations: pinned first, then by last message, newest first."""
        check_choice("status", status, enums.CONVERSATION_STATUSES)
        check_range("limit", limit, 1, 1000)
        query = (
            select(Conversation)
            .where(Conversation.user_id == user_id, Conversation.status == status)
            .order_by(Conversation.is_pinned.desc(), Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(limit + 1)
        )
        if cursor:
            pinned, stamp, ident = _decode_cursor(cursor)
            query = query.where(
                tuple_(Conversation.is_pinned, Conversation.last_message_at, Conversation.id) < tuple_(pinned, stamp, ident)
            )
        if tag:
            query = query.where(
                Conversation.id.in_(select(ConversationTag.conversation_id).where(ConversationTag.tag == _check_tag(tag)))
            )
        with self.db.read() as session:
            rows = list(session.scalars(query))
            more = len(rows) > limit
            rows = rows[:limit]
            tags = self._tags_for(session, [r.id for r in rows])
            items = [_record(r, tags.get(r.id, ())) for r in rows]
            return ConversationPage(items, _encode_cursor(rows[-1]) if more else None)

    # --- organising ------------------------------------------------------------------

    def rename(self, user_id: str, conversation_id: str, title: str) -> ConversationRecord:
        title = (check_length("title", title, enums.MAX_TITLE_LENGTH, required=True) or "").strip()
        return self._change(user_id, conversation_id, title=title, title_is_custom=True)

    def set_generated_title(self, user_id: str, conversation_id: str, title: str) -> ConversationRecord:
        """Set a model-written title, unless the user has chosen one."""
        title = " ".join(title.split())[: enums.MAX_TITLE_LENGTH].strip()
        with self.db.write() as session:
            row = owned_conversation(session, user_id, conversation_id)
            if not row.title_is_custom and title:
                row.title = title
            session.flush()
            return _record(row, self._tags(session, conversation_id))

    def pin(self, user_id: str, conversation_id: str, pinned: bool = True) -> ConversationRecord:
        return self._change(user_id, conversation_id, is_pinned=pinned)

    def archive(self, user_id: str, conversation_id: str, archived: bool = True) -> ConversationRecord:
        return self._change(user_id, conversation_id, status="archived" if archived else "active")

    def delete(self, user_id: str, conversation_id: str) -> ConversationRecord:
        """Soft delete: hidden from lists and search, restorable until purged."""
        return self._change(user_id, conversation_id, status="deleted", deleted_at=utcnow())

    def restore(self, user_id: str, conversation_id: str) -> ConversationRecord:
        return self._change(user_id, conversation_id, status="active", deleted_at=None)

    def purge(self, user_id: str, conversation_id: str) -> None:
        """Hard delete with its messages, tool executions, optimizations, tags and shares."""
        with self.db.write() as session:
            row = owned_conversation(session, user_id, conversation_id)
            # Break the conversation -> messages cycle before the cascade.
            row.current_message_id = None
            session.flush()
            session.execute(delete(Conversation).where(Conversation.id == conversation_id))

    def purge_deleted(self, user_id: str, older_than: timedelta = timedelta(days=30)) -> int:
        cutoff = utcnow() - older_than
        with self.db.write() as session:
            ids = list(session.scalars(select(Conversation.id).where(
                Conversation.user_id == user_id, Conversation.status == "deleted", Conversation.deleted_at < cutoff)))
            if ids:
                session.execute(update(Conversation).where(Conversation.id.in_(ids)).values(current_message_id=None))
                session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
            return len(ids)

    def update(
        self,
        user_id: str,
        conversation_id: str,
        **changes: Any,
    ) -> ConversationRecord:
        """Change provider, model, system prompt, settings, context window/strategy,
        approval overrides, context or metadata."""
        allowed = {"provider", "model", "system_prompt", "settings", "context_window", "context_strategy",
                   "approval_overrides", "context", "meta", "summary"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationError("conversation", f"cannot change {', '.join(sorted(unknown))}")
        if "system_prompt" in changes:
            check_length("system_prompt", changes["system_prompt"], enums.MAX_SYSTEM_PROMPT_LENGTH)
        if "settings" in changes:
            changes["settings"] = check_generation_settings(changes["settings"] or {})
        if "context_window" in changes:
            check_range("context_window", changes["context_window"], 1, enums.MAX_CONTEXT_WINDOW)
        if "context_strategy" in changes:
            check_choice("context_strategy", changes["context_strategy"], enums.CONTEXT_STRATEGIES)
        return self._change(user_id, conversation_id, **changes)

    def add_cost(self, user_id: str, conversation_id: str, cost: Decimal) -> None:
        with self.db.write() as session:
            owned_conversation(session, user_id, conversation_id)
            session.execute(
                update(Conversation).where(Conversation.id == conversation_id)
                .values(total_cost=Conversation.total_cost + cost)
            )

    # --- tags ------------------------------------------------------------------------

    def add_tag(self, user_id: str, conversation_id: str, tag: str) -> tuple[str, ...]:
        tag = _check_tag(tag)
        with self.db.write() as session:
            owned_conversation(session, user_id, conversation_id)
            existing = self._tags(session, conversation_id)
            if tag not in existing:
                if len(existing) >= enums.MAX_TAGS_PER_CONVERSATION:
                    raise ValidationError("tags", f"at most {enums.MAX_TAGS_PER_CONVERSATION} tags")
                session.add(ConversationTag(conversation_id=conversation_id, tag=tag))
                session.flush()
            return self._tags(session, conversation_id)

    def remove_tag(self, user_id: str, conversation_id: str, tag: str) -> tuple[str, ...]:
        with self.db.write() as session:
            owned_conversation(session, user_id, conversation_id)
            session.execute(delete(ConversationTag).where(
                ConversationTag.conversation_id == conversation_id, ConversationTag.tag == _check_tag(tag)))
            return self._tags(session, conversation_id)

    def all_tags(self, user_id: str) -> list[tuple[str, int]]:
        with self.db.read() as session:
            rows = session.execute(
                select(ConversationTag.tag, func.count())
                .join(Conversation, Conversation.id == ConversationTag.conversation_id)
                .where(Conversation.user_id == user_id, Conversation.status != "deleted")
                .group_by(ConversationTag.tag).order_by(func.count().desc(), ConversationTag.tag)
            )
            return [(tag, count) for tag, count in rows]

    # --- helpers ---------------------------------------------------------------------

    def _change(self, user_id: str, conversation_id: str, **values: Any) -> ConversationRecord:
        with self.db.write() as session:
            row = owned_conversation(session, user_id, conversation_id)
            for key, value in values.items():
                setattr(row, key, value)
            session.flush()
            return _record(row, self._tags(session, conversation_id))

    @staticmethod
    def _tags(session: Any, conversation_id: str) -> tuple[str, ...]:
        return tuple(session.scalars(
            select(ConversationTag.tag).where(ConversationTag.conversation_id == conversation_id)
            .order_by(ConversationTag.tag)))

    @staticmethod
    def _tags_for(session: Any, ids: list[str]) -> dict[str, tuple[str, ...]]:
        if not ids:
            return {}
        found: dict[str, list[str]] = {}
        for cid, tag in session.execute(
            select(ConversationTag.conversation_id, ConversationTag.tag)
            .where(ConversationTag.conversation_id.in_(ids)).order_by(ConversationTag.tag)
        ):
            found.setdefault(cid, []).append(tag)
        return {k: tuple(v) for k, v in found.items()}

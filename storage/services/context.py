"""Context optimizations: each time a conversation's context was truncated or summarised.

The rows belong to a conversation (deleted with it); a user sees only the rows of their
own conversations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import enums
from ..errors import NotFound, ValidationError
from ..models import ContextOptimization, Conversation, Message
from ..types import utcnow
from .base import Service, check_choice, check_length, to_record

MAX_TOKENS = 2**31 - 1
MAX_AFFECTED = 100_000


@dataclass(frozen=True, slots=True)
class OptimizationRecord:
    id: str
    conversation_id: str
    trigger_reason: str
    optimization_type: str
    tokens_before: int
    tokens_after: int
    summary: str | None
    affected_message_ids: list[str]
    created_at: datetime

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after


def _check_tokens(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        raise ValidationError(field, f"must be a whole number of tokens from 0 to {MAX_TOKENS:,}")
    return value


def _owned_conversation(session: Any, user_id: str, conversation_id: str) -> None:
    found = session.scalar(
        select(Conversation.id).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
    )
    if found is None:
        raise NotFound("conversation", conversation_id)


class ContextOptimizationService(Service):
    def record(
        self,
        user_id: str,
        conversation_id: str,
        *,
        trigger_reason: str,
        optimization_type: str,
        tokens_before: int,
        tokens_after: int,
        summary: str | None = None,
        affected_message_ids: Sequence[str] = (),
    ) -> OptimizationRecord:
        """Record an optimization. The affected messages must be in the conversation;
        a summarization must carry its summary."""
        check_choice("trigger_reason", trigger_reason, enums.OPTIMIZATION_TRIGGERS)
        check_choice("optimization_type", optimization_type, enums.OPTIMIZATION_TYPES)
        _check_tokens("tokens_before", tokens_before)
        _check_tokens("tokens_after", tokens_after)
        check_length("summary", summary, enums.MAX_MESSAGE_LENGTH)
        if optimization_type == "summarization" and not (summary and summary.strip()):
            raise ValidationError("summary", "a summarization must record its summary")
        if isinstance(affected_message_ids, str):
            raise ValidationError("affected_message_ids", "must be a list of message ids")
        affected = list(dict.fromkeys(affected_message_ids))
        if len(affected) > MAX_AFFECTED:
            raise ValidationError("affected_message_ids", f"at most {MAX_AFFECTED:,} messages")
        with self.db.write() as session:
            _owned_conversation(session, user_id, conversation_id)
            found: set[str] = set()
            for start in range(0, len(affected), 500):
                batch = affected[start : start + 500]
                found.update(
                    session.scalars(
                        select(Message.id).where(Message.id.in_(batch), Message.conversation_id == conversation_id)
                    ).all()
                )
            missing = [message_id for message_id in affected if message_id not in found]
            if missing:
                raise ValidationError(
                    "affected_message_ids",
                    f"{len(missing)} message(s) are not in this conversation, e.g. {missing[0]!r}",
                )
            row = ContextOptimization(
                conversation_id=conversation_id,
                trigger_reason=trigger_reason,
                optimization_type=optimization_type,
                tokens_before=tokens_before,
                tokens_after=tokens_after,
                summary=summary,
                affected_message_ids=affected,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return to_record(OptimizationRecord, row)

    def list(self, user_id: str, conversation_id: str) -> list[OptimizationRecord]:
        """The conversation's optimizations, oldest first."""
        with self.db.read() as session:
            _owned_conversation(session, user_id, conversation_id)
            rows = session.scalars(
                select(ContextOptimization)
                .where(ContextOptimization.conversation_id == conversation_id)
                .order_by(ContextOptimization.created_at, ContextOptimization.id)
            ).all()
            return [to_record(OptimizationRecord, row) for row in rows]

    def latest_summary(self, user_id: str, conversation_id: str) -> OptimizationRecord | None:
        """The newest optimization that produced a summary, if any."""
        with self.db.read() as session:
            _owned_conversation(session, user_id, conversation_id)
            row = session.scalars(
                select(ContextOptimization)
                .where(
                    ContextOptimization.conversation_id == conversation_id,
                    ContextOptimization.summary.is_not(None),
                )
                .order_by(ContextOptimization.created_at.desc(), ContextOptimization.id.desc())
                .limit(1)
            ).first()
            return to_record(OptimizationRecord, row) if row is not None else None

"""Lookups that enforce ownership: another user's row is reported as not found."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Conversation, Message


def owned_conversation(session: Session, user_id: str, conversation_id: str, *, for_update: bool = False) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
    if for_update and session.bind is not None and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    conversation = session.scalars(query).one_or_none()
    if conversation is None:
        raise NotFound("conversation", conversation_id)
    return conversation


def owned_message(session: Session, user_id: str, message_id: str) -> Message:
    message = session.scalars(
        select(Message).where(Message.id == message_id, Message.user_id == user_id)
    ).one_or_none()
    if message is None:
        raise NotFound("message", message_id)
    return message

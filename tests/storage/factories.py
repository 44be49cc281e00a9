"""Small ORM factories for storage tests: rows inserted directly, without the services.

They let the tests of one service set up conversations, messages, feedback and so on
without depending on the services that own those tables. Each returns the new row's id.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import update

from storage import Database
from storage.models import Base, Conversation, Message, MessageFeedback, ToolExecution


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


def ago(**delta: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


def make_conversation(db: Database, user_id: str, **fields: Any) -> str:
    fields.setdefault("title", "A conversation")
    with db.write() as session:
        row = Conversation(user_id=user_id, **fields)
        session.add(row)
        session.flush()
        return row.id


def make_message(db: Database, user_id: str, conversation_id: str, **fields: Any) -> str:
    fields.setdefault("role", "user")
    fields.setdefault("content", "hello")
    with db.write() as session:
        row = Message(user_id=user_id, conversation_id=conversation_id, **fields)
        session.add(row)
        session.flush()
        return row.id


def make_feedback(db: Database, user_id: str, message_id: str, rating: int, **fields: Any) -> str:
    with db.write() as session:
        row = MessageFeedback(user_id=user_id, message_id=message_id, rating=rating, **fields)
        session.add(row)
        session.flush()
        return row.id


def make_tool_execution(db: Database, user_id: str, conversation_id: str, **fields: Any) -> str:
    fields.setdefault("tool_call_id", "call_1")
    fields.setdefault("tool_name", "read_file")
    with db.write() as session:
        row = ToolExecution(user_id=user_id, conversation_id=conversation_id, **fields)
        session.add(row)
        session.flush()
        return row.id


def set_fields(db: Database, model: type[Base], row_id: str, **fields: Any) -> None:
    """Overwrite columns of one row (e.g. to backdate it)."""
    with db.write() as session:
        session.execute(update(model).where(model.id == row_id).values(**fields))  # type: ignore[attr-defined]


def fetch(db: Database, model: type[Base], row_id: str) -> Any:
    """One row as an ORM object detached from its session (None if it is gone)."""
    with db.read() as session:
        row = session.get(model, row_id)
        if row is not None:
            session.expunge(row)
        return row

"""Memories (seed 000): facts remembered across conversations, found again by relevance.

Search needs no full-text index, so it behaves the same on SQLite and PostgreSQL: the
query is split into words (case-folded, common English stop words and one-letter words
dropped); a memory matches a word when one of its own words (or tags) equals it or,
for words of 3+ letters, starts with it ("deploy" finds "deployment"). Memories are
ranked by how many distinct query words they match, then importance, then by when
they were last used or created. A user has a few hundred memories, not millions: they
are scored in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from .. import enums
from ..errors import NotFound, ValidationError
from ..models import Conversation, Memory, Message, User
from ..types import utcnow
from .base import Service, check_length, check_range, to_record

MAX_MEMORY_LENGTH = 4000
MAX_TAGS = 20
MAX_SEARCH_LIMIT = 100
MAX_QUERY_LENGTH = 10_000
IMPORTANCE_RANGE = (0, 10)
_WORD = re.compile(r"\w+")
STOP_WORDS = frozenset(
    "a an and are as at be but by can could did do does for from had has have how i if in is it its "
    "me my of on or our so that the their them then there these they this to was we were what when "
    "where which who why will with would you your about into than".split()
)


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    id: str
    content: str
    source_message_id: str | None
    source_conversation_id: str | None
    tags: list[str]
    importance: int
    use_count: int
    last_used_at: datetime | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MemoryHit:
    memory: MemoryRecord
    #: Distinct query words the memory matched.
    matched: int
    terms: tuple[str, ...]


def terms(text: str) -> list[str]:
    """Search words of ``text``: case-folded, without stop words, in order, no repeats."""
    words = (word.casefold() for word in _WORD.findall(text))
    return list(dict.fromkeys(w for w in words if len(w) > 1 and w not in STOP_WORDS))


def _normal(content: str) -> str:
    return " ".join(content.split()).casefold()


def _clean_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        raise ValidationError("tags", "must be a list of tags")
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise ValidationError("tags", "tags must be non-empty text")
        tag = tag.strip().lower()
        check_length("tag", tag, enums.MAX_TAG_LENGTH)
        if tag not in clean:
            clean.append(tag)
    if len(clean) > MAX_TAGS:
        raise ValidationError("tags", f"at most {MAX_TAGS} tags")
    return clean


def _matches(term: str, words: set[str]) -> bool:
    if term in words:
        return True
    return len(term) >= 3 and any(word.startswith(term) for word in words)


def _record(row: Memory) -> MemoryRecord:
    return to_record(MemoryRecord, row, tags=list(row.tags or []))


class MemoryService(Service):
    def add(
        self,
        user_id: str,
        content: str,
        source_message_id: str | None = None,
        source_conversation_id: str | None = None,
        tags: Sequence[str] = (),
        *,
        importance: int = 0,
    ) -> MemoryRecord:
        """Remember ``content``. The same fact again (ignoring case and spacing) returns
        the existing memory, reactivated, with the new tags merged in."""
        if not isinstance(content, str):
            raise ValidationError("content", "must be text")
        content = content.strip()
        check_length("content", content, MAX_MEMORY_LENGTH, required=True)
        clean_tags = _clean_tags(tags)
        if isinstance(importance, bool) or not isinstance(importance, int):
            raise ValidationError("importance", "must be a whole number")
        check_range("importance", importance, *IMPORTANCE_RANGE)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            if source_message_id is not None:
                found = session.execute(
                    select(Message.conversation_id).where(Message.id == source_message_id, Message.user_id == user_id)
                ).one_or_none()
                if found is None:
                    raise NotFound("message", source_message_id)
                if source_conversation_id is not None and found[0] != source_conversation_id:
                    raise ValidationError("source_message_id", "the message is in another conversation")
                source_conversation_id = found[0]
            elif source_conversation_id is not None and session.scalar(
                select(Conversation.id).where(
                    Conversation.id == source_conversation_id, Conversation.user_id == user_id)
            ) is None:
                raise NotFound("conversation", source_conversation_id)
            wanted = _normal(content)
            for memory_id, existing in session.execute(
                select(Memory.id, Memory.content).where(Memory.user_id == user_id)
            ).all():
                if _normal(existing) == wanted:
                    row = session.get(Memory, memory_id)
                    row.is_active = True
                    row.tags = list(dict.fromkeys([*(row.tags or []), *clean_tags]))
                    row.importance = max(row.importance, importance)
                    row.updated_at = utcnow()
                    session.flush()
                    return _record(row)
            row = Memory(
                user_id=user_id, content=content, source_message_id=source_message_id,
                source_conversation_id=source_conversation_id, tags=clean_tags, importance=importance,
            )
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, user_id: str, memory_id: str) -> MemoryRecord:
        with self.db.read() as session:
            return _record(self._row(session, user_id, memory_id))

    def list(self, user_id: str, active_only: bool = True) -> list[MemoryRecord]:
        """Memories, newest first."""
        query = select(Memory).where(Memory.user_id == user_id)
        if active_only:
            query = query.where(Memory.is_active.is_(True))
        with self.db.read() as session:
            rows = session.scalars(query.order_by(Memory.created_at.desc(), Memory.id.desc())).all()
            return [_record(row) for row in rows]

    def deactivate(self, user_id: str, memory_id: str) -> MemoryRecord:
        """Stop using a memory without forgetting it."""
        with self.db.write() as session:
            row = self._row(session, user_id, memory_id)
            row.is_active = False
            row.updated_at = utcnow()
            session.flush()
            return _record(row)

    def remove(self, user_id: str, memory_id: str) -> None:
        """Forget a memory for good."""
        with self.db.write() as session:
            session.delete(self._row(session, user_id, memory_id))

    def search(self, user_id: str, query: str, limit: int = 5) -> list[MemoryHit]:
        """Active memories relevant to ``query``, best first (see the module docstring)."""
        if not isinstance(query, str):
            raise ValidationError("query", "must be text")
        check_length("query", query, MAX_QUERY_LENGTH)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise ValidationError("limit", f"must be between 1 and {MAX_SEARCH_LIMIT}")
        wanted = terms(query)
        if not wanted:
            return []
        with self.db.read() as session:
            rows = session.scalars(
                select(Memory).where(Memory.user_id == user_id, Memory.is_active.is_(True))
            ).all()
            scored = []
            for row in rows:
                words = {word.casefold() for word in _WORD.findall(row.content)}
                words.update(tag.casefold() for tag in row.tags or [])
                hit = tuple(term for term in wanted if _matches(term, words))
                if hit:
                    recency = (row.last_used_at or row.created_at).timestamp()
                    scored.append(((len(hit), row.importance, recency, row.id), row, hit))
            scored.sort(key=lambda item: item[0], reverse=True)
            return [MemoryHit(_record(row), len(hit), hit) for _key, row, hit in scored[:limit]]

    def mark_used(self, user_id: str, ids: Sequence[str]) -> int:
        """Count a use of each memory (e.g. put into a context). All must be the user's."""
        if isinstance(ids, str):
            raise ValidationError("ids", "must be a list of memory ids")
        unique = list(dict.fromkeys(ids))
        if not unique:
            return 0
        with self.db.write() as session:
            found = set(session.scalars(
                select(Memory.id).where(Memory.user_id == user_id, Memory.id.in_(unique))
            ).all())
            missing = [memory_id for memory_id in unique if memory_id not in found]
            if missing:
                raise NotFound("memory", missing[0])
            session.execute(
                update(Memory)
                .where(Memory.user_id == user_id, Memory.id.in_(unique))
                .values(use_count=Memory.use_count + 1, last_used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return len(unique)

    @staticmethod
    def _row(session: Any, user_id: str, memory_id: str) -> Memory:
        row = session.scalars(
            select(Memory).where(Memory.id == memory_id, Memory.user_id == user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("memory", memory_id)
        return row

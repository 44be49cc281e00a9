"""Full-text search over message content and conversation titles.

SQLite uses the FTS5 tables created by the migrations (bm25 ranking, ``snippet``);
PostgreSQL uses GIN-indexed ``tsvector`` expressions (``ts_rank``, ``ts_headline``).
The query language is the same on both: words must all appear (stemmed), a trailing
``*`` matches a prefix, and nothing the user types can break the query syntax.
Results are scoped to one user and skip deleted conversations and unfinished messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from .. import enums
from ..errors import ValidationError
from .base import Service, check_choice, check_range

#: Around each matched word in a snippet.
HIGHLIGHT_START = "\u27e6"
HIGHLIGHT_END = "\u27e7"

_WORD = re.compile(r"\w+\*?", re.UNICODE)
_SEARCHABLE = "('done', 'error', 'cancelled', 'interrupted')"
_PG_DOC = "to_tsvector('english', left(m.content, 200000))"


@dataclass(frozen=True, slots=True)
class MessageHit:
    message_id: str
    conversation_id: str
    conversation_title: str | None
    role: str
    model: str | None
    snippet: str
    score: float  # higher is better
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TitleHit:
    conversation_id: str
    title: str
    score: float
    last_message_at: datetime


@dataclass(frozen=True, slots=True)
class SearchResults:
    query: str
    titles: list[TitleHit]
    messages: list[MessageHit]


def parse_query(query: str) -> list[tuple[str, bool]]:
    """Words of the query as (word, is_prefix). Punctuation and operators are dropped."""
    terms = []
    for match in _WORD.finditer(query):
        word = match.group()
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if word:
            terms.append((word, prefix))
    return terms[:32]


def _fts5(terms: list[tuple[str, bool]]) -> str:
    return " ".join(f'"{w}"*' if prefix else f'"{w}"' for w, prefix in terms)


def _tsquery(terms: list[tuple[str, bool]]) -> str:
    return " & ".join(f"{w}:*" if prefix else w for w, prefix in terms)


class SearchService(Service):
    def search(
        self,
        user_id: str,
        query: str,
        *,
        conversation_id: str | None = None,
        role: str | None = None,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        titles: bool = True,
    ) -> SearchResults:
        terms = parse_query(query)
        if not terms:
            raise ValidationError("query", "type at least one word to search for")
        check_range("limit", limit, 1, 500)
        if role is not None:
            check_choice("role", role, enums.ROLES)
        filters, params = self._filters(user_id, conversation_id, role, model, since, until)
        params["limit"] = limit
        with self.db.read() as session:
            if self.db.dialect == "sqlite":
                params["q"] = _fts5(terms)
                message_sql = f"""
                    SELECT m.id, m.conversation_id, c.title, m.role, m.model, m.created_at,
                           snippet(messages_fts, 0, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', 16) AS snippet,
                           -messages_fts.rank AS score
                    FROM messages_fts
                    JOIN messages m ON m.rowid = messages_fts.rowid
                    JOIN conversations c ON c.id = m.conversation_id
                    WHERE messages_fts MATCH :q AND {filters}
                    ORDER BY messages_fts.rank LIMIT :limit"""
                title_sql = """
                    SELECT c.id, c.title, -conversations_fts.rank AS score, c.last_message_at
                    FROM conversations_fts JOIN conversations c ON c.rowid = conversations_fts.rowid
                    WHERE conversations_fts MATCH :q AND c.user_id = :user_id AND c.status != 'deleted'
                    ORDER BY conversations_fts.rank LIMIT :limit"""
            else:
                params["q"] = _tsquery(terms)
                message_sql = f"""
                    SELECT hit.id, hit.conversation_id, hit.title, hit.role, hit.model, hit.created_at,
                           ts_headline('english', left(hit.content, 200000), to_tsquery('english', :q),
                               'StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, MaxWords=24, MinWords=8,
                                MaxFragments=1, FragmentDelimiter=…') AS snippet,
                           hit.score
                    FROM (
                        SELECT m.id, m.conversation_id, c.title, m.role, m.model, m.created_at, m.content,
                               ts_rank({_PG_DOC}, to_tsquery('english', :q)) AS score
                        FROM messages m JOIN conversations c ON c.id = m.conversation_id
                        WHERE {_PG_DOC} @@ to_tsquery('english', :q)
                          AND m.status IN {_SEARCHABLE} AND {filters}
                        ORDER BY score DESC, m.created_at DESC LIMIT :limit
                    ) AS hit ORDER BY hit.score DESC, hit.created_at DESC"""
                title_sql = """
                    SELECT c.id, c.title, ts_rank(to_tsvector('english', coalesce(c.title, '')),
                                                  to_tsquery('english', :q)) AS score, c.last_message_at
                    FROM conversations c
                    WHERE to_tsvector('english', coalesce(c.title, '')) @@ to_tsquery('english', :q)
                      AND c.user_id = :user_id AND c.status != 'deleted'
                    ORDER BY score DESC, c.last_message_at DESC LIMIT :limit"""
            messages = [self._message_hit(row) for row in session.execute(text(message_sql), params)]
            found_titles: list[TitleHit] = []
            if titles and conversation_id is None:
                found_titles = [
                    TitleHit(r[0], r[1] or "", float(r[2]), _as_datetime(r[3]))
                    for r in session.execute(text(title_sql), {"q": params["q"], "user_id": user_id, "limit": limit})
                    if r[1]
                ]
            return SearchResults(query, found_titles, messages)

    def rebuild(self) -> None:
        """Rebuild the SQLite full-text index from the tables (after a VACUUM or repair)."""
        if self.db.dialect != "sqlite":
            return
        with self.db.write() as session:
            session.execute(text("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')"))
            session.execute(text("INSERT INTO conversations_fts(conversations_fts) VALUES ('rebuild')"))

    def _filters(self, user_id: str, conversation_id: str | None, role: str | None, model: str | None,
                 since: datetime | None, until: datetime | None) -> tuple[str, dict[str, Any]]:
        clauses = ["c.user_id = :user_id", "c.status != 'deleted'"]
        params: dict[str, Any] = {"user_id": user_id}
        if conversation_id:
            clauses.append("m.conversation_id = :conversation_id")
            params["conversation_id"] = conversation_id
        if role:
            clauses.append("m.role = :role")
            params["role"] = role
        if model:
            clauses.append("m.model = :model")
            params["model"] = model
        for name, value, op in (("since", since, ">="), ("until", until, "<")):
            if value is not None:
                if value.tzinfo is None:
                    raise ValidationError(name, "needs a timezone")
                clauses.append(f"m.created_at {op} :{name}")
                params[name] = _bind_time(self.db.dialect, value)
        return " AND ".join(clauses), params

    @staticmethod
    def _message_hit(row: Any) -> MessageHit:
        return MessageHit(
            message_id=row.id, conversation_id=row.conversation_id, conversation_title=row.title,
            role=row.role, model=row.model, snippet=row.snippet or "", score=float(row.score),
            created_at=_as_datetime(row.created_at),
        )


def _bind_time(dialect: str, value: datetime) -> Any:
    from datetime import timezone

    value = value.astimezone(timezone.utc)
    # SQLite holds UTC times as naive ISO text (see storage.types.UTCDateTime).
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else value


def _as_datetime(value: Any) -> datetime:
    from datetime import timezone

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value

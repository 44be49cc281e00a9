"""Elia's database (SQLite, ``elia.sqlite`` under Elia's data directory).

``chat(id, model, title, started_at, archived)`` and ``message(id, chat_id, role,
content, timestamp, meta, parent_id, model)``. Older versions lack ``archived``,
``parent_id`` and ``message.model`` and name the roles ``human``/``ai``; both are read.
When a chat's messages carry parent ids they form a tree and it is kept (the newest
message is the tip); otherwise the messages are one thread in time order. A leading
system message becomes the conversation's system prompt. Elia stores times without an
offset, in UTC.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from .base import (
    ImportFormatError,
    PlannedConversation,
    PlannedMessage,
    guess_provider,
    text,
    title,
    utc_from_text,
)

REQUIRED = {"chat": {"id", "model", "title", "started_at"}, "message": {"id", "chat_id", "role", "content", "timestamp"}}
ROLES = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant", "system": "system",
         "tool": "tool"}


def looks_like(tables: dict[str, set[str]]) -> bool:
    return "chat" in tables and "message" in tables and "chat_id" in tables["message"]


def plans(conn: sqlite3.Connection, tables: dict[str, set[str]]) -> Iterator[PlannedConversation | ImportFormatError]:
    for name, needed in REQUIRED.items():
        missing = needed - tables.get(name, set())
        if missing:
            raise ImportFormatError(f"the {name} table has no {', '.join(sorted(missing))} column(s)")
    archived = "archived" in tables["chat"]
    chat_columns = "id, model, title, started_at" + (", archived" if archived else "")
    extra = [c for c in ("parent_id", "model") if c in tables["message"]]
    message_columns = ", ".join(["id", "role", "content", "timestamp", *extra])
    for chat in conn.execute(f"SELECT {chat_columns} FROM chat ORDER BY started_at, id").fetchall():
        rows = conn.execute(f"SELECT {message_columns} FROM message WHERE chat_id = ? ORDER BY timestamp, id",
                            (chat[0],)).fetchall()
        try:
            yield plan(chat, rows, extra)
        except ImportFormatError as exc:
            yield ImportFormatError(f"chat {chat[0]}: {exc}")


def plan(chat: tuple[Any, ...], rows: list[tuple[Any, ...]], extra: list[str]) -> PlannedConversation:
    chat_id, model, name, started_at, *rest = chat
    started = utc_from_text(started_at, "started_at")
    if model is not None and not isinstance(model, str):
        raise ImportFormatError("model is not text")
    records = []
    for row in rows:
        message_id, role, content, stamp, *more = row
        fields = dict(zip(extra, more))
        where = f"message {message_id}"
        mapped = ROLES.get(str(role))
        if mapped is None:
            raise ImportFormatError(f"{where}: unknown role {role!r}")
        at = utc_from_text(stamp, f"{where}.timestamp") or started
        if at is None:
            raise ImportFormatError(f"{where}: has no timestamp")
        parent = fields.get("parent_id")
        records.append((str(message_id), None if parent is None else str(parent), mapped,
                        text(content, where), at, fields.get("model")))
    if not records:
        raise ImportFormatError("has no messages")
    started = started or records[0][4]
    ids = {r[0] for r in records}
    tree = any(r[1] is not None for r in records)
    if tree:
        missing = [r[0] for r in records if r[1] is not None and r[1] not in ids]
        if missing:
            raise ImportFormatError(f"message {missing[0]}: its parent is not in the chat")
        records = _parents_first(records)
    system_prompt = None
    dropped: dict[str, str | None] = {}
    if records[0][2] == "system" and (not tree or records[0][1] is None):
        system_prompt = records[0][3] or None
        dropped[records[0][0]] = None
        records = records[1:]
    messages: list[PlannedMessage] = []
    previous: str | None = None
    for ref, parent, role, content, at, message_model in records:
        parent_ref = (dropped.get(parent, parent) if parent is not None else None) if tree else previous
        used_model = message_model if isinstance(message_model, str) and role == "assistant" else None
        used_model = used_model or (model if role == "assistant" else None)
        messages.append(PlannedMessage(
            ref=ref, parent=parent_ref, role=role, content=content,
            parts=[{"type": "text", "text": content}] if content else [], created_at=at,
            model=used_model, provider=guess_provider(used_model),
        ))
        previous = ref
    if not messages:
        raise ImportFormatError("has only a system prompt")
    tip = max(messages, key=lambda m: (m.created_at, m.ref)).ref if tree else None
    return PlannedConversation(
        key=f"elia:{chat_id}", title=title(name), created_at=started, messages=messages,
        provider=guess_provider(model), model=model, system_prompt=system_prompt, tip=tip,
        archived=bool(rest[0]) if rest else False, context={"source": "import"},
        meta={"imported_from_app": "elia", "source_id": str(chat_id)},
    )


def _parents_first(records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    children: dict[str | None, list[tuple[Any, ...]]] = {}
    for record in records:
        children.setdefault(record[1], []).append(record)
    ordered: list[tuple[Any, ...]] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        record = stack.pop()
        ordered.append(record)
        stack.extend(reversed(children.get(record[0], [])))
    if len(ordered) != len(records):
        raise ImportFormatError("its messages' parent links form a loop")
    return ordered

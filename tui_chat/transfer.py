"""Export a conversation (Markdown or our JSON format) and import our JSON back.

The JSON export is the full record: the conversation, every message of the tree with
its parts and parent, and the tool executions. Anything shaped like a secret (API keys,
Authorization headers) is redacted on the way out. Importing keeps titles, times,
models and branches; importing the same export twice does not duplicate it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .logs import redact

if TYPE_CHECKING:
    from storage import Storage

FORMAT = "tui-chat.conversation"
FORMAT_VERSION = 1


class ImportFormatError(ValueError):
    pass


def _all_messages(storage: "Storage", user_id: str, conversation_id: str) -> list[Any]:
    messages: list[Any] = []
    before = None
    while True:
        page = storage.messages.page(user_id, conversation_id, before=before, limit=500)
        messages[:0] = page.items
        if not page.has_more:
            return messages
        before = page.items[0].id


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def export_json(storage: "Storage", user_id: str, conversation_id: str) -> dict[str, Any]:
    conversation = storage.conversations.get(user_id, conversation_id)
    messages = _all_messages(storage, user_id, conversation_id)
    tools: list[Any] = []
    while True:
        page = storage.tools.list(user_id, conversation_id=conversation_id, limit=1000,
                                  before_id=tools[-1].id if tools else None)
        tools += page
        if len(page) < 1000:
            break
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "conversation": dataclasses.asdict(conversation),
        "messages": [dataclasses.asdict(m) for m in messages],
        "tool_executions": [dataclasses.asdict(t) for t in tools],
    }
    return _clean(json.loads(json.dumps(payload, default=str)))


def export_markdown(storage: "Storage", user_id: str, conversation_id: str) -> str:
    conversation = storage.conversations.get(user_id, conversation_id)
    branch = storage.messages.branch(user_id, conversation_id).items
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    lines.append(f"*{conversation.provider or '-'} / {conversation.model or '-'} · "
                 f"{conversation.created_at:%Y-%m-%d %H:%M} UTC*")
    if conversation.system_prompt:
        lines += ["", "> **System:** " + conversation.system_prompt.replace("\n", "\n> ")]
    for message in branch:
        heading = {"user": "You", "assistant": "Assistant", "tool": "Tool", "system": "System"}[message.role]
        status = "" if message.status == "done" else f" *({message.status})*"
        lines += ["", f"## {heading}{status}", ""]
        for part in message.parts or []:
            if part.get("type") == "tool_call":
                lines += [f"**Tool call** `{part.get('name')}`", "```json", str(part.get("arguments")), "```", ""]
        lines.append(message.content)
    return redact("\n".join(lines).rstrip() + "\n")


def import_json(storage: "Storage", user_id: str, data: Any) -> tuple[str, bool]:
    """Import a JSON export. Returns (conversation id, created?)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportFormatError("not a tui-chat conversation export (missing \"format\": \"tui-chat.conversation\")")
    if data.get("version") != FORMAT_VERSION:
        raise ImportFormatError(f"export version {data.get('version')!r} is not supported (expected {FORMAT_VERSION})")
    conversation = data.get("conversation")
    messages = data.get("messages")
    if not isinstance(conversation, dict) or not isinstance(messages, list):
        raise ImportFormatError("the export has no conversation or messages")
    source_id = str(conversation.get("id") or "")
    existing = _find_imported(storage, user_id, source_id)
    if existing:
        return existing, False
    try:
        created = storage.conversations.create(
            user_id, title=conversation.get("title"), provider=conversation.get("provider"),
            model=conversation.get("model"), system_prompt=conversation.get("system_prompt"),
            settings=conversation.get("settings") or {}, tags=list(conversation.get("tags") or []),
            context={"source": "import"}, meta={"imported_from": source_id},
            created_at=_time(conversation.get("created_at")),
        )
        ids: dict[str, str] = {}
        for raw in sorted(messages, key=lambda m: (str(m.get("created_at")), str(m.get("id")))):
            if not isinstance(raw, dict) or raw.get("role") not in ("system", "user", "assistant", "tool"):
                raise ImportFormatError(f"message {raw.get('id') if isinstance(raw, dict) else raw!r} is malformed")
            status = raw.get("status") or "done"
            if status in ("pending", "streaming"):
                status = "interrupted"
            record = storage.messages.add(
                user_id, created.id, role=raw["role"], content=str(raw.get("content") or ""),
                parts=raw.get("parts") or [], status=status, parent_id=ids.get(raw.get("parent_id") or ""),
                provider=raw.get("provider"), model=raw.get("model"), token_count=raw.get("token_count"),
                finish_reason=raw.get("finish_reason"), meta=raw.get("meta") or {},
                content_type=raw.get("content_type") or "text", created_at=_time(raw.get("created_at")),
            )
            ids[str(raw.get("id"))] = record.id
        tip = conversation.get("current_message_id")
        if tip in ids:
            storage.messages.switch_branch(user_id, ids[tip])
    except ImportFormatError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportFormatError(f"the export is malformed: {exc}") from exc
    return created.id, True


def _find_imported(storage: "Storage", user_id: str, source_id: str) -> str | None:
    if not source_id:
        return None
    for status in ("active", "archived", "deleted"):
        cursor = None
        while True:
            page = storage.conversations.list(user_id, status=status, limit=500, cursor=cursor)
            for conversation in page.items:
                if conversation.meta.get("imported_from") == source_id or conversation.id == source_id:
                    return conversation.id
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no timezone")
    return parsed

"""simonw's ``llm`` logs database (``llm logs path``; SQLite).

``conversations(id, name, model)`` and ``responses(id, model, prompt, system, response,
conversation_id, datetime_utc, input_tokens, output_tokens, duration_ms, ...)``: each
response is one exchange, the user's prompt and the model's reply, in time order. The
first system prompt becomes the conversation's; a later, different one is kept on the
prompt it came with. Token counts and durations go into the reply's metadata (they are
history, not spending in tui-chat, so no usage rows are written). Columns added by later
versions of ``llm`` (tokens, resolved model) are used when present.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
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

REQUIRED = {"responses": {"id", "model", "prompt", "response", "conversation_id", "datetime_utc"},
            "conversations": {"id", "name", "model"}}


def looks_like(tables: dict[str, set[str]]) -> bool:
    return all(name in tables for name in REQUIRED)


def plans(conn: sqlite3.Connection, tables: dict[str, set[str]]) -> Iterator[PlannedConversation | ImportFormatError]:
    for name, needed in REQUIRED.items():
        missing = needed - tables.get(name, set())
        if missing:
            raise ImportFormatError(f"the {name} table has no {', '.join(sorted(missing))} column(s)")
    columns = tables["responses"]
    optional = [c for c in ("system", "input_tokens", "output_tokens", "duration_ms", "resolved_model") if c in columns]
    select = ", ".join(["id", "model", "prompt", "response", "datetime_utc", *optional])
    conversations = {
        row[0]: (row[1], row[2])
        for row in conn.execute("SELECT id, name, model FROM conversations ORDER BY id")
    }
    groups = [str(row[0]) if row[0] is not None else None for row in conn.execute(
        "SELECT conversation_id, MIN(datetime_utc) AS first FROM responses GROUP BY conversation_id ORDER BY first")]
    for group in groups:
        if group is None:  # responses logged without a conversation: one conversation each
            rows = conn.execute(f"SELECT {select} FROM responses WHERE conversation_id IS NULL "
                                "ORDER BY datetime_utc, id").fetchall()
            for row in rows:
                yield _attempt(f"response {row[0]}", lambda row=row: plan(f"response-{row[0]}", None, None, [row], optional))
            continue
        rows = conn.execute(f"SELECT {select} FROM responses WHERE conversation_id = ? ORDER BY datetime_utc, id",
                            (group,)).fetchall()
        name, model = conversations.get(group, (None, None))
        yield _attempt(f"conversation {group}", lambda: plan(group, name, model, rows, optional))


def _attempt(label: str, make: Any) -> PlannedConversation | ImportFormatError:
    try:
        return make()
    except ImportFormatError as exc:
        return ImportFormatError(f"{label}: {exc}")


def plan(ident: str, name: Any, model: Any, rows: list[tuple[Any, ...]], optional: list[str]) -> PlannedConversation:
    if not rows:
        raise ImportFormatError("has no responses")
    system_prompt: str | None = None
    messages: list[PlannedMessage] = []
    previous: str | None = None
    started = None
    for row in rows:
        response_id, row_model, prompt, reply, stamp, *rest = row
        extra = dict(zip(optional, rest))
        where = f"response {response_id}"
        at = utc_from_text(stamp, f"{where}.datetime_utc")
        if at is None:
            raise ImportFormatError(f"{where}: has no datetime_utc")
        started = started or at
        used_model = extra.get("resolved_model") or row_model
        if used_model is not None and not isinstance(used_model, str):
            raise ImportFormatError(f"{where}: model is not text")
        prompt_meta: dict[str, Any] = {}
        system = text(extra.get("system"), f"{where}.system") or None
        if system and system_prompt is None and not messages:
            system_prompt = system
        elif system and system != system_prompt:
            prompt_meta["system"] = system
        prompt_text = text(prompt, f"{where}.prompt")
        if prompt_text:
            ref = f"{response_id}:prompt"
            messages.append(PlannedMessage(ref=ref, parent=previous, role="user", content=prompt_text,
                                           parts=[{"type": "text", "text": prompt_text}], created_at=at,
                                           meta=prompt_meta))
            previous = ref
        reply_text = text(reply, f"{where}.response")
        if reply_text:
            usage = {k: extra[k] for k in ("input_tokens", "output_tokens") if isinstance(extra.get(k), int)}
            meta: dict[str, Any] = {"usage": usage} if usage else {}
            duration = extra.get("duration_ms")
            if isinstance(duration, int) and duration >= 0:
                meta["response_ms"] = duration
            ref = f"{response_id}:response"
            messages.append(PlannedMessage(
                ref=ref, parent=previous, role="assistant", content=reply_text,
                parts=[{"type": "text", "text": reply_text}],
                created_at=at + timedelta(milliseconds=meta.get("response_ms", 0)),
                model=used_model, provider=guess_provider(used_model), meta=meta,
            ))
            previous = ref
    if not messages:
        raise ImportFormatError("has no prompts or responses with text")
    if model is not None and not isinstance(model, str):
        raise ImportFormatError("conversation model is not text")
    model = model or next((m.model for m in reversed(messages) if m.model), None)
    assert started is not None
    return PlannedConversation(
        key=f"llm:{ident}", title=title(name), created_at=started, messages=messages,
        provider=guess_provider(model), model=model, system_prompt=system_prompt, context={"source": "import"},
        meta={"imported_from_app": "llm", "source_id": ident},
    )

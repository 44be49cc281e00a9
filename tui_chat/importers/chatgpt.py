"""ChatGPT's data export: ``conversations.json`` (alone or inside the export's .zip).

The file is a list of conversations. Each has ``title``, ``create_time`` (epoch seconds),
an id (``conversation_id`` or ``id``), ``current_node`` and ``mapping``: node id ->
``{message, parent, children}``, a tree, because every edit or regeneration in ChatGPT
starts a new branch. All branches are kept and ``current_node`` becomes the tip.

Nodes without a message (the root), hidden system messages and empty placeholders are
left out; their children hang from the nearest message that is kept. Message content
comes in several shapes (``content_type``): plain text parts, multimodal parts (images
become a note, the export holds no image data), code, execution output, browsing quotes
and reasoning summaries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import (
    ImportFormatError,
    PlannedConversation,
    PlannedMessage,
    text,
    title,
    utc_from_epoch,
)

ROLES = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool"}


def looks_like(data: Any) -> bool:
    return isinstance(data, list) and any(isinstance(item, dict) and "mapping" in item for item in data[:20])


def plans(data: Any) -> Iterator[PlannedConversation | ImportFormatError]:
    if not isinstance(data, list):
        raise ImportFormatError("a ChatGPT export is a list of conversations")
    for position, item in enumerate(data, start=1):
        try:
            yield plan(item)
        except ImportFormatError as exc:
            name = item.get("title") if isinstance(item, dict) else None
            label = f"conversation #{position}" + (f" ({name!r})" if isinstance(name, str) else "")
            yield ImportFormatError(f"{label}: {exc}")


def _content(message: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """(text, extra parts, extra meta) of one ChatGPT message."""
    content = message.get("content")
    if content is None:
        return "", [], {}
    if not isinstance(content, dict):
        raise ImportFormatError(f"{where}: content is not an object")
    kind = content.get("content_type")
    meta: dict[str, Any] = {"chatgpt_content_type": kind} if kind not in (None, "text") else {}
    if kind == "code":
        body = text(content.get("text"), where)
        language = content.get("language") if isinstance(content.get("language"), str) else ""
        language = "" if language == "unknown" else language
        return f"```{language}\n{body}\n```" if body else "", [], meta
    if kind in ("execution_output", "tether_quote", "system_error"):
        pieces = [content.get("title"), content.get("url"), content.get("text")]
        return "\n".join(text(p, where) for p in pieces if isinstance(p, str) and p), [], meta
    if kind == "tether_browsing_display":
        return text(content.get("result"), where), [], meta
    if kind == "thoughts":
        thoughts = content.get("thoughts") or []
        joined = "\n\n".join(
            "\n".join(str(t.get(k)) for k in ("summary", "content") if isinstance(t, dict) and t.get(k))
            for t in thoughts if isinstance(t, dict)
        )
        return "", ([{"type": "reasoning", "text": joined}] if joined else []), meta
    if kind == "reasoning_recap":
        return "", [], meta  # "Thought for 12 seconds": nothing to keep
    parts = content.get("parts")
    if parts is None:
        return text(content.get("text"), where), [], meta
    if not isinstance(parts, list):
        raise ImportFormatError(f"{where}: content.parts is not a list")
    pieces: list[str] = []
    omitted: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict):
            if isinstance(part.get("text"), str):
                pieces.append(part["text"])
            else:
                kind_of_part = str(part.get("content_type") or "attachment")
                omitted.append(str(part.get("asset_pointer") or kind_of_part))
                pieces.append(f"[{kind_of_part.replace('_', ' ')} not included in the export]")
        elif part is not None:
            raise ImportFormatError(f"{where}: a content part is {type(part).__name__}")
    if omitted:
        meta["chatgpt_assets"] = omitted
    return text("\n".join(pieces), where), [], meta


def _hidden(message: dict[str, Any]) -> bool:
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    return bool(metadata.get("is_visually_hidden_from_conversation"))


def plan(item: Any) -> PlannedConversation:
    if not isinstance(item, dict):
        raise ImportFormatError("is not an object")
    ident = item.get("conversation_id") or item.get("id")
    if not isinstance(ident, str) or not ident:
        raise ImportFormatError("has no id")
    mapping = item.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        raise ImportFormatError("has no message tree (mapping)")
    started = utc_from_epoch(item.get("create_time"), "create_time")
    if started is None:
        raise ImportFormatError("has no create_time")

    def parent_of(node_id: str) -> str | None:
        node = mapping.get(node_id)
        parent = node.get("parent") if isinstance(node, dict) else None
        return parent if isinstance(parent, str) and parent in mapping else None

    # Walk from the roots, parents before children; guard against cycles.
    children: dict[str | None, list[str]] = {}
    for node_id, node in mapping.items():
        if not isinstance(node, dict):
            raise ImportFormatError(f"node {node_id} is not an object")
        children.setdefault(parent_of(node_id), []).append(node_id)
    order: list[str] = []
    seen: set[str] = set()
    stack = list(reversed(children.get(None, [])))
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        order.append(node_id)
        stack.extend(reversed(children.get(node_id, [])))

    kept: dict[str, str | None] = {}  # node id -> the kept node it maps to
    messages: list[PlannedMessage] = []
    times = {}
    models: list[str] = []
    for node_id in order:
        parent = parent_of(node_id)
        anchor = kept.get(parent) if parent is not None else None
        message = mapping[node_id].get("message")
        if not isinstance(message, dict):
            kept[node_id] = anchor
            continue
        where = f"message {node_id}"
        author = message.get("author") if isinstance(message.get("author"), dict) else {}
        role = ROLES.get(str(author.get("role")))
        if role is None:
            raise ImportFormatError(f"{where}: unknown author role {author.get('role')!r}")
        body, parts, meta = _content(message, where)
        if (not body and not parts) or _hidden(message):
            kept[node_id] = anchor
            continue
        created = utc_from_epoch(message.get("create_time"), f"{where}.create_time")
        created = created or times.get(anchor) or started
        metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
        model = metadata.get("model_slug") if isinstance(metadata.get("model_slug"), str) else None
        if role == "assistant" and model:
            models.append(model)
        if role == "tool" and isinstance(author.get("name"), str):
            meta["tool_name"] = author["name"]
        messages.append(PlannedMessage(
            ref=node_id, parent=anchor, role=role, content=body,
            parts=[{"type": "text", "text": body}, *parts] if body else parts,
            created_at=created, model=model if role == "assistant" else None,
            provider="openai" if role == "assistant" else None, meta=meta,
        ))
        kept[node_id] = node_id
        times[node_id] = created
    if not messages:
        raise ImportFormatError("has no messages")
    current = item.get("current_node")
    tip = kept.get(current) if isinstance(current, str) else None
    default_model = item.get("default_model_slug")
    if not isinstance(default_model, str) or default_model in ("", "auto"):
        default_model = models[-1] if models else None
    return PlannedConversation(
        key=f"chatgpt:{ident}", title=title(item.get("title")), created_at=started, messages=messages,
        provider="openai", model=default_model,
        tip=tip, archived=bool(item.get("is_archived")), context={"source": "import"},
        meta={"imported_from_app": "chatgpt", "source_id": ident},
    )

"""Our own files: the JSON export (``tui-chat.conversation``) and the share bundle
(``tui-chat.share``: that export plus the share's token, permission and expiry).

A share bundle is imported as a shared conversation: ``meta["shared"]`` says who shared
it, with which permission and until when, and ``read_only`` is true unless the share
grants write. Before importing, the bundle's own expiry and recipient are checked; when
the share row is in this database (a shared PostgreSQL, or the same machine) the token
is also resolved there, which enforces revocation and the access limit and counts the
access. A bundle carried to another machine is a copy: only its expiry and recipient
can be checked there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from storage import enums

from .base import (
    ImportFormatError,
    ImportIndex,
    ImportReport,
    PlannedConversation,
    PlannedMessage,
    text,
    title,
    utc_from_text,
    write_plan,
)

if TYPE_CHECKING:
    from storage import Storage
    from storage.services.users import UserRecord

EXPORT_FORMAT = "tui-chat.conversation"
EXPORT_VERSION = 1
BUNDLE_FORMAT = "tui-chat.share"
BUNDLE_VERSION = 1


class ShareRefused(Exception):
    """The share may not be used: expired, revoked, used up, or meant for someone else."""


def is_export(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == EXPORT_FORMAT


def is_bundle(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == BUNDLE_FORMAT


def _parents_first(raw_messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages ordered so every parent comes before its children (time order among
    siblings); a message whose parent is not in the export becomes a root."""
    ordered_in_time = sorted(raw_messages, key=lambda m: (str(m.get("created_at")), str(m.get("id"))))
    ids = {str(m.get("id")) for m in ordered_in_time}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for message in ordered_in_time:
        parent = message.get("parent_id")
        children.setdefault(str(parent) if parent is not None and str(parent) in ids else None, []).append(message)
    result: list[dict[str, Any]] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        message = stack.pop()
        result.append(message)
        stack.extend(reversed(children.get(str(message.get("id")), [])))
    return result


def plan_from_export(data: Any) -> PlannedConversation:
    """A plan from our JSON export (checked, nothing written)."""
    if not is_export(data):
        raise ImportFormatError(f"not a tui-chat conversation export (missing \"format\": \"{EXPORT_FORMAT}\")")
    if data.get("version") != EXPORT_VERSION:
        raise ImportFormatError(f"export version {data.get('version')!r} is not supported (expected {EXPORT_VERSION})")
    conversation, raw_messages = data.get("conversation"), data.get("messages")
    if not isinstance(conversation, dict) or not isinstance(raw_messages, list):
        raise ImportFormatError("the export has no conversation or messages")
    for raw in raw_messages:
        if not isinstance(raw, dict) or raw.get("role") not in enums.ROLES:
            raise ImportFormatError(f"message {raw.get('id') if isinstance(raw, dict) else raw!r} is malformed")
    source_id = str(conversation.get("id") or "")
    started = utc_from_text(conversation.get("created_at"), "conversation.created_at")
    messages: list[PlannedMessage] = []
    refs: set[str] = set()
    for raw in _parents_first(raw_messages):
        ref = str(raw.get("id"))
        where = f"message {ref}"
        status = raw.get("status") or "done"
        parts = raw.get("parts") or []
        meta = raw.get("meta") or {}
        if not isinstance(parts, list) or not isinstance(meta, dict):
            raise ImportFormatError(f"{where}: parts or meta malformed")
        at = utc_from_text(raw.get("created_at"), f"{where}.created_at") or started
        if at is None:
            raise ImportFormatError(f"{where}: has no created_at")
        parent = str(raw["parent_id"]) if raw.get("parent_id") is not None else None
        messages.append(PlannedMessage(
            ref=ref, parent=parent if parent in refs else None, role=raw["role"],
            content=text(raw.get("content"), where), parts=parts,
            status="interrupted" if status in ("pending", "streaming") else status,
            created_at=at, model=raw.get("model"), provider=raw.get("provider"),
            token_count=raw.get("token_count"), finish_reason=raw.get("finish_reason"), meta=meta,
            content_type=raw.get("content_type") or "text",
        ))
        refs.add(ref)
    if started is None:
        started = messages[0].created_at if messages else None
    if started is None:
        raise ImportFormatError("the export has no creation time")
    tip = conversation.get("current_message_id")
    digest = hashlib.sha256(json.dumps(raw_messages, sort_keys=True, default=str).encode()).hexdigest()[:32]
    settings, tags = conversation.get("settings") or {}, conversation.get("tags") or []
    if not isinstance(settings, dict) or not isinstance(tags, list):
        raise ImportFormatError("the conversation's settings or tags are malformed")
    return PlannedConversation(
        key=f"tui-chat:{source_id or 'sha256:' + digest}", title=title(conversation.get("title")),
        created_at=started, messages=messages, provider=conversation.get("provider"),
        model=conversation.get("model"), system_prompt=conversation.get("system_prompt"),
        tip=str(tip) if tip is not None and str(tip) in refs else None, settings=settings,
        tags=[str(t) for t in tags], context={"source": "import"},
        meta={"imported_from": source_id} if source_id else {},
    )


def import_export(storage: "Storage", user_id: str, data: Any) -> tuple[str, bool]:
    """Import our JSON export: (conversation id, created?). Importing it again, or into
    the database it came from, finds the conversation already there."""
    plan = plan_from_export(data)
    index = ImportIndex(storage, user_id)
    source_id = plan.meta.get("imported_from")
    existing = index.find(plan.key) or (source_id if source_id in index.ids else None)
    if existing:
        return existing, False
    return write_plan(storage, user_id, plan, index), True


def _share_fields(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("version") != BUNDLE_VERSION:
        raise ImportFormatError(f"share bundle version {data.get('version')!r} is not supported")
    share = data.get("share")
    if not isinstance(share, dict) or not all(isinstance(share.get(k), str) for k in ("id", "token", "permission")):
        raise ImportFormatError("the share bundle has no share id, token or permission")
    if share["permission"] not in enums.SHARE_PERMISSIONS:
        raise ImportFormatError(f"unknown share permission {share['permission']!r}")
    return share


def import_bundle(storage: "Storage", user: "UserRecord", data: Any) -> ImportReport:
    """Import a share bundle as a shared conversation, or raise :class:`ShareRefused`."""
    from storage import PermissionDenied
    from storage.types import utcnow

    from ..transfer import share_known_here

    share = _share_fields(data)
    expires = utc_from_text(share.get("expires_at"), "share.expires_at")
    if expires is not None and expires <= utcnow():
        raise ShareRefused(f"this share expired on {expires:%Y-%m-%d %H:%M} UTC")
    recipient = share.get("shared_with")
    if recipient and recipient != user.identity:
        raise ShareRefused(f"this conversation was shared with {recipient}, not with {user.identity}")
    report = ImportReport("tui-chat share bundle")
    key = f"share:{share['id']}"
    index = ImportIndex(storage, user.id)
    if index.find(key):
        report.skipped.append(key)
        return report
    plan = plan_from_export(data.get("conversation"))
    permission = share["permission"]
    try:
        grant = storage.shares.resolve(share["token"], accessing_user_id=user.id)
    except PermissionDenied as exc:
        if share_known_here(storage, share["id"], plan.meta.get("imported_from")):
            raise ShareRefused(str(exc)) from None
        grant = None  # made in another database: the bundle is all there is
    if grant is not None and grant.permission == "owner":
        report.skipped.append(grant.conversation_id)  # your own conversation: nothing to import
        return report
    if grant is not None:
        permission = grant.permission
    read_only = permission == "read"
    plan.key = key
    plan.meta = {**plan.meta, "shared": {
        "share_id": share["id"], "permission": permission, "read_only": read_only,
        "owner": share.get("owner"), "expires_at": share.get("expires_at"),
        "conversation_id": plan.meta.get("imported_from"),
    }}
    plan.meta.pop("imported_from", None)  # a shared copy is not "the same conversation"
    plan.context = {"source": "share", "read_only": read_only}
    report.created.append(write_plan(storage, user.id, plan, index))
    return report

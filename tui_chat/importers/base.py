"""What every importer produces (a plan per conversation) and how a plan is written.

An importer reads its source into :class:`PlannedConversation` objects: pure data, fully
checked before anything is written, so a malformed conversation fails before it touches
the database. :func:`write_plan` then stores one plan as one unit: if any write fails
the conversation is removed again, so nothing is left half-imported.

Each plan carries a source key (``chatgpt:<id>``, ``llm:<id>``, ``elia:<id>``,
``share:<id>``, ``tui-chat:<id>``), stored in the conversation's ``meta["import_key"]``
once the last message is in. :class:`ImportIndex` finds those keys, so importing the
same file twice skips what is already there. A conversation whose import was cut short
(the process killed between writes) carries ``meta["import_pending"]`` instead and is
replaced by the next import of that key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from storage import enums

if TYPE_CHECKING:
    from storage import Storage


class ImportFormatError(ValueError):
    """The file, or one conversation in it, is not in the expected format."""


@dataclass
class PlannedMessage:
    ref: str  # the source's id, unique within the conversation
    parent: str | None  # ref of the parent (None: a root)
    role: str
    content: str
    created_at: datetime
    parts: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    provider: str | None = None
    status: str = "done"
    content_type: str = "text"
    token_count: int | None = None
    finish_reason: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedConversation:
    key: str
    title: str | None
    created_at: datetime
    messages: list[PlannedMessage]  # parents before children
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    tip: str | None = None  # ref of the branch tip (default: the last message)
    archived: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    source: str  # the detected format, for people
    created: list[str] = field(default_factory=list)  # new conversation ids
    skipped: list[str] = field(default_factory=list)  # keys already imported
    failed: list[str] = field(default_factory=list)  # "which conversation: what is wrong"

    def summary(self) -> str:
        text = f"{self.source}: imported {len(self.created)} conversation(s), skipped {len(self.skipped)} already imported"
        if self.failed:
            text += f", {len(self.failed)} malformed (not imported)"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.source, "created": self.created, "skipped": self.skipped,
                "failed": self.failed}


# --- checking values ---------------------------------------------------------------

def utc_from_epoch(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImportFormatError(f"{where}: {value!r} is not a time in epoch seconds")
    try:
        return datetime.fromtimestamp(float(value), timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ImportFormatError(f"{where}: {value!r} is not a valid time") from None


def utc_from_text(value: Any, where: str) -> datetime | None:
    """An ISO time; one without an offset is taken as UTC (what SQLite tools store)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ImportFormatError(f"{where}: {value!r} is not a time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def text(value: Any, where: str, *, limit: int = enums.MAX_MESSAGE_LENGTH) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ImportFormatError(f"{where}: expected text, found {type(value).__name__}")
    if len(value) > limit:
        raise ImportFormatError(f"{where}: longer than {limit:,} characters")
    return value


def title(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[: enums.MAX_TITLE_LENGTH].strip() or None


def guess_provider(model: str | None) -> str | None:
    """The provider a model name belongs to, when the name says so."""
    if not model:
        return None
    name = model.lower().split("/")[-1]
    if name.startswith("claude"):
        return "anthropic"
    if name.startswith(("gpt-", "gpt4", "chatgpt", "o1", "o3", "o4", "text-davinci")):
        return "openai"
    return None


def check_plan(plan: PlannedConversation) -> None:
    """Everything the writer relies on: roles, statuses, parents before children."""
    seen: set[str] = set()
    for message in plan.messages:
        where = f"message {message.ref}"
        if message.role not in enums.ROLES:
            raise ImportFormatError(f"{where}: unknown role {message.role!r}")
        if message.status not in enums.FINAL_MESSAGE_STATUSES:
            raise ImportFormatError(f"{where}: unknown status {message.status!r}")
        if message.ref in seen:
            raise ImportFormatError(f"{where}: appears twice")
        if message.parent is not None and message.parent not in seen:
            raise ImportFormatError(f"{where}: its parent {message.parent} is missing or comes later")
        if message.created_at.tzinfo is None:
            raise ImportFormatError(f"{where}: time has no timezone")
        text(message.content, where)
        seen.add(message.ref)
    if plan.tip is not None and plan.tip not in seen:
        raise ImportFormatError(f"the current message {plan.tip} is not in the conversation")
    if plan.system_prompt is not None and len(plan.system_prompt) > enums.MAX_SYSTEM_PROMPT_LENGTH:
        raise ImportFormatError("the system prompt is too long")


# --- finding what was imported before ----------------------------------------------

class ImportIndex:
    """The user's conversations by source key, read once per import run."""

    def __init__(self, storage: "Storage", user_id: str) -> None:
        self.done: dict[str, str] = {}
        self.pending: dict[str, list[str]] = {}
        self.ids: set[str] = set()
        for status in enums.CONVERSATION_STATUSES:
            cursor = None
            while True:
                page = storage.conversations.list(user_id, status=status, limit=500, cursor=cursor)
                for conversation in page.items:
                    self._add(conversation.id, conversation.meta or {})
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor

    def _add(self, conversation_id: str, meta: dict[str, Any]) -> None:
        self.ids.add(conversation_id)
        if meta.get("import_key"):
            self.done.setdefault(str(meta["import_key"]), conversation_id)
        elif meta.get("import_pending"):
            self.pending.setdefault(str(meta["import_pending"]), []).append(conversation_id)
        if meta.get("imported_from"):  # our JSON export, imported before source keys existed
            self.done.setdefault(f"tui-chat:{meta['imported_from']}", conversation_id)

    def find(self, key: str) -> str | None:
        return self.done.get(key)


def write_plan(storage: "Storage", user_id: str, plan: PlannedConversation, index: ImportIndex | None = None) -> str:
    """Store one planned conversation; on any failure remove it again and re-raise."""
    check_plan(plan)
    for stale in (index.pending.pop(plan.key, []) if index else []):
        storage.conversations.purge(user_id, stale)  # left by an import that was cut short
    conversation = storage.conversations.create(
        user_id, title=plan.title, provider=plan.provider, model=plan.model, system_prompt=plan.system_prompt,
        settings=plan.settings, tags=plan.tags, context=plan.context,
        meta={**plan.meta, "import_pending": plan.key}, created_at=plan.created_at,
    )
    try:
        ids: dict[str, str] = {}
        for message in plan.messages:
            record = storage.messages.add(
                user_id, conversation.id, role=message.role, content=message.content, parts=message.parts,
                status=message.status, parent_id=ids[message.parent] if message.parent is not None else None,
                provider=message.provider, model=message.model, token_count=message.token_count,
                finish_reason=message.finish_reason, meta=message.meta, content_type=message.content_type,
                created_at=message.created_at,
            )
            ids[message.ref] = record.id
        if plan.tip is not None:
            storage.messages.switch_branch(user_id, ids[plan.tip])
        if plan.archived:
            storage.conversations.archive(user_id, conversation.id)
        storage.conversations.update(user_id, conversation.id, meta={**plan.meta, "import_key": plan.key})
    except BaseException as exc:
        try:
            storage.conversations.purge(user_id, conversation.id)
        except Exception as cleanup:  # the database went away: say both
            raise cleanup from exc
        raise
    if index is not None:
        index.done[plan.key] = conversation.id
        index.ids.add(conversation.id)
    return conversation.id


def import_plans(storage: "Storage", user_id: str, source: str, plans: Any) -> ImportReport:
    """Write every plan from ``plans`` (an iterable of plans or of ImportFormatError
    for conversations that could not be read), each in its own unit."""
    report = ImportReport(source)
    index = ImportIndex(storage, user_id)
    for plan in plans:
        if isinstance(plan, ImportFormatError):
            report.failed.append(str(plan))
            continue
        if index.find(plan.key):
            report.skipped.append(plan.key)
            continue
        try:
            report.created.append(write_plan(storage, user_id, plan, index))
        except ImportFormatError as exc:
            report.failed.append(f"{plan.key}: {exc}")
        except Exception as exc:
            from storage import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            report.failed.append(f"{plan.key}: {exc}")
    return report

"""Prompt templates: saved system prompts ("roles") with a default model and settings.

Names are unique per user, ignoring case. At most one template is the default; making
one the default clears the others. Settings are validated like a conversation's (by
:func:`storage.services.base.check_generation_settings`): temperature 0-2, top_p 0-1,
frequency/presence penalty -2..2, max_tokens 1 up to :data:`storage.enums.MAX_OUTPUT_TOKENS`,
stop sequences, reasoning effort, seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from .. import enums
from ..errors import Conflict, NotFound, ValidationError
from ..models import PromptTemplate, User
from ..types import utcnow
from .base import Service, check_generation_settings, check_length, to_record

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    id: str
    name: str
    description: str | None
    system_prompt: str
    provider: str | None
    model: str | None
    settings: dict[str, Any]
    is_default: bool
    created_at: datetime
    updated_at: datetime


def check_settings(settings: Any) -> dict[str, Any]:
    """Generation settings validated exactly like a conversation's; ``None`` values are
    dropped (they mean "use the default")."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ValidationError("settings", f"must be a mapping, not {type(settings).__name__}")
    return check_generation_settings(settings)


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise ValidationError("name", "must be text")
    name = " ".join(name.split())
    return check_length("name", name, MAX_NAME_LENGTH, required=True) or name


def _check_prompt(prompt: Any) -> str:
    if not isinstance(prompt, str):
        raise ValidationError("system_prompt", "must be text")
    return check_length("system_prompt", prompt, enums.MAX_SYSTEM_PROMPT_LENGTH, required=True) or prompt


def _record(row: PromptTemplate) -> TemplateRecord:
    return to_record(TemplateRecord, row, settings=dict(row.settings or {}))


class PromptTemplateService(Service):
    def add(
        self,
        user_id: str,
        name: str,
        system_prompt: str,
        *,
        description: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        is_default: bool = False,
    ) -> TemplateRecord:
        name = _check_name(name)
        _check_prompt(system_prompt)
        check_length("description", description, MAX_DESCRIPTION_LENGTH)
        check_length("provider", provider, 100)
        check_length("model", model, 200)
        clean = check_settings(settings)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            self._check_unique(session, user_id, name)
            if is_default:
                self._clear_default(session, user_id)
            row = PromptTemplate(
                user_id=user_id, name=name, description=description, system_prompt=system_prompt,
                provider=provider, model=model, settings=clean, is_default=bool(is_default),
            )
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, user_id: str, template_id: str) -> TemplateRecord:
        with self.db.read() as session:
            return _record(self._row(session, user_id, template_id))

    def get_by_name(self, user_id: str, name: str) -> TemplateRecord:
        """The template called ``name`` (ignoring case)."""
        with self.db.read() as session:
            template_id = self._named(session, user_id, name)
            if template_id is None:
                raise NotFound("prompt template", name)
            return _record(self._row(session, user_id, template_id))

    def default(self, user_id: str) -> TemplateRecord | None:
        with self.db.read() as session:
            row = session.scalars(
                select(PromptTemplate).where(PromptTemplate.user_id == user_id, PromptTemplate.is_default.is_(True))
            ).first()
            return _record(row) if row is not None else None

    def list(self, user_id: str) -> list[TemplateRecord]:
        """The default first, then by name (ignoring case)."""
        with self.db.read() as session:
            rows = session.scalars(select(PromptTemplate).where(PromptTemplate.user_id == user_id)).all()
            records = [_record(row) for row in rows]
        return sorted(records, key=lambda t: (not t.is_default, t.name.casefold(), t.id))

    def update(
        self,
        user_id: str,
        template_id: str,
        *,
        name: str = _UNSET,
        system_prompt: str = _UNSET,
        description: str | None = _UNSET,
        provider: str | None = _UNSET,
        model: str | None = _UNSET,
        settings: dict[str, Any] = _UNSET,
        is_default: bool = _UNSET,
    ) -> TemplateRecord:
        """Change some fields (omitted ones stay; ``None`` clears an optional one)."""
        changes: dict[str, Any] = {}
        if name is not _UNSET:
            changes["name"] = _check_name(name)
        if system_prompt is not _UNSET:
            changes["system_prompt"] = _check_prompt(system_prompt)
        for field, value, limit in (("description", description, MAX_DESCRIPTION_LENGTH),
                                    ("provider", provider, 100), ("model", model, 200)):
            if value is not _UNSET:
                changes[field] = check_length(field, value, limit)
        if settings is not _UNSET:
            changes["settings"] = check_settings(settings)
        if is_default is not _UNSET and not isinstance(is_default, bool):
            raise ValidationError("is_default", "must be true or false")
        with self.db.write() as session:
            row = self._row(session, user_id, template_id)
            if "name" in changes and changes["name"].casefold() != row.name.casefold():
                self._check_unique(session, user_id, changes["name"])
            if is_default is True and not row.is_default:
                self._clear_default(session, user_id)
            if is_default is not _UNSET:
                changes["is_default"] = is_default
            for field, value in changes.items():
                setattr(row, field, value)
            row.updated_at = utcnow()
            session.flush()
            return _record(row)

    def remove(self, user_id: str, template_id: str) -> None:
        with self.db.write() as session:
            session.delete(self._row(session, user_id, template_id))

    @staticmethod
    def _named(session: Any, user_id: str, name: str) -> str | None:
        """The id of the user's template called ``name``, ignoring case (compared in
        Python: SQLite's lower() only folds ASCII)."""
        wanted = " ".join(str(name).split()).casefold()
        rows = session.execute(
            select(PromptTemplate.id, PromptTemplate.name).where(PromptTemplate.user_id == user_id)
        ).all()
        return next((row_id for row_id, row_name in rows if row_name.casefold() == wanted), None)

    def _check_unique(self, session: Any, user_id: str, name: str) -> None:
        if self._named(session, user_id, name) is not None:
            raise Conflict(f"a prompt template named {name!r} already exists")

    @staticmethod
    def _clear_default(session: Any, user_id: str) -> None:
        session.execute(
            update(PromptTemplate)
            .where(PromptTemplate.user_id == user_id, PromptTemplate.is_default.is_(True))
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )

    @staticmethod
    def _row(session: Any, user_id: str, template_id: str) -> PromptTemplate:
        row = session.scalars(
            select(PromptTemplate).where(PromptTemplate.id == template_id, PromptTemplate.user_id == user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("prompt template", template_id)
        return row

"""Approval rules and auto-approval settings (seed 002).

This module stores rules and selects the ones in force for a context; matching a tool
call against patterns is the policy engine's job (``tui_chat.tools``). A rule applies:

- ``global``: everywhere;
- ``project``: in its directory and every directory below it (a rule for ``/a`` applies
  in ``/a/b``, not in ``/ab``);
- ``conversation``: in that conversation only.

Rules are never selected across contexts: a conversation rule is only returned when
that conversation is asked about, so it cannot leak into another one.
"""

from __future__ import annotations

import ntpath
import posixpath
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from .. import enums
from ..errors import NotFound, ValidationError
from ..models import ApprovalRule, AutoApprovalSettings, Conversation, User
from ..types import utcnow
from .base import Service, check_choice, check_length, to_record

MAX_PATTERN_LENGTH = 200
MAX_ARGUMENT_PATTERN_LENGTH = 4000
MAX_NOTE_LENGTH = 2000
MAX_PROJECT_PATH = 4096
MAX_COST_SETTING = Decimal("1000000")
_BOOL_SETTINGS = ("read_only_operations", "low_risk_operations", "require_approval_for_new_tools")
_MONEY_SETTINGS = ("max_cost_per_tool", "max_cost_per_hour")


@dataclass(frozen=True, slots=True)
class RuleRecord:
    id: str
    action: str
    tool_pattern: str
    argument_pattern: str | None
    scope: str
    conversation_id: str | None
    project_path: str | None
    expires_at: datetime | None
    source: str
    note: str | None
    is_active: bool
    created_at: datetime
    #: Computed when read: the rule had an expiry and it has passed.
    is_expired: bool


@dataclass(frozen=True, slots=True)
class ApprovalSettingsRecord:
    read_only_operations: bool
    low_risk_operations: bool
    #: tool name -> "allow" | "ask" | "deny"
    specific_tools: dict[str, str]
    max_cost_per_tool: Decimal
    max_cost_per_hour: Decimal
    require_approval_for_new_tools: bool
    updated_at: datetime


def _rule_record(row: ApprovalRule, now: datetime) -> RuleRecord:
    expired = row.expires_at is not None and row.expires_at <= now
    return to_record(RuleRecord, row, is_expired=expired)


def normalize_project_path(path: str) -> str:
    """An absolute, normalised directory path (POSIX or Windows)."""
    check_length("project_path", path, MAX_PROJECT_PATH, required=True)
    if "\x00" in path:
        raise ValidationError("project_path", "must not contain NUL characters")
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    if ntpath.isabs(path) and ntpath.splitdrive(path)[0]:
        return ntpath.normpath(path)
    raise ValidationError("project_path", f"{path!r} is not an absolute path")


def path_within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both normalised)."""
    if ntpath.splitdrive(root)[0]:  # Windows paths compare case-insensitively
        path, root, sep = path.lower(), root.lower(), "\\"
    else:
        sep = "/"
    return path == root or path.startswith(root.rstrip(sep) + sep)


def _check_pattern(field: str, value: str | None, limit: int, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    value = value.strip()
    if not value:
        raise ValidationError(field, "must not be empty")
    check_length(field, value, limit)
    return value


def _money(field: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(field, "must be an amount of money")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(field, f"{value!r} is not an amount of money") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_COST_SETTING:
        raise ValidationError(field, f"must be between $0 and ${MAX_COST_SETTING:,}")
    return amount


def _check_specific_tools(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError("specific_tools", "must map tool names to allow, ask or deny")
    clean: dict[str, str] = {}
    for name, action in value.items():
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_PATTERN_LENGTH:
            raise ValidationError("specific_tools", f"{name!r} is not a tool name")
        clean[name] = check_choice(f"specific_tools[{name!r}]", action, enums.RULE_ACTIONS)
    return clean


class ApprovalService(Service):
    # --- rules ----------------------------------------------------------------------

    def add_rule(
        self,
        user_id: str,
        action: str,
        tool_pattern: str,
        argument_pattern: str | None = None,
        scope: str = "global",
        conversation_id: str | None = None,
        project_path: str | None = None,
        expires_at: datetime | None = None,
        source: str = "user",
        note: str | None = None,
    ) -> RuleRecord:
        """Add a rule. Adding a rule identical to an active one returns that rule, with
        the new expiry and note (so "always allow" twice does not make duplicates)."""
        check_choice("action", action, enums.RULE_ACTIONS)
        tool_pattern = _check_pattern("tool_pattern", tool_pattern, MAX_PATTERN_LENGTH, required=True)
        argument_pattern = _check_pattern(
            "argument_pattern", argument_pattern, MAX_ARGUMENT_PATTERN_LENGTH, required=False
        )
        check_choice("scope", scope, enums.RULE_SCOPES)
        check_choice("source", source, enums.RULE_SOURCES)
        check_length("note", note, MAX_NOTE_LENGTH)
        if scope == "conversation" and conversation_id is None:
            raise ValidationError("conversation_id", "a conversation rule needs the conversation it applies to")
        if scope == "project" and project_path is None:
            raise ValidationError("project_path", "a project rule needs the project directory it applies to")
        if scope != "conversation" and conversation_id is not None:
            raise ValidationError("conversation_id", f"a {scope} rule does not take a conversation")
        if scope != "project" and project_path is not None:
            raise ValidationError("project_path", f"a {scope} rule does not take a project path")
        if project_path is not None:
            project_path = normalize_project_path(project_path)
        now = utcnow()
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise ValidationError("expires_at", "must be a timezone-aware time")
            if expires_at <= now:
                raise ValidationError("expires_at", "must be in the future")
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            if conversation_id is not None:
                owned = session.scalar(
                    select(Conversation.id).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
                )
                if owned is None:
                    raise NotFound("conversation", conversation_id)
            same = session.scalars(
                select(ApprovalRule).where(
                    ApprovalRule.user_id == user_id,
                    ApprovalRule.is_active.is_(True),
                    ApprovalRule.action == action,
                    ApprovalRule.tool_pattern == tool_pattern,
                    ApprovalRule.scope == scope,
                )
            ).all()
            for row in same:
                if (row.argument_pattern, row.conversation_id, row.project_path) == (
                    argument_pattern, conversation_id, project_path
                ) and (row.expires_at is None or row.expires_at > now):
                    row.expires_at = expires_at
                    row.note = note if note is not None else row.note
                    session.flush()
                    return _rule_record(row, now)
            row = ApprovalRule(
                user_id=user_id,
                action=action,
                tool_pattern=tool_pattern,
                argument_pattern=argument_pattern,
                scope=scope,
                conversation_id=conversation_id,
                project_path=project_path,
                expires_at=expires_at,
                source=source,
                note=note,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _rule_record(row, now)

    def list_rules(
        self,
        user_id: str,
        *,
        include_expired: bool = False,
        conversation_id: str | None = None,
        project_path: str | None = None,
    ) -> list[RuleRecord]:
        """Active rules in force for a context: global rules, project rules for
        ``project_path`` or a directory above it, and rules of ``conversation_id``.
        Oldest first."""
        if project_path is not None:
            project_path = normalize_project_path(project_path)
        now = utcnow()
        scopes = [ApprovalRule.scope == "global"]
        if conversation_id is not None:
            scopes.append(ApprovalRule.conversation_id == conversation_id)
        if project_path is not None:
            scopes.append(ApprovalRule.scope == "project")
        query = select(ApprovalRule).where(
            ApprovalRule.user_id == user_id, ApprovalRule.is_active.is_(True), or_(*scopes)
        )
        if not include_expired:
            query = query.where(or_(ApprovalRule.expires_at.is_(None), ApprovalRule.expires_at > now))
        with self.db.read() as session:
            rows = session.scalars(query.order_by(ApprovalRule.created_at, ApprovalRule.id)).all()
            return [
                _rule_record(row, now)
                for row in rows
                if row.scope != "project" or (project_path is not None and path_within(project_path, row.project_path))
            ]

    def all_rules(self, user_id: str, *, include_inactive: bool = False) -> list[RuleRecord]:
        """Every rule of the user, whatever its scope (for a management screen)."""
        query = select(ApprovalRule).where(ApprovalRule.user_id == user_id)
        if not include_inactive:
            query = query.where(ApprovalRule.is_active.is_(True))
        now = utcnow()
        with self.db.read() as session:
            rows = session.scalars(query.order_by(ApprovalRule.created_at, ApprovalRule.id)).all()
            return [_rule_record(row, now) for row in rows]

    def get_rule(self, user_id: str, rule_id: str) -> RuleRecord:
        with self.db.read() as session:
            return _rule_record(self._rule(session, user_id, rule_id), utcnow())

    def remove_rule(self, user_id: str, rule_id: str) -> None:
        """Delete a rule. Executions it decided keep their record, without the link."""
        with self.db.write() as session:
            session.delete(self._rule(session, user_id, rule_id))

    def deactivate_rule(self, user_id: str, rule_id: str) -> RuleRecord:
        """Stop a rule from applying, keeping it for the audit trail."""
        with self.db.write() as session:
            row = self._rule(session, user_id, rule_id)
            row.is_active = False
            session.flush()
            return _rule_record(row, utcnow())

    # --- auto-approval settings -----------------------------------------------------

    def get_settings(self, user_id: str) -> ApprovalSettingsRecord:
        """The user's auto-approval settings, created with safe defaults on first use."""
        with self.db.write() as session:
            return self._settings_record(self._settings(session, user_id))

    def update_settings(self, user_id: str, **changes: Any) -> ApprovalSettingsRecord:
        """Change some settings; unknown names and bad values raise ValidationError."""
        allowed = set(_BOOL_SETTINGS) | set(_MONEY_SETTINGS) | {"specific_tools"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValidationError("settings", f"unknown setting(s): {', '.join(unknown)}")
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name in _BOOL_SETTINGS:
                if not isinstance(value, bool):
                    raise ValidationError(name, "must be true or false")
                clean[name] = value
            elif name in _MONEY_SETTINGS:
                clean[name] = _money(name, value)
            else:
                clean[name] = _check_specific_tools(value)
        with self.db.write() as session:
            row = self._settings(session, user_id)
            for name, value in clean.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            session.flush()
            return self._settings_record(row)

    # --- internals ------------------------------------------------------------------

    @staticmethod
    def _settings_record(row: AutoApprovalSettings) -> ApprovalSettingsRecord:
        return to_record(ApprovalSettingsRecord, row, specific_tools=dict(row.specific_tools or {}))

    @staticmethod
    def _settings(session: Any, user_id: str) -> AutoApprovalSettings:
        query = select(AutoApprovalSettings).where(AutoApprovalSettings.user_id == user_id)
        row = session.scalars(query).one_or_none()
        if row is not None:
            return row
        if session.get(User, user_id) is None:
            raise NotFound("user", user_id)
        try:
            with session.begin_nested():
                row = AutoApprovalSettings(
                    user_id=user_id,
                    read_only_operations=True,
                    low_risk_operations=False,
                    specific_tools={},
                    max_cost_per_tool=Decimal("1.00"),
                    max_cost_per_hour=Decimal("10.00"),
                    require_approval_for_new_tools=True,
                )
                session.add(row)
        except IntegrityError:  # another process created them first
            row = session.scalars(query).one()
        return row

    @staticmethod
    def _rule(session: Any, user_id: str, rule_id: str) -> ApprovalRule:
        row = session.scalars(
            select(ApprovalRule).where(ApprovalRule.id == rule_id, ApprovalRule.user_id == user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("approval rule", rule_id)
        return row

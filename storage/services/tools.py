"""Tool executions: every tool call, from the request through the decision to the result.

The lifecycle (seed 002) is a state machine::

    pending   -> approved | denied | cancelled
    approved  -> executing | cancelled
    executing -> completed | failed | cancelled

Any other transition raises :class:`~storage.errors.Conflict`. Rows are locked while they
change (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers), so two
processes cannot both decide or finish the same call.

``approved_at`` is the time of the decision, approval or denial: the table has one
decision time, and ``status`` says which way it went. A denial ends the call, so it also
sets ``completed_at``; ``execution_time_ms`` is set only for calls that started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .. import enums
from ..errors import Conflict, NotFound, ValidationError
from ..models import ApprovalRule, Conversation, Message, ToolExecution
from ..types import utcnow
from .base import Service, check_choice, check_json, check_length, to_record

DECIDERS = ("user", "rule", "auto", "policy", "flag", "bypass")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("approved", "denied", "cancelled"),
    "approved": ("executing", "cancelled"),
    "executing": ("completed", "failed", "cancelled"),
}
#: Statuses that mean "the user (or a rule) let this tool run".
_APPROVED_STATES = ("approved", "executing", "completed", "failed")
MAX_JSON_BYTES = 10 * 1024 * 1024
MAX_NOTE_LENGTH = 10_000
MAX_ERROR_LENGTH = 100_000
MAX_LIST = 1000


@dataclass(frozen=True, slots=True)
class ToolExecutionRecord:
    id: str
    conversation_id: str
    message_id: str | None
    tool_call_id: str
    tool_name: str
    tool_source: str
    parameters: dict[str, Any]
    approved_parameters: dict[str, Any] | None
    result: Any
    status: str
    risk_level: str
    decided_by: str | None
    decision_rule_id: str | None
    decision_reason: str | None
    denial_note: str | None
    approval_requested_at: datetime | None
    approved_at: datetime | None
    executed_at: datetime | None
    completed_at: datetime | None
    execution_time_ms: int | None
    cost: Decimal | None
    error_message: str | None
    created_at: datetime

    @property
    def effective_parameters(self) -> dict[str, Any]:
        """What runs: the parameters as approved (if edited), else as requested."""
        return self.approved_parameters if self.approved_parameters is not None else self.parameters


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit list: a call without its result (read that with ``get``),
    with the title of its conversation and the rule that decided it, if any."""

    id: str
    created_at: datetime
    conversation_id: str
    conversation_title: str | None
    tool_name: str
    tool_source: str
    parameters: dict[str, Any]
    approved_parameters: dict[str, Any] | None
    status: str
    risk_level: str
    decided_by: str | None
    decision_rule_id: str | None
    #: The deciding rule's action and patterns (None if no rule decided, or it was removed).
    rule_action: str | None
    rule_tool_pattern: str | None
    rule_argument_pattern: str | None
    execution_time_ms: int | None
    cost: Decimal | None
    has_error: bool


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    #: Older entries match the same filters: ask again with ``before_id=entries[-1].id``.
    has_more: bool


def _like_escaped(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _check_cost(value: Decimal | int | str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValidationError("cost", f"{value!r} is not an amount of money") from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError("cost", "must be a non-negative amount")
    return amount


def _record(row: ToolExecution) -> ToolExecutionRecord:
    return to_record(ToolExecutionRecord, row)


def _ms_between(start: datetime | None, end: datetime) -> int | None:
    if start is None:
        return None
    return max(0, round((end - start).total_seconds() * 1000))


def _page_arguments(limit: int, status: str | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Check a page size and the statuses asked for (one or several)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise ValidationError("limit", f"must be between 1 and {MAX_LIST}")
    statuses = (status,) if isinstance(status, str) else status
    for value in statuses or ():
        check_choice("status", value, enums.TOOL_STATUSES)
    return statuses


class ToolExecutionService(Service):
    def request(
        self,
        user_id: str,
        conversation_id: str,
        message_id: str | None,
        tool_call_id: str,
        tool_name: str,
        tool_source: str,
        parameters: dict[str, Any],
        risk_level: str,
    ) -> ToolExecutionRecord:
        """Record a tool call the model asked for; it waits for a decision."""
        check_length("tool_call_id", tool_call_id, 200, required=True)
        check_length("tool_name", tool_name, 200, required=True)
        check_length("tool_source", tool_source, 200, required=True)
        if not isinstance(parameters, dict):
            raise ValidationError("parameters", f"must be a mapping, not {type(parameters).__name__}")
        check_json("parameters", parameters, MAX_JSON_BYTES)
        check_choice("risk_level", risk_level, enums.RISK_LEVELS)
        with self.db.write() as session:
            owned = select(Conversation.id).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
            if session.scalar(owned) is None:
                raise NotFound("conversation", conversation_id)
            if message_id is not None:
                found = session.scalar(
                    select(Message.id).where(
                        Message.id == message_id,
                        Message.user_id == user_id,
                        Message.conversation_id == conversation_id,
                    )
                )
                if found is None:
                    raise NotFound("message", message_id)
            now = utcnow()
            row = ToolExecution(
                user_id=user_id,
                conversation_id=conversation_id,
                message_id=message_id,
                tool_call_id=tool_call_id,
                tool_name=tool_name,
                tool_source=tool_source,
                parameters=parameters,
                risk_level=risk_level,
                status="pending",
                approval_requested_at=now,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _record(row)

    def decide(
        self,
        user_id: str,
        execution_id: str,
        *,
        approved: bool,
        decided_by: str,
        rule_id: str | None = None,
        reason: str | None = None,
        approved_parameters: dict[str, Any] | None = None,
        denial_note: str | None = None,
    ) -> ToolExecutionRecord:
        """Approve or deny a pending call, saying who decided (and by which rule)."""
        check_choice("decided_by", decided_by, DECIDERS)
        check_length("reason", reason, MAX_NOTE_LENGTH)
        check_length("denial_note", denial_note, MAX_NOTE_LENGTH)
        if approved and denial_note is not None:
            raise ValidationError("denial_note", "only a denial can carry a note to the model")
        if not approved and approved_parameters is not None:
            raise ValidationError("approved_parameters", "only an approval can edit the parameters")
        if approved_parameters is not None:
            if not isinstance(approved_parameters, dict):
                raise ValidationError("approved_parameters", "must be a mapping")
            check_json("approved_parameters", approved_parameters, MAX_JSON_BYTES)
        with self.db.write() as session:
            row = self._locked(session, user_id, execution_id)
            self._check_transition(row, "approved" if approved else "denied")
            if rule_id is not None:
                rule = session.scalar(
                    select(ApprovalRule.id).where(ApprovalRule.id == rule_id, ApprovalRule.user_id == user_id)
                )
                if rule is None:
                    raise NotFound("approval rule", rule_id)
            row.status = "approved" if approved else "denied"
            row.decided_by = decided_by
            row.decision_rule_id = rule_id
            row.decision_reason = reason
            row.approved_at = utcnow()
            if approved and approved_parameters is not None and approved_parameters != row.parameters:
                row.approved_parameters = approved_parameters
            if not approved:
                row.denial_note = denial_note
                row.completed_at = row.approved_at
            session.flush()
            return _record(row)

    def start(self, user_id: str, execution_id: str) -> ToolExecutionRecord:
        """An approved call begins to run."""
        with self.db.write() as session:
            row = self._locked(session, user_id, execution_id)
            self._check_transition(row, "executing")
            row.status = "executing"
            row.executed_at = utcnow()
            session.flush()
            return _record(row)

    def complete(
        self, user_id: str, execution_id: str, result: Any, cost: Decimal | int | str | None = None
    ) -> ToolExecutionRecord:
        """A running call finished with ``result`` (JSON data) and an optional cost."""
        check_json("result", result, MAX_JSON_BYTES)
        amount = _check_cost(cost)
        return self._finish(user_id, execution_id, "completed", result=result, cost=amount)

    def fail(self, user_id: str, execution_id: str, error: str) -> ToolExecutionRecord:
        """A running call failed with ``error``."""
        check_length("error", error, MAX_ERROR_LENGTH, required=True)
        return self._finish(user_id, execution_id, "failed", error=error)

    def cancel(self, user_id: str, execution_id: str, reason: str | None = None) -> ToolExecutionRecord:
        """Stop a call that has not finished (pending, approved or executing)."""
        check_length("reason", reason, MAX_ERROR_LENGTH)
        return self._finish(user_id, execution_id, "cancelled", error=reason)

    def get(self, user_id: str, execution_id: str) -> ToolExecutionRecord:
        with self.db.read() as session:
            return _record(self._row(session, user_id, execution_id))

    def list(
        self,
        user_id: str,
        *,
        tool_name: str | None = None,
        status: str | tuple[str, ...] | None = None,
        conversation_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_id: str | None = None,
    ) -> list[ToolExecutionRecord]:
        """Executions, newest first; page with ``before_id`` (the last id of a page)."""
        statuses = _page_arguments(limit, status)
        query = select(ToolExecution).where(ToolExecution.user_id == user_id)
        if tool_name is not None:
            query = query.where(ToolExecution.tool_name == tool_name)
        if conversation_id is not None:
            query = query.where(ToolExecution.conversation_id == conversation_id)
        with self.db.read() as session:
            query = self._newest_first(session, query, user_id, statuses, since, until, before_id)
            return [_record(row) for row in session.scalars(query.limit(limit)).all()]

    def _newest_first(self, session: Session, query: Any, user_id: str, statuses: tuple[str, ...] | None,
                      since: datetime | None, until: datetime | None, before_id: str | None) -> Any:
        """``query`` narrowed to ``statuses`` and [since, until), newest first, starting
        after ``before_id`` (the last execution of the previous page)."""
        if statuses:
            query = query.where(ToolExecution.status.in_(statuses))
        if since is not None:
            query = query.where(ToolExecution.created_at >= since)
        if until is not None:
            query = query.where(ToolExecution.created_at < until)
        if before_id is not None:
            anchor = self._row(session, user_id, before_id)
            query = query.where(or_(
                ToolExecution.created_at < anchor.created_at,
                and_(ToolExecution.created_at == anchor.created_at, ToolExecution.id < anchor.id),
            ))
        return query.order_by(ToolExecution.created_at.desc(), ToolExecution.id.desc())

    def audit(
        self,
        user_id: str,
        *,
        tool: str | None = None,
        status: str | tuple[str, ...] | None = None,
        conversation: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_id: str | None = None,
    ) -> AuditPage:
        """One page of the audit list, newest first, filtered in the query.

        ``tool`` matches any part of the tool name (``shell``, ``github.``), ignoring
        case; ``conversation`` is a conversation id or any part of its title. Page on
        with ``before_id`` (the last id of the previous page)."""
        statuses = _page_arguments(limit, status)
        check_length("tool", tool, 200)
        check_length("conversation", conversation, 500)
        for field, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise ValidationError(field, "must be a timezone-aware time")
        query = (
            select(
                ToolExecution.id, ToolExecution.created_at, ToolExecution.conversation_id, Conversation.title,
                ToolExecution.tool_name, ToolExecution.tool_source, ToolExecution.parameters,
                ToolExecution.approved_parameters, ToolExecution.status, ToolExecution.risk_level,
                ToolExecution.decided_by, ToolExecution.decision_rule_id, ApprovalRule.action,
                ApprovalRule.tool_pattern, ApprovalRule.argument_pattern, ToolExecution.execution_time_ms,
                ToolExecution.cost, ToolExecution.error_message.is_not(None),
            )
            .join(Conversation, Conversation.id == ToolExecution.conversation_id)
            .outerjoin(ApprovalRule, ApprovalRule.id == ToolExecution.decision_rule_id)
            .where(ToolExecution.user_id == user_id)
        )
        if tool is not None and tool.strip():
            query = query.where(ToolExecution.tool_name.ilike(_like_escaped(tool.strip()), escape="\\"))
        if conversation is not None and conversation.strip():
            text = conversation.strip()
            query = query.where(or_(ToolExecution.conversation_id == text,
                                    Conversation.title.ilike(_like_escaped(text), escape="\\")))
        with self.db.read() as session:
            query = self._newest_first(session, query, user_id, statuses, since, until, before_id)
            rows = session.execute(query.limit(limit + 1)).all()
        entries = [AuditEntry(*row[:-1], has_error=bool(row[-1])) for row in rows[:limit]]
        return AuditPage(entries=entries, has_more=len(rows) > limit)

    def cost_in_window(self, user_id: str, since: datetime) -> Decimal:
        """Total cost of the calls that completed since ``since`` (for max_cost_per_hour)."""
        with self.db.read() as session:
            total = session.scalar(
                select(func.sum(ToolExecution.cost)).where(
                    ToolExecution.user_id == user_id,
                    ToolExecution.completed_at >= since,
                    ToolExecution.cost.is_not(None),
                )
            )
            return total if total is not None else Decimal(0)

    def known_tool(self, user_id: str, tool_name: str) -> bool:
        """Whether ``tool_name`` has ever been approved for this user."""
        with self.db.read() as session:
            found = session.scalar(
                select(ToolExecution.id)
                .where(
                    ToolExecution.user_id == user_id,
                    ToolExecution.tool_name == tool_name,
                    or_(
                        ToolExecution.status.in_(_APPROVED_STATES),
                        and_(ToolExecution.status == "cancelled", ToolExecution.approved_at.is_not(None)),
                    ),
                )
                .limit(1)
            )
            return found is not None

    # --- internals ------------------------------------------------------------------

    def _finish(self, user_id: str, execution_id: str, status: str, *, result: Any = None,
                cost: Decimal | None = None, error: str | None = None) -> ToolExecutionRecord:
        with self.db.write() as session:
            row = self._locked(session, user_id, execution_id)
            self._check_transition(row, status)
            now = utcnow()
            row.status = status
            row.completed_at = now
            row.execution_time_ms = _ms_between(row.executed_at, now)
            if status == "completed":
                row.result = result
                row.cost = cost
            if error is not None:
                row.error_message = error
            session.flush()
            return _record(row)

    @staticmethod
    def _check_transition(row: ToolExecution, target: str) -> None:
        if target not in TRANSITIONS.get(row.status, ()):
            allowed = TRANSITIONS.get(row.status)
            hint = f"it can only become {' or '.join(allowed)}" if allowed else "it is finished"
            raise Conflict(f"tool call {row.tool_name} ({row.id}) is {row.status}; "
                           f"it cannot become {target}: {hint}")

    @staticmethod
    def _row(session: Any, user_id: str, execution_id: str) -> ToolExecution:
        row = session.scalars(
            select(ToolExecution).where(ToolExecution.id == execution_id, ToolExecution.user_id == user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("tool execution", execution_id)
        return row

    @staticmethod
    def _locked(session: Any, user_id: str, execution_id: str) -> ToolExecution:
        row = session.scalars(
            select(ToolExecution)
            .where(ToolExecution.id == execution_id, ToolExecution.user_id == user_id)
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound("tool execution", execution_id)
        return row

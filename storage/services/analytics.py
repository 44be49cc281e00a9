"""Daily analytics (seed 004): one row per user and UTC day, recomputed from the source.

Recomputing a day reads the day's messages, conversations, usage logs, feedback and
tool executions and overwrites that day's row, so it is idempotent and can be re-run
after late writes. Definitions:

- ``conversations``: conversations with at least one message that day;
  ``new_conversations``: conversations created that day.
- ``messages``: messages of every role created that day (also split user / assistant).
- tokens, cost, ``cost_by_model`` (model -> dollars as a string) and
  ``tokens_by_model`` (model -> {"input", "output"}): from that day's usage logs;
  calls with an unknown price add tokens but no cost.
- ``ratings_up`` / ``ratings_down``: feedback given that day.
- ``avg_response_ms``; ``p50_first_token_ms`` / ``p95_first_token_ms``: percentiles with
  linear interpolation between closest ranks, computed in Python on both backends.
- ``errors``: failed provider calls; ``tool_calls``: tool calls requested that day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound, ValidationError
from ..models import ChatAnalytics, Conversation, Message, MessageFeedback, ToolExecution, UsageLog, User
from ..types import utcnow
from .base import Service, to_record

MAX_RANGE_DAYS = 3660


@dataclass(frozen=True, slots=True)
class DayRecord:
    day: date
    conversations: int
    new_conversations: int
    messages: int
    user_messages: int
    assistant_messages: int
    input_tokens: int
    output_tokens: int
    cost: Decimal
    cost_by_model: dict[str, Decimal]
    tokens_by_model: dict[str, dict[str, int]]
    ratings_up: int
    ratings_down: int
    avg_response_ms: float | None
    p50_first_token_ms: float | None
    p95_first_token_ms: float | None
    errors: int
    tool_calls: int
    computed_at: datetime


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile (0..1) with linear interpolation; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def _check_day(field: str, value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, "must be a date")
    return value


def _record(row: ChatAnalytics) -> DayRecord:
    return to_record(
        DayRecord,
        row,
        day=date.fromisoformat(row.day),
        cost_by_model={model: Decimal(value) for model, value in (row.cost_by_model or {}).items()},
        tokens_by_model={model: dict(value) for model, value in (row.tokens_by_model or {}).items()},
    )


class AnalyticsService(Service):
    def recompute_day(self, user_id: str, day: date) -> DayRecord:
        """Compute (or recompute) ``user_id``'s row for the UTC ``day``."""
        _check_day("day", day)
        with self.db.write() as session:
            self._require_user(session, user_id)
            return _record(self._compute(session, user_id, day))

    def recompute(self, user_id: str, since: date, until: date) -> list[DayRecord]:
        """Recompute every day from ``since`` to ``until``, both included."""
        days = self._range(since, until)
        with self.db.write() as session:
            self._require_user(session, user_id)
            return [_record(self._compute(session, user_id, day)) for day in days]

    def days(self, user_id: str, since: date, until: date) -> list[DayRecord]:
        """Stored rows from ``since`` to ``until`` (both included), oldest first."""
        self._range(since, until)
        with self.db.read() as session:
            rows = session.scalars(
                select(ChatAnalytics)
                .where(
                    ChatAnalytics.user_id == user_id,
                    ChatAnalytics.day >= since.isoformat(),
                    ChatAnalytics.day <= until.isoformat(),
                )
                .order_by(ChatAnalytics.day)
            ).all()
            return [_record(row) for row in rows]

    # --- internals ------------------------------------------------------------------

    @staticmethod
    def _range(since: date, until: date) -> list[date]:
        _check_day("since", since)
        _check_day("until", until)
        if until < since:
            raise ValidationError("until", "must not be before since")
        count = (until - since).days + 1
        if count > MAX_RANGE_DAYS:
            raise ValidationError("until", f"a range covers at most {MAX_RANGE_DAYS:,} days")
        return [since + timedelta(days=offset) for offset in range(count)]

    @staticmethod
    def _require_user(session: Any, user_id: str) -> None:
        if session.get(User, user_id) is None:
            raise NotFound("user", user_id)

    def _compute(self, session: Any, user_id: str, day: date) -> ChatAnalytics:
        start, end = _day_bounds(day)
        values = self._gather(session, user_id, start, end)
        query = select(ChatAnalytics).where(ChatAnalytics.user_id == user_id, ChatAnalytics.day == day.isoformat())
        row = session.scalars(query).one_or_none()
        if row is None:
            try:
                with session.begin_nested():
                    row = ChatAnalytics(user_id=user_id, day=day.isoformat(), **values)
                    session.add(row)
                return row
            except IntegrityError:  # computed concurrently: overwrite that row
                row = session.scalars(query).one()
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
        return row

    @staticmethod
    def _gather(session: Any, user_id: str, start: datetime, end: datetime) -> dict[str, Any]:
        in_day = (Message.user_id == user_id, Message.created_at >= start, Message.created_at < end)
        active = session.scalar(select(func.count(distinct(Message.conversation_id))).where(*in_day)) or 0
        by_role = dict(session.execute(
            select(Message.role, func.count(Message.id)).where(*in_day).group_by(Message.role)
        ).all())
        new = session.scalar(select(func.count(Conversation.id)).where(
            Conversation.user_id == user_id, Conversation.created_at >= start, Conversation.created_at < end
        )) or 0

        usage = session.execute(
            select(UsageLog.model, UsageLog.input_tokens, UsageLog.output_tokens, UsageLog.cost,
                   UsageLog.response_ms, UsageLog.first_token_ms, UsageLog.success)
            .where(UsageLog.user_id == user_id, UsageLog.created_at >= start, UsageLog.created_at < end)
        ).all()
        cost_by_model: dict[str, Decimal] = {}
        tokens_by_model: dict[str, dict[str, int]] = {}
        responses: list[int] = []
        first_tokens: list[int] = []
        errors = 0
        for model, inp, out, cost, response_ms, first_token_ms, success in usage:
            tokens = tokens_by_model.setdefault(model, {"input": 0, "output": 0})
            tokens["input"] += inp
            tokens["output"] += out
            if cost is not None:
                cost_by_model[model] = cost_by_model.get(model, Decimal(0)) + cost
            if response_ms is not None:
                responses.append(response_ms)
            if first_token_ms is not None:
                first_tokens.append(first_token_ms)
            errors += 0 if success else 1

        ratings = dict(session.execute(
            select(MessageFeedback.rating, func.count(MessageFeedback.id))
            .where(MessageFeedback.user_id == user_id, MessageFeedback.created_at >= start,
                   MessageFeedback.created_at < end)
            .group_by(MessageFeedback.rating)
        ).all())
        tool_calls = session.scalar(select(func.count(ToolExecution.id)).where(
            ToolExecution.user_id == user_id, ToolExecution.created_at >= start, ToolExecution.created_at < end
        )) or 0
        return {
            "conversations": active,
            "new_conversations": new,
            "messages": sum(by_role.values()),
            "user_messages": by_role.get("user", 0),
            "assistant_messages": by_role.get("assistant", 0),
            "input_tokens": sum(t["input"] for t in tokens_by_model.values()),
            "output_tokens": sum(t["output"] for t in tokens_by_model.values()),
            "cost": sum(cost_by_model.values(), Decimal(0)),
            "cost_by_model": {model: format(cost, "f") for model, cost in sorted(cost_by_model.items())},
            "tokens_by_model": dict(sorted(tokens_by_model.items())),
            "ratings_up": ratings.get(1, 0),
            "ratings_down": ratings.get(-1, 0),
            "avg_response_ms": sum(responses) / len(responses) if responses else None,
            "p50_first_token_ms": percentile(first_tokens, 0.50),
            "p95_first_token_ms": percentile(first_tokens, 0.95),
            "errors": errors,
            "tool_calls": tool_calls,
            "computed_at": utcnow(),
        }

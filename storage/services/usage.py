"""Usage: one row per provider call, with tokens, cost and timings.

Token convention (as OpenAI reports them): ``input_tokens`` includes the cached input
tokens and ``output_tokens`` includes the reasoning tokens; "tokens" in totals and
budgets means input + output. ``cost`` is ``None`` when the model's price is unknown;
totals count such calls in ``unpriced_calls`` rather than pretending they were free.
Days and months are UTC.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import case, func, select

from .. import enums
from ..errors import NotFound, ValidationError
from ..models import Conversation, Message, UsageLog, User
from ..types import utcnow
from .base import Service, check_choice, check_length, to_record

GROUPINGS = ("day", "model", "provider", "conversation")
PERIODS = ("day", "month")
MAX_TOKENS = 2**31 - 1
MAX_MS = 2**31 - 1


@dataclass(frozen=True, slots=True)
class UsageRecord:
    id: str
    conversation_id: str | None
    message_id: str | None
    provider: str
    model: str
    operation: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    cost: Decimal | None
    prices: dict[str, Any] | None
    response_ms: int | None
    first_token_ms: int | None
    streaming_ms: int | None
    success: bool
    error_kind: str | None
    billing_period: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UsageTotals:
    calls: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    cost: Decimal
    #: Calls whose price was unknown: ``cost`` does not include them.
    unpriced_calls: int
    errors: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class UsageGroup:
    #: The day ('YYYY-MM-DD'), model, provider or conversation id (None: no conversation).
    key: str | None
    #: A readable name: the conversation's title for that grouping, else the key.
    label: str | None
    totals: UsageTotals


@dataclass(frozen=True, slots=True)
class Spend:
    period: str
    since: datetime
    until: datetime
    cost: Decimal
    tokens: int
    calls: int
    unpriced_calls: int


def _aggregates() -> tuple[Any, ...]:
    return (
        func.count(UsageLog.id),
        func.coalesce(func.sum(UsageLog.input_tokens), 0),
        func.coalesce(func.sum(UsageLog.output_tokens), 0),
        func.coalesce(func.sum(UsageLog.cached_input_tokens), 0),
        func.coalesce(func.sum(UsageLog.reasoning_tokens), 0),
        func.sum(UsageLog.cost),
        func.coalesce(func.sum(case((UsageLog.cost.is_(None), 1), else_=0)), 0),
        func.coalesce(func.sum(case((UsageLog.success.is_(False), 1), else_=0)), 0),
    )


def _totals(values: Sequence[Any]) -> UsageTotals:
    calls, inp, out, cached, reasoning, cost, unpriced, errors = values
    return UsageTotals(
        calls=int(calls), input_tokens=int(inp), output_tokens=int(out), cached_input_tokens=int(cached),
        reasoning_tokens=int(reasoning), cost=cost if cost is not None else Decimal(0),
        unpriced_calls=int(unpriced), errors=int(errors),
    )


def period_bounds(period: str, at: datetime | None = None) -> tuple[datetime, datetime]:
    """The UTC day or month containing ``at`` (default: now), as [since, until)."""
    check_choice("period", period, PERIODS)
    at = (at or utcnow()).astimezone(timezone.utc)
    if period == "day":
        since = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return since, since + timedelta(days=1)
    since = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    until = since.replace(year=since.year + 1, month=1) if since.month == 12 else since.replace(month=since.month + 1)
    return since, until


def spend_between(
    session: Any, user_id: str, since: datetime, until: datetime, provider: str | None = None
) -> tuple[Decimal, int, int, int]:
    """(cost, tokens, calls, unpriced calls) of a user's usage in [since, until)."""
    query = select(
        func.sum(UsageLog.cost),
        func.coalesce(func.sum(UsageLog.input_tokens + UsageLog.output_tokens), 0),
        func.count(UsageLog.id),
        func.coalesce(func.sum(case((UsageLog.cost.is_(None), 1), else_=0)), 0),
    ).where(UsageLog.user_id == user_id, UsageLog.created_at >= since, UsageLog.created_at < until)
    if provider is not None:
        query = query.where(UsageLog.provider == provider)
    cost, tokens, calls, unpriced = session.execute(query).one()
    return (cost if cost is not None else Decimal(0)), int(tokens), int(calls), int(unpriced)


def _count(field: str, value: int | None, limit: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValidationError(field, f"must be a whole number from 0 to {limit:,}")
    return value


class UsageService(Service):
    def record(
        self,
        user_id: str,
        *,
        provider: str,
        model: str,
        operation: str = "chat",
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        reasoning_tokens: int = 0,
        cost: Decimal | str | int | None = None,
        prices: dict[str, Any] | None = None,
        response_ms: int | None = None,
        first_token_ms: int | None = None,
        streaming_ms: int | None = None,
        success: bool = True,
        error_kind: str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        at: datetime | None = None,
    ) -> UsageRecord:
        """Log one provider call. ``at`` (default now) sets the time and billing period."""
        check_length("provider", provider, 100, required=True)
        check_length("model", model, 200, required=True)
        check_choice("operation", operation, enums.USAGE_OPERATIONS)
        for field, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens),
                             ("cached_input_tokens", cached_input_tokens), ("reasoning_tokens", reasoning_tokens)):
            _count(field, value, MAX_TOKENS)
        if cached_input_tokens > input_tokens:
            raise ValidationError("cached_input_tokens", "cannot exceed input_tokens, which includes them")
        if reasoning_tokens > output_tokens:
            raise ValidationError("reasoning_tokens", "cannot exceed output_tokens, which includes them")
        for field, value in (("response_ms", response_ms), ("first_token_ms", first_token_ms),
                             ("streaming_ms", streaming_ms)):
            _count(field, value, MAX_MS, optional=True)
        if cost is not None:
            try:
                cost = cost if isinstance(cost, Decimal) else Decimal(str(cost))
            except InvalidOperation:
                raise ValidationError("cost", f"{cost!r} is not an amount of money") from None
            if isinstance(cost, bool) or not cost.is_finite() or cost < 0:
                raise ValidationError("cost", "must be a non-negative amount")
        if prices is not None:
            if not isinstance(prices, dict):
                raise ValidationError("prices", "must be a mapping")
            try:
                json.dumps(prices, allow_nan=False)
            except (TypeError, ValueError):
                raise ValidationError("prices", "must be JSON data (give prices as strings)") from None
        if not isinstance(success, bool):
            raise ValidationError("success", "must be true or false")
        check_length("error_kind", error_kind, 40)
        if at is not None and at.tzinfo is None:
            raise ValidationError("at", "must be a timezone-aware time")
        created = (at or utcnow()).astimezone(timezone.utc)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            if conversation_id is not None and session.scalar(
                select(Conversation.id).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
            ) is None:
                raise NotFound("conversation", conversation_id)
            if message_id is not None:
                owner = session.execute(
                    select(Message.conversation_id).where(Message.id == message_id, Message.user_id == user_id)
                ).one_or_none()
                if owner is None:
                    raise NotFound("message", message_id)
                if conversation_id is not None and owner[0] != conversation_id:
                    raise ValidationError("message_id", "the message is in another conversation")
                conversation_id = owner[0]
            row = UsageLog(
                user_id=user_id, conversation_id=conversation_id, message_id=message_id, provider=provider,
                model=model, operation=operation, input_tokens=input_tokens, output_tokens=output_tokens,
                cached_input_tokens=cached_input_tokens, reasoning_tokens=reasoning_tokens, cost=cost,
                prices=prices, response_ms=response_ms, first_token_ms=first_token_ms, streaming_ms=streaming_ms,
                success=success, error_kind=error_kind, billing_period=created.strftime("%Y-%m"),
                created_at=created,
            )
            session.add(row)
            session.flush()
            return to_record(UsageRecord, row)

    def totals(
        self,
        user_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> UsageTotals:
        """Tokens and cost over [since, until) (all time by default)."""
        query = select(*_aggregates()).where(*self._filters(user_id, since, until))
        if provider is not None:
            query = query.where(UsageLog.provider == provider)
        if model is not None:
            query = query.where(UsageLog.model == model)
        with self.db.read() as session:
            return _totals(session.execute(query).one())

    def by(
        self,
        user_id: str,
        group: Literal["day", "model", "provider", "conversation"],
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[UsageGroup]:
        """Totals grouped by UTC day (oldest first), or by model, provider or
        conversation (most expensive first, then by name)."""
        check_choice("group", group, GROUPINGS)
        if group == "day":
            if self.db.dialect == "postgresql":
                key = func.to_char(func.timezone("UTC", UsageLog.created_at), "YYYY-MM-DD")
            else:  # SQLite stores UTC times as ISO text
                key = func.substr(UsageLog.created_at, 1, 10)
        else:
            key = {"model": UsageLog.model, "provider": UsageLog.provider,
                   "conversation": UsageLog.conversation_id}[group]
        key = key.label("key")
        query = select(key, *_aggregates()).where(*self._filters(user_id, since, until)).group_by(key)
        with self.db.read() as session:
            rows = session.execute(query).all()
            titles: dict[str, str | None] = {}
            ids = [row[0] for row in rows if row[0] is not None]
            if group == "conversation" and ids:
                titles = dict(session.execute(
                    select(Conversation.id, Conversation.title).where(
                        Conversation.id.in_(ids), Conversation.user_id == user_id)
                ).all())
        groups = [
            UsageGroup(key=row[0], label=titles.get(row[0]) if group == "conversation" else row[0],
                       totals=_totals(row[1:]))
            for row in rows
        ]
        if group == "day":
            return sorted(groups, key=lambda g: g.key or "")
        return sorted(groups, key=lambda g: (-g.totals.cost, g.key is None, g.key or ""))

    def timings(
        self, user_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[list[int], list[int]]:
        """Every call's response time and time to first token (ms) in [since, until),
        for percentiles; calls that did not record one are left out of that list."""
        query = select(UsageLog.response_ms, UsageLog.first_token_ms).where(*self._filters(user_id, since, until))
        with self.db.read() as session:
            rows = session.execute(query).all()
        return [r[0] for r in rows if r[0] is not None], [r[1] for r in rows if r[1] is not None]

    def first_at(self, user_id: str) -> datetime | None:
        """When the user's first recorded call was made (None: never)."""
        with self.db.read() as session:
            return session.scalar(select(func.min(UsageLog.created_at)).where(UsageLog.user_id == user_id))

    def spend(
        self, user_id: str, period: Literal["day", "month"], provider: str | None = None, at: datetime | None = None
    ) -> Spend:
        """What was spent in the UTC day or month containing ``at`` (default: now)."""
        since, until = period_bounds(period, at)
        with self.db.read() as session:
            cost, tokens, calls, unpriced = spend_between(session, user_id, since, until, provider)
        return Spend(period=period, since=since, until=until, cost=cost, tokens=tokens, calls=calls,
                     unpriced_calls=unpriced)

    def get(self, user_id: str, usage_id: str) -> UsageRecord:
        with self.db.read() as session:
            row = session.scalars(
                select(UsageLog).where(UsageLog.id == usage_id, UsageLog.user_id == user_id)
            ).one_or_none()
            if row is None:
                raise NotFound("usage record", usage_id)
            return to_record(UsageRecord, row)

    @staticmethod
    def _filters(user_id: str, since: datetime | None, until: datetime | None) -> list[Any]:
        filters: list[Any] = [UsageLog.user_id == user_id]
        if since is not None:
            filters.append(UsageLog.created_at >= since)
        if until is not None:
            filters.append(UsageLog.created_at < until)
        return filters

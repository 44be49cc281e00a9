"""Budgets: spend or token caps per UTC day or month, for all providers or one.

A user has at most one active budget per (provider, period); setting another replaces
its caps. :meth:`BudgetService.check` compares what was spent in the current period
(plus the estimate of the next call) with every budget that applies: the user-wide ones
and those of the provider. A budget is exhausted once spending reaches its cap, so a cap
of 0 blocks every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import or_, select

from ..errors import NotFound, ValidationError
from ..models import Budget, User
from ..types import utcnow
from .base import Service, check_choice, check_length, to_record
from .usage import PERIODS, period_bounds, spend_between

MAX_BUDGET = Decimal(10_000_000)
MAX_BUDGET_TOKENS = 10**15


@dataclass(frozen=True, slots=True)
class BudgetRecord:
    id: str
    provider: str | None
    period: str
    max_cost: Decimal | None
    max_tokens: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    allowed: bool
    #: The budget that decided: the one exceeded, or the one with least room left.
    budget: BudgetRecord | None
    spent: Decimal
    spent_tokens: int
    #: Room left under the cap before this call (None: no cost / token cap).
    remaining: Decimal | None
    remaining_tokens: int | None
    message: str


def usd(amount: Decimal) -> str:
    """Dollars for people: $4.98, or $0.0042 for small amounts."""
    if amount != 0 and abs(amount) < Decimal("0.01"):
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def _cost(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError("max_cost", "must be an amount of money")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("max_cost", f"{value!r} is not an amount of money") from None
    if not amount.is_finite() or not 0 <= amount <= MAX_BUDGET:
        raise ValidationError("max_cost", f"must be between $0 and {usd(MAX_BUDGET)}")
    return amount


def _tokens(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BUDGET_TOKENS:
        raise ValidationError(field, "must be a whole number of tokens, 0 or more")
    return value


def _describe(budget: BudgetRecord) -> str:
    period = "Daily" if budget.period == "day" else "Monthly"
    return f"{period} budget for {budget.provider}" if budget.provider else f"{period} budget"


class BudgetService(Service):
    def set(
        self,
        user_id: str,
        period: str,
        max_cost: Decimal | str | int | None = None,
        max_tokens: int | None = None,
        provider: str | None = None,
    ) -> BudgetRecord:
        """Set the cap(s) for (provider, period), replacing the budget already there."""
        check_choice("period", period, PERIODS)
        cost = _cost(max_cost)
        tokens = _tokens("max_tokens", max_tokens)
        if cost is None and tokens is None:
            raise ValidationError("budget", "give a spending cap (max_cost), a token cap (max_tokens) or both")
        if provider is not None:
            check_length("provider", provider, 100, required=True)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            rows = session.scalars(
                select(Budget)
                .where(Budget.user_id == user_id, Budget.is_active.is_(True), Budget.period == period,
                       Budget.provider.is_(None) if provider is None else Budget.provider == provider)
                .order_by(Budget.created_at, Budget.id)
                .with_for_update()
            ).all()
            row = rows[0] if rows else Budget(user_id=user_id, period=period, provider=provider)
            for extra in rows[1:]:  # never more than one, but heal if there were
                extra.is_active = False
            row.max_cost, row.max_tokens, row.updated_at = cost, tokens, utcnow()
            session.add(row)
            session.flush()
            return to_record(BudgetRecord, row)

    def list(self, user_id: str) -> list[BudgetRecord]:
        """Active budgets: user-wide first, then by provider; days before months."""
        with self.db.read() as session:
            rows = session.scalars(
                select(Budget).where(Budget.user_id == user_id, Budget.is_active.is_(True))
            ).all()
            records = [to_record(BudgetRecord, row) for row in rows]
        return sorted(records, key=lambda b: (b.provider is not None, b.provider or "", b.period != "day"))

    def remove(self, user_id: str, budget_id: str) -> None:
        with self.db.write() as session:
            row = session.scalars(
                select(Budget).where(Budget.id == budget_id, Budget.user_id == user_id)
            ).one_or_none()
            if row is None:
                raise NotFound("budget", budget_id)
            session.delete(row)

    def check(
        self,
        user_id: str,
        provider: str,
        *,
        estimated_cost: Decimal | str | int = 0,
        estimated_tokens: int = 0,
        at: datetime | None = None,
    ) -> BudgetCheck:
        """Whether a call to ``provider`` estimated at this cost and these tokens fits
        every budget that applies, for the current UTC day and month."""
        estimate = _cost(estimated_cost) or Decimal(0)
        tokens_estimate = _tokens("estimated_tokens", estimated_tokens) or 0
        with self.db.read() as session:
            rows = session.scalars(
                select(Budget).where(
                    Budget.user_id == user_id,
                    Budget.is_active.is_(True),
                    or_(Budget.provider.is_(None), Budget.provider == provider),
                )
            ).all()
            budgets = sorted((to_record(BudgetRecord, row) for row in rows),
                             key=lambda b: (b.provider is None, b.period != "day"))
            results: list[BudgetCheck] = []
            for budget in budgets:
                since, until = period_bounds(budget.period, at)
                spent, spent_tokens, _calls, _unpriced = spend_between(session, user_id, since, until, budget.provider)
                results.append(self._judge(budget, spent, spent_tokens, estimate, tokens_estimate))
        if not results:
            return BudgetCheck(True, None, Decimal(0), 0, None, None, "no budget applies")
        denied = [result for result in results if not result.allowed]
        if denied:
            return denied[0]
        return min(results, key=self._room)

    @staticmethod
    def _room(result: BudgetCheck) -> Decimal:
        """The fraction of a budget still free (the smallest decides)."""
        assert result.budget is not None
        fractions = [Decimal(1)]
        if result.budget.max_cost:
            fractions.append((result.remaining or Decimal(0)) / result.budget.max_cost)
        if result.budget.max_tokens:
            fractions.append(Decimal(result.remaining_tokens or 0) / result.budget.max_tokens)
        return min(fractions)

    @staticmethod
    def _judge(budget: BudgetRecord, spent: Decimal, spent_tokens: int, estimate: Decimal,
               tokens_estimate: int) -> BudgetCheck:
        remaining = None if budget.max_cost is None else max(budget.max_cost - spent, Decimal(0))
        remaining_tokens = None if budget.max_tokens is None else max(budget.max_tokens - spent_tokens, 0)
        name = _describe(budget)
        problem = None
        if budget.max_cost is not None and (spent >= budget.max_cost or spent + estimate > budget.max_cost):
            problem = f"{name} reached: spent {usd(spent)} of {usd(budget.max_cost)}"
            if estimate:
                problem += f"; this call is estimated at {usd(estimate)}"
        elif budget.max_tokens is not None and (
            spent_tokens >= budget.max_tokens or spent_tokens + tokens_estimate > budget.max_tokens
        ):
            problem = f"{name} reached: used {spent_tokens:,} of {budget.max_tokens:,} tokens"
            if tokens_estimate:
                problem += f"; this call needs about {tokens_estimate:,}"
        if problem is not None:
            return BudgetCheck(False, budget, spent, spent_tokens, remaining, remaining_tokens, problem)
        parts = []
        if remaining is not None:
            parts.append(f"{usd(remaining)} of {usd(budget.max_cost or Decimal(0))} left")
        if remaining_tokens is not None:
            parts.append(f"{remaining_tokens:,} of {budget.max_tokens:,} tokens left")
        return BudgetCheck(True, budget, spent, spent_tokens, remaining, remaining_tokens,
                           f"{name}: {', '.join(parts)}")

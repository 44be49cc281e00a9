"""Budgets: one per (provider, period), and checks against the current day's and month's spend."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage import NotFound, Storage, ValidationError

from .factories import utc

NOW = utc(2025, 6, 15, 12)


def spend(store: Storage, user_id: str, cost: str, *, provider: str = "openai", tokens: int = 100, at=NOW) -> None:
    store.usage.record(user_id, provider=provider, model="m", input_tokens=tokens, output_tokens=0, cost=cost, at=at)


def test_set_replaces_the_budget_for_the_same_provider_and_period(store: Storage, user_id: str) -> None:
    first = store.budgets.set(user_id, "day", max_cost="5")
    second = store.budgets.set(user_id, "day", max_tokens=100_000)
    assert second.id == first.id and second.max_cost is None and second.max_tokens == 100_000
    store.budgets.set(user_id, "month", max_cost="50")
    store.budgets.set(user_id, "day", max_cost="1", provider="anthropic")
    listed = store.budgets.list(user_id)
    assert [(b.provider, b.period) for b in listed] == [(None, "day"), (None, "month"), ("anthropic", "day")]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"period": "week", "max_cost": "1"}, "period"),
        ({"period": "day"}, "budget"),
        ({"period": "day", "max_cost": "-1"}, "max_cost"),
        ({"period": "day", "max_cost": "lots"}, "max_cost"),
        ({"period": "day", "max_tokens": -5}, "max_tokens"),
        ({"period": "day", "max_tokens": 1.5}, "max_tokens"),
        ({"period": "day", "max_cost": "1", "provider": ""}, "provider"),
    ],
)
def test_set_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.budgets.set(user_id, **kwargs)
    assert info.value.field == field


def test_remove(store: Storage, user_id: str, other_user_id: str) -> None:
    budget = store.budgets.set(user_id, "day", max_cost="5")
    with pytest.raises(NotFound):
        store.budgets.remove(other_user_id, budget.id)
    store.budgets.remove(user_id, budget.id)
    assert store.budgets.list(user_id) == []


def test_no_budget_allows_everything(store: Storage, user_id: str) -> None:
    spend(store, user_id, "1000")
    check = store.budgets.check(user_id, "openai", estimated_cost="5", at=NOW)
    assert check.allowed and check.budget is None and check.remaining is None


def test_daily_cost_budget(store: Storage, user_id: str) -> None:
    store.budgets.set(user_id, "day", max_cost="5.00")
    spend(store, user_id, "4.98")
    spend(store, user_id, "10", at=utc(2025, 6, 14, 23, 59))  # yesterday does not count
    ok = store.budgets.check(user_id, "openai", at=NOW)
    assert ok.allowed and ok.spent == Decimal("4.98") and ok.remaining == Decimal("0.02")
    assert "$0.02 of $5.00 left" in ok.message
    over = store.budgets.check(user_id, "openai", estimated_cost="0.05", at=NOW)
    assert not over.allowed
    assert over.message == "Daily budget reached: spent $4.98 of $5.00; this call is estimated at $0.05"
    spend(store, user_id, "0.02")
    exhausted = store.budgets.check(user_id, "openai", at=NOW)
    assert not exhausted.allowed and exhausted.remaining == Decimal(0)


def test_zero_cap_blocks_every_call(store: Storage, user_id: str) -> None:
    store.budgets.set(user_id, "month", max_cost="0")
    assert not store.budgets.check(user_id, "openai", at=NOW).allowed


def test_token_budget(store: Storage, user_id: str) -> None:
    store.budgets.set(user_id, "month", max_tokens=1000)
    spend(store, user_id, "0", tokens=900, at=utc(2025, 6, 1))
    spend(store, user_id, "0", tokens=900, at=utc(2025, 5, 31))  # last month
    check = store.budgets.check(user_id, "openai", estimated_tokens=50, at=NOW)
    assert check.allowed and check.spent_tokens == 900 and check.remaining_tokens == 100
    over = store.budgets.check(user_id, "openai", estimated_tokens=101, at=NOW)
    assert not over.allowed and "900 of 1,000 tokens" in over.message


def test_provider_budget_applies_only_to_its_provider(store: Storage, user_id: str) -> None:
    store.budgets.set(user_id, "day", max_cost="1", provider="anthropic")
    spend(store, user_id, "3", provider="openai")
    spend(store, user_id, "0.50", provider="anthropic")
    assert store.budgets.check(user_id, "openai", estimated_cost="100", at=NOW).allowed
    check = store.budgets.check(user_id, "anthropic", estimated_cost="0.60", at=NOW)
    assert not check.allowed and check.budget.provider == "anthropic"
    assert check.message.startswith("Daily budget for anthropic reached: spent $0.50 of $1.00")


def test_the_tightest_budget_decides(store: Storage, user_id: str) -> None:
    store.budgets.set(user_id, "month", max_cost="100")
    store.budgets.set(user_id, "day", max_cost="2")
    spend(store, user_id, "1.50")
    check = store.budgets.check(user_id, "openai", at=NOW)
    assert check.allowed and check.budget.period == "day" and check.remaining == Decimal("0.50")
    spend(store, user_id, "97.60", at=utc(2025, 6, 2))
    check = store.budgets.check(user_id, "openai", estimated_cost="0.40", at=NOW)
    assert check.allowed and check.budget.period == "month" and check.remaining == Decimal("0.90")
    spend(store, user_id, "0.70", at=utc(2025, 6, 2))  # month: $0.20 left; today: $0.50
    denied = store.budgets.check(user_id, "openai", estimated_cost="0.40", at=NOW)
    assert not denied.allowed and denied.budget.period == "month"
    both = store.budgets.check(user_id, "openai", estimated_cost="0.60", at=NOW)
    assert not both.allowed and both.budget.period == "day"  # the first exceeded: days before months


def test_budgets_are_per_user(store: Storage, user_id: str, other_user_id: str) -> None:
    store.budgets.set(user_id, "day", max_cost="1")
    spend(store, other_user_id, "50")
    assert store.budgets.check(user_id, "openai", at=NOW).allowed
    assert store.budgets.check(other_user_id, "openai", estimated_cost="1000", at=NOW).allowed
    assert store.budgets.list(other_user_id) == []

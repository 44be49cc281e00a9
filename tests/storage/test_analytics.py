"""Daily analytics: every figure computed from the source rows, idempotently, per UTC day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from storage import NotFound, Storage, ValidationError
from storage.models import ChatAnalytics
from storage.services.analytics import percentile

from .factories import make_conversation, make_feedback, make_message, make_tool_execution, utc

DAY = date(2025, 4, 10)


def at(hour: int, minute: int = 0):
    return utc(2025, 4, 10, hour, minute)


@pytest.fixture
def busy_day(store: Storage, user_id: str, other_user_id: str) -> dict[str, str]:
    """A day of activity for ``user_id``, with noise around it."""
    db = store.db
    old = make_conversation(db, user_id, created_at=utc(2025, 4, 1))
    new = make_conversation(db, user_id, created_at=at(9))
    make_conversation(db, user_id, created_at=at(23, 59))  # new, but no messages
    make_message(db, user_id, old, role="user", created_at=at(8))
    answer = make_message(db, user_id, old, role="assistant", created_at=at(8, 1))
    make_message(db, user_id, new, role="user", created_at=at(9, 5))
    second = make_message(db, user_id, new, role="assistant", created_at=at(9, 6))
    make_message(db, user_id, new, role="tool", created_at=at(9, 7))
    make_message(db, user_id, old, role="user", created_at=utc(2025, 4, 11, 0, 0))  # the next day
    make_feedback(db, user_id, answer, 1, created_at=at(10))
    make_feedback(db, user_id, second, -1, created_at=at(11))
    make_tool_execution(db, user_id, new, created_at=at(9, 6))
    make_tool_execution(db, user_id, new, created_at=utc(2025, 4, 9, 23))  # the day before
    usage = store.usage.record
    usage(user_id, provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=200, cost="0.0045",
          response_ms=1000, first_token_ms=100, at=at(8, 1))
    usage(user_id, provider="openai", model="gpt-4o", input_tokens=500, output_tokens=100, cost="0.00225",
          response_ms=2000, first_token_ms=300, at=at(9, 6))
    usage(user_id, provider="anthropic", model="claude-haiku-4-5", input_tokens=300, output_tokens=30,
          cost="0.00045", response_ms=3000, first_token_ms=200, at=at(12))
    usage(user_id, provider="local", model="mystery", input_tokens=10, output_tokens=0, cost=None,
          success=False, error_kind="timeout", at=at(13))
    # The other user's activity the same day must not count.
    theirs = make_conversation(db, other_user_id, created_at=at(9))
    make_message(db, other_user_id, theirs, created_at=at(9))
    usage(other_user_id, provider="openai", model="gpt-4o", input_tokens=99, output_tokens=99, cost="9", at=at(9))
    return {"old": old, "new": new}


def test_recompute_day(store: Storage, user_id: str, busy_day: dict[str, str]) -> None:
    row = store.analytics.recompute_day(user_id, DAY)
    assert row.day == DAY
    assert (row.conversations, row.new_conversations) == (2, 2)
    assert (row.messages, row.user_messages, row.assistant_messages) == (5, 2, 2)
    assert (row.input_tokens, row.output_tokens) == (1810, 330)
    assert row.cost == Decimal("0.0072")
    assert row.cost_by_model == {"gpt-4o": Decimal("0.00675"), "claude-haiku-4-5": Decimal("0.00045")}
    assert row.tokens_by_model == {"claude-haiku-4-5": {"input": 300, "output": 30},
                                   "gpt-4o": {"input": 1500, "output": 300},
                                   "mystery": {"input": 10, "output": 0}}
    assert (row.ratings_up, row.ratings_down) == (1, 1)
    assert row.avg_response_ms == 2000.0
    assert row.p50_first_token_ms == 200.0 and row.p95_first_token_ms == pytest.approx(290.0)
    assert (row.errors, row.tool_calls) == (1, 1)


def test_recompute_is_idempotent_and_picks_up_late_rows(store: Storage, user_id: str,
                                                       busy_day: dict[str, str]) -> None:
    first = store.analytics.recompute_day(user_id, DAY)
    again = store.analytics.recompute_day(user_id, DAY)
    assert again.messages == first.messages and again.cost == first.cost
    make_message(store.db, user_id, busy_day["old"], role="assistant", created_at=at(20))
    assert store.analytics.recompute_day(user_id, DAY).assistant_messages == 3
    with store.db.read() as session:
        assert session.query(ChatAnalytics).filter_by(user_id=user_id).count() == 1


def test_empty_day(store: Storage, user_id: str) -> None:
    row = store.analytics.recompute_day(user_id, date(2020, 1, 1))
    assert row.messages == 0 and row.cost == Decimal(0) and row.cost_by_model == {}
    assert row.avg_response_ms is None and row.p50_first_token_ms is None and row.p95_first_token_ms is None


def test_recompute_range_and_days(store: Storage, user_id: str, other_user_id: str,
                                  busy_day: dict[str, str]) -> None:
    rows = store.analytics.recompute(user_id, date(2025, 4, 9), date(2025, 4, 11))
    assert [r.day for r in rows] == [date(2025, 4, 9), DAY, date(2025, 4, 11)]
    assert [r.messages for r in rows] == [0, 5, 1]
    assert [r.tool_calls for r in rows] == [1, 1, 0]
    stored = store.analytics.days(user_id, date(2025, 4, 10), date(2025, 4, 30))
    assert [(r.day, r.messages) for r in stored] == [(DAY, 5), (date(2025, 4, 11), 1)]
    assert store.analytics.days(other_user_id, date(2025, 4, 1), date(2025, 4, 30)) == []


@pytest.mark.parametrize(
    ("since", "until"),
    [(date(2025, 1, 2), date(2025, 1, 1)), (date(2000, 1, 1), date(2025, 1, 1)), ("2025-01-01", date(2025, 1, 2))],
)
def test_range_validation(store: Storage, user_id: str, since, until) -> None:
    with pytest.raises(ValidationError):
        store.analytics.recompute(user_id, since, until)


def test_unknown_user(store: Storage) -> None:
    with pytest.raises(NotFound):
        store.analytics.recompute_day("nobody", DAY)


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7.0
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile(list(range(1, 101)), 0.95) == pytest.approx(95.05)

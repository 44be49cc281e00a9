"""Usage logs: recording, validation, totals, groupings and spend per period."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage import NotFound, Storage, ValidationError
from storage.models import Conversation, UsageLog
from storage.services.usage import period_bounds

from .factories import fetch, make_conversation, make_message, utc


def log(store: Storage, user_id: str, **kw):
    values = {"provider": "openai", "model": "gpt-4o", "input_tokens": 100, "output_tokens": 50}
    return store.usage.record(user_id, **{**values, **kw})


def test_record_round_trip(store: Storage, user_id: str) -> None:
    conv = make_conversation(store.db, user_id)
    message = make_message(store.db, user_id, conv, role="assistant")
    row = log(store, user_id, operation="title", cached_input_tokens=40, reasoning_tokens=10, cost="0.000375",
              prices={"input": "2.5"}, response_ms=900, first_token_ms=250, streaming_ms=650,
              message_id=message, at=utc(2025, 3, 31, 23, 59))
    got = store.usage.get(user_id, row.id)
    assert got.conversation_id == conv  # taken from the message
    assert got.cost == Decimal("0.000375") and got.prices == {"input": "2.5"}
    assert (got.input_tokens, got.output_tokens, got.cached_input_tokens, got.reasoning_tokens) == (100, 50, 40, 10)
    assert got.billing_period == "2025-03" and got.created_at == utc(2025, 3, 31, 23, 59)
    assert (got.response_ms, got.first_token_ms, got.streaming_ms) == (900, 250, 650)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"provider": ""}, "provider"),
        ({"operation": "embedding"}, "operation"),
        ({"input_tokens": -1}, "input_tokens"),
        ({"output_tokens": True}, "output_tokens"),
        ({"cached_input_tokens": 101}, "cached_input_tokens"),
        ({"reasoning_tokens": 51}, "reasoning_tokens"),
        ({"cost": "-0.01"}, "cost"),
        ({"cost": "free"}, "cost"),
        ({"prices": {"input": Decimal("1")}}, "prices"),
        ({"response_ms": -5}, "response_ms"),
        ({"success": "no"}, "success"),
    ],
)
def test_record_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        log(store, user_id, **kwargs)
    assert info.value.field == field


def test_record_checks_ownership(store: Storage, user_id: str, other_user_id: str) -> None:
    conv = make_conversation(store.db, user_id)
    message = make_message(store.db, user_id, conv)
    with pytest.raises(NotFound):
        log(store, other_user_id, conversation_id=conv)
    with pytest.raises(NotFound):
        log(store, other_user_id, message_id=message)
    with pytest.raises(ValidationError):
        log(store, user_id, conversation_id=make_conversation(store.db, user_id), message_id=message)


def test_totals_and_unpriced_calls(store: Storage, user_id: str, other_user_id: str) -> None:
    log(store, user_id, cost="0.10", at=utc(2025, 1, 1, 10))
    log(store, user_id, provider="anthropic", model="claude-haiku-4-5", cost="0.05", cached_input_tokens=20,
        at=utc(2025, 1, 2, 10))
    log(store, user_id, model="mystery", cost=None, success=False, error_kind="rate_limit", at=utc(2025, 1, 3))
    log(store, other_user_id, cost="99")

    all_time = store.usage.totals(user_id)
    assert all_time.calls == 3 and all_time.cost == Decimal("0.15") and all_time.unpriced_calls == 1
    assert all_time.input_tokens == 300 and all_time.output_tokens == 150 and all_time.total_tokens == 450
    assert all_time.cached_input_tokens == 20 and all_time.errors == 1
    jan2 = store.usage.totals(user_id, since=utc(2025, 1, 2), until=utc(2025, 1, 3))
    assert jan2.calls == 1 and jan2.cost == Decimal("0.05")
    assert store.usage.totals(user_id, provider="openai").cost == Decimal("0.10")
    assert store.usage.totals(user_id, model="mystery").unpriced_calls == 1
    empty = store.usage.totals(user_id, since=utc(2030, 1, 1))
    assert empty.calls == 0 and empty.cost == Decimal(0) and empty.total_tokens == 0


def test_by_day_model_provider_conversation(store: Storage, user_id: str) -> None:
    c1 = make_conversation(store.db, user_id, title="Lisbon trip")
    c2 = make_conversation(store.db, user_id, title="Taxes")
    log(store, user_id, cost="0.30", conversation_id=c1, at=utc(2025, 5, 1, 23, 30))
    log(store, user_id, cost="0.20", conversation_id=c1, at=utc(2025, 5, 2, 0, 30))
    log(store, user_id, provider="anthropic", model="claude-sonnet-4-5", cost="1.00", conversation_id=c2,
        at=utc(2025, 5, 2, 12))
    log(store, user_id, model="mystery", cost=None, at=utc(2025, 5, 3))

    days = store.usage.by(user_id, "day")
    assert [(g.key, g.totals.calls, g.totals.cost) for g in days] == [
        ("2025-05-01", 1, Decimal("0.30")), ("2025-05-02", 2, Decimal("1.20")), ("2025-05-03", 1, Decimal(0))]
    models = store.usage.by(user_id, "model")
    assert [(g.key, g.totals.cost) for g in models] == [
        ("claude-sonnet-4-5", Decimal("1.00")), ("gpt-4o", Decimal("0.50")), ("mystery", Decimal(0))]
    assert models[2].totals.unpriced_calls == 1
    providers = store.usage.by(user_id, "provider", since=utc(2025, 5, 2), until=utc(2025, 5, 3))
    assert [(g.key, g.totals.cost) for g in providers] == [("anthropic", Decimal("1.00")), ("openai", Decimal("0.20"))]
    conversations = store.usage.by(user_id, "conversation")
    assert [(g.key, g.label, g.totals.cost) for g in conversations] == [
        (c2, "Taxes", Decimal("1.00")), (c1, "Lisbon trip", Decimal("0.50")), (None, None, Decimal(0))]
    with pytest.raises(ValidationError):
        store.usage.by(user_id, "week")  # type: ignore[arg-type]


def test_spend_per_utc_day_and_month(store: Storage, user_id: str) -> None:
    log(store, user_id, cost="1.00", at=utc(2025, 2, 28, 23, 59, 59))
    log(store, user_id, cost="2.00", at=utc(2025, 3, 1, 0, 0, 0))
    log(store, user_id, provider="anthropic", cost="4.00", at=utc(2025, 3, 15))
    log(store, user_id, model="mystery", cost=None, at=utc(2025, 3, 15))

    day = store.usage.spend(user_id, "day", at=utc(2025, 3, 1, 12))
    assert day.cost == Decimal("2.00") and day.calls == 1 and day.tokens == 150
    assert (day.since, day.until) == (utc(2025, 3, 1), utc(2025, 3, 2))
    month = store.usage.spend(user_id, "month", at=utc(2025, 3, 20))
    assert month.cost == Decimal("6.00") and month.calls == 3 and month.unpriced_calls == 1
    assert store.usage.spend(user_id, "month", provider="openai", at=utc(2025, 3, 20)).cost == Decimal("2.00")
    assert store.usage.spend(user_id, "month", at=utc(2025, 2, 1)).cost == Decimal("1.00")


def test_period_bounds() -> None:
    assert period_bounds("month", utc(2025, 12, 31, 23)) == (utc(2025, 12, 1), utc(2026, 1, 1))
    assert period_bounds("day", utc(2024, 2, 29, 5)) == (utc(2024, 2, 29), utc(2024, 3, 1))
    with pytest.raises(ValidationError):
        period_bounds("year")


def test_usage_survives_its_conversation(store: Storage, user_id: str) -> None:
    conv = make_conversation(store.db, user_id)
    row = log(store, user_id, conversation_id=conv, cost="0.01")
    with store.db.write() as session:
        session.delete(session.get(Conversation, conv))
    kept = fetch(store.db, UsageLog, row.id)
    assert kept is not None and kept.conversation_id is None
    assert store.usage.totals(user_id).cost == Decimal("0.01")

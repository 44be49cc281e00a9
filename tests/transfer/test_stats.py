"""``tui-chat stats``: grouped usage with unknown prices shown as unknown, percentiles,
errors and ratings, a bar chart, JSON for scripts, idempotent daily aggregates."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from storage import Storage
from tests.storage.factories import make_feedback

RANGE = ("--since", "2025-06-14", "--until", "2025-06-15")


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def usage(store: Storage, me: str) -> dict[str, str]:
    conv = store.conversations.create(me, title="Budget talk", provider="openai", model="gpt-4o")
    message = store.messages.add(me, conv.id, role="assistant", content="hi", created_at=at(15))

    def call(model: str, provider: str, day: int, inp: int, out: int, **kw) -> None:
        kind = "openai" if provider == "openai" else "openai-compatible"
        quote = store.catalog.cost(kind, model, inp, out, kw.get("cached_input_tokens", 0))
        kw.setdefault("cost", quote.cost)
        store.usage.record(me, provider=provider, model=model, input_tokens=inp, output_tokens=out,
                           prices=quote.prices, conversation_id=conv.id, at=at(day), **kw)

    call("gpt-4o", "openai", 14, 1000, 100, cached_input_tokens=200, response_ms=1000, first_token_ms=200)
    call("gpt-4o", "openai", 15, 2000, 300, response_ms=3000, first_token_ms=400)
    call("mystery-model", "ollama", 15, 500, 50, response_ms=2000, first_token_ms=300)
    call("gpt-4o-mini", "openai", 15, 0, 0, success=False, error_kind="server", cost="0")
    call("gpt-4o", "openai", 20, 999, 999)  # outside the range
    for rating in (1, 1, 1, -1):
        other = store.messages.add(me, conv.id, role="assistant", content="x", created_at=at(15))
        make_feedback(store.db, me, other.id, rating, created_at=at(15, 13))
    return {"conversation": conv.id, "message": message.id}


def test_table_by_model_shows_unknown_prices_as_unknown(cli, usage) -> None:
    result = cli("stats", *RANGE, "--by", "model")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Usage 2025-06-14 to 2025-06-15 (UTC), by model"
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert rows["gpt-4o"].split()[1:5] == ["2", "3,000", "200", "400"]
    assert rows["gpt-4o"].endswith("$0.0112")  # (800*2.5 + 200*1.25 + 2000*2.5 + 400*10) / 1e6
    assert rows["mystery-model"].split()[1:5] == ["1", "500", "0", "50"] and rows["mystery-model"].endswith("unknown")
    assert rows["total"].endswith("$0.0112 + unknown")
    assert "price unknown for 1 call(s)" in result.out
    assert "response time   p50 2,000 ms  p95 2,900 ms" in result.out
    assert "first token     p50 300 ms  p95 390 ms" in result.out
    assert "errors          1 of 4 call(s)" in result.out
    assert "ratings         3 up / 1 down (75% up)" in result.out
    assert "█" not in result.out  # not a terminal: no chart


@pytest.mark.parametrize("group", ["day", "provider", "conversation"])
def test_other_groupings(cli, usage, group: str) -> None:
    out = cli("stats", *RANGE, "--by", group).out
    expected = {"day": ["2025-06-14", "2025-06-15"], "provider": ["openai", "ollama"],
                "conversation": ["Budget talk"]}[group]
    for key in expected:
        assert key in out
    if group == "provider":
        assert [line for line in out.splitlines() if line.startswith("ollama")][0].endswith("unknown")


def test_json_for_scripts(cli, usage) -> None:
    data = json.loads(cli("stats", *RANGE, "--by", "model", "--json").out)
    assert data["since"] == "2025-06-14" and data["until"] == "2025-06-15" and data["by"] == "model"
    groups = {g["key"]: g for g in data["groups"]}
    assert groups["mystery-model"]["cost_usd"] is None and groups["mystery-model"]["input_tokens"] == 500
    assert groups["gpt-4o"]["cost_usd"] == pytest.approx(0.01125)
    assert data["total"]["calls"] == 4 and data["total"]["unpriced_calls"] == 1
    assert data["response_ms"] == {"p50": 2000.0, "p95": 2900.0}
    assert data["first_token_ms"] == {"p50": 300.0, "p95": 390.0}
    assert data["errors"] == 1 and data["ratings"] == {"up": 3, "down": 1, "up_ratio": 0.75}
    days = {d["day"]: d for d in data["days"]}
    assert set(days) == {"2025-06-14", "2025-06-15"}
    assert days["2025-06-15"]["input_tokens"] == 2500 and days["2025-06-15"]["unpriced_calls"] == 1
    assert days["2025-06-15"]["errors"] == 1 and days["2025-06-15"]["ratings_up"] == 3


def test_chart_of_tokens_and_cost_per_day(cli, usage) -> None:
    out = cli("stats", *RANGE, "--chart").out
    tokens = out[out.index("tokens per day"):out.index("cost per day")].splitlines()[1:3]
    cost = out[out.index("cost per day"):].splitlines()[1:3]
    assert tokens[0].startswith("2025-06-14 │█") and tokens[0].rstrip().endswith("1,100")
    assert tokens[1].startswith("2025-06-15 │█") and tokens[1].rstrip().endswith("2,850")
    assert tokens[1].count("█") > tokens[0].count("█")
    assert cost[1].rstrip().endswith("$0.0080 + unknown")


def test_daily_aggregates_are_recomputed_idempotently(cli, store, me, usage) -> None:
    first = json.loads(cli("stats", *RANGE, "--json").out)["days"]
    second = json.loads(cli("stats", *RANGE, "--json").out)["days"]
    assert first == second
    rows = store.analytics.days(me, at(14).date(), at(15).date())
    assert len(rows) == 2 and rows[1].input_tokens == 2500
    # A late write to a finished day shows in the table at once, in the aggregates on --recompute.
    store.usage.record(me, provider="openai", model="gpt-4o", input_tokens=100, output_tokens=0, cost="0.01", at=at(14))
    data = json.loads(cli("stats", *RANGE, "--json").out)
    assert data["total"]["input_tokens"] == 3600 and data["days"][0]["input_tokens"] == 1000
    data = json.loads(cli("stats", *RANGE, "--json", "--recompute").out)
    assert data["days"][0]["input_tokens"] == 1100
    assert len(store.analytics.days(me, at(14).date(), at(15).date())) == 2


def test_default_range_and_bad_dates(cli, store, me) -> None:
    store.usage.record(me, provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5, cost="0.001")
    data = json.loads(cli("stats", "--json").out)
    assert data["total"]["calls"] == 1 and len(data["days"]) == 30
    assert json.loads(cli("stats", "--since", "yesterday", "--json").out)["total"]["calls"] == 1
    bad = cli("stats", "--since", "last tuesday")
    assert bad.code == 2 and "YYYY-MM-DD" in bad.err
    backwards = cli("stats", "--since", "2025-06-15", "--until", "2025-06-14")
    assert backwards.code == 2 and "after --until" in backwards.err

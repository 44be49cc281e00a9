"""Budgets (set, list with spend, remove; a turn over budget refused with exit code 5)
and costs (unknown prices stay unknown; the catalog updated from a file)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from storage import Storage
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.provider_wire import Scenario


def test_budget_set_list_remove(cli, store: Storage, me: str) -> None:
    day = cli("budget", "set", "day", "--max-cost", "5")
    assert day.code == 0 and "daily budget (all providers): $5.00" in day.err
    month = cli("budget", "set", "month", "--max-tokens", "100000", "--max-cost", "$50", "--provider", "openai")
    assert month.code == 0 and "monthly budget for openai: $50.00 and 100,000 tokens" in month.err
    store.usage.record(me, provider="openai", model="gpt-4o", input_tokens=20_000, output_tokens=5_000, cost="1.25")
    store.usage.record(me, provider="openai", model="mystery", input_tokens=1_000, output_tokens=0)
    listed = cli("budget", "list").out.splitlines()
    assert len(listed) == 3
    assert listed[1].split()[1:3] == ["day", "(all)"] and "$1.25 of $5.00 (25%)" in listed[1]
    assert "+1 call(s) with unknown price" in listed[1]
    assert "26,000 of 100,000 tokens (26%)" in listed[2] and "$1.25 of $50.00 (2%)" in listed[2]
    data = json.loads(cli("budget", "list", "--json").out)
    assert data[0]["max_cost"] == 5.0 and data[0]["spent"]["cost_usd"] == 1.25 and data[0]["spent"]["unpriced_calls"] == 1
    assert cli("budget", "remove", day.out.strip()).code == 0
    assert len(store.budgets.list(me)) == 1
    assert cli("budget", "remove", "nope").code == 2


def test_budget_set_needs_a_cap(cli) -> None:
    assert cli("budget", "set", "day").code == 2
    assert cli("budget", "set", "week", "--max-cost", "1").code == 2
    bad = cli("budget", "set", "day", "--max-cost", "lots")
    assert bad.code == 2 and "not an amount of money" in bad.err


def test_models_load_updates_the_catalog_and_unknown_prices_say_unknown(cli, tmp_path: Path) -> None:
    catalog = tmp_path / "prices.json"
    catalog.write_text(json.dumps([
        {"provider_kind": "openai-compatible", "model": "local-llama", "context_window": 8192},
        {"provider_kind": "openai-compatible", "model": "cheap-model", "context_window": 32000,
         "input_price": "0.10", "output_price": "0.40"},
    ]))
    result = cli("models", "--load", catalog, "--provider-kind", "openai-compatible")
    assert result.code == 0 and "loaded 2 model(s)" in result.err
    rows = {line.split()[1]: line for line in result.out.splitlines()[1:]}
    assert rows["local-llama"].split()[-3:] == ["unknown"] * 3
    assert rows["cheap-model"].split()[-3:] == ["$0.1", "=input", "$0.4"]
    models = {m["model"]: m for m in json.loads(cli("models", "--json").out)}
    assert Decimal(models["cheap-model"]["input_price"]) == Decimal("0.10") and models["local-llama"]["input_price"] is None
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad = cli("models", "--load", broken)
    assert bad.code == 2 and "is not valid JSON" in bad.err and bad.err.count("\n") == 1


def test_unknown_model_records_tokens_and_unknown_cost(run_cli, fake_provider: FakeProviderServer, cli,
                                                        tmp_path: Path) -> None:
    fake_provider.queue(Scenario(text="hello", input_tokens=1200, output_tokens=30))
    result = run_cli("-p", "hi", "--model", "brand-new-model", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cost_usd"] is None
    data = json.loads(cli("stats", "--by", "model", "--json").out)
    assert data["groups"][0]["key"] == "brand-new-model" and data["groups"][0]["input_tokens"] == 1200
    assert data["groups"][0]["cost_usd"] is None
    assert cli("stats", "--by", "model").out.splitlines()[2].endswith("unknown")
    # Prices that arrive later do not rewrite history.
    catalog = tmp_path / "prices.json"
    catalog.write_text(json.dumps([{"provider_kind": "openai", "model": "brand-new-model",
                                    "input_price": "1", "output_price": "1"}]))
    assert cli("models", "--load", catalog).code == 0
    assert json.loads(cli("stats", "--json").out)["total"]["cost_usd"] is None


def test_a_turn_over_budget_is_refused_with_exit_code_5(run_cli, fake_provider: FakeProviderServer, cli,
                                                         store: Storage, me: str) -> None:
    assert cli("budget", "set", "day", "--max-cost", "0.001").code == 0
    fake_provider.queue(Scenario(text="first", input_tokens=1000, output_tokens=10))
    first = run_cli("-p", "one", "--model", "gpt-4o")
    assert first.returncode == 0, first.stderr
    assert store.usage.spend(me, "day").cost == Decimal("0.0026")
    second = run_cli("-p", "two", "--model", "gpt-4o")
    assert second.returncode == 5
    assert "Daily budget reached: spent $0.0026 of $0.0010" in second.stderr
    assert len(fake_provider.chat_requests()) == 1  # the provider was never called
    assert "$0.0026 of $0.0010 (260%)" in cli("budget", "list").out

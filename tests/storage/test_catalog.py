"""Model catalog: built-in seed, snapshot fallback, file loading, exact costs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from storage import Storage, ValidationError
from storage.catalog_data import BUILTIN_MODELS
from storage.services.catalog import validate_entry


@pytest.fixture
def seeded(store: Storage) -> Storage:
    store.catalog.seed_builtin()
    return store


def test_builtin_data_is_valid_and_unique() -> None:
    keys = [(e["provider_kind"], e["model"]) for e in BUILTIN_MODELS]
    assert len(keys) == len(set(keys))
    for index, entry in enumerate(BUILTIN_MODELS):
        clean = validate_entry(entry, f"builtin[{index}]")
        assert clean["input_price"] is not None and clean["output_price"] is not None
        assert clean["cached_input_price"] <= clean["input_price"] <= clean["output_price"]
    models = {model for _, model in keys}
    for family in ("gpt-5", "gpt-5-mini", "gpt-4.1", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini",
                   "claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"):
        assert family in models


def test_seed_is_idempotent(store: Storage) -> None:
    assert store.catalog.seed_builtin() == len(BUILTIN_MODELS)
    assert store.catalog.seed_builtin() == 0
    assert len(store.catalog.list()) == len(BUILTIN_MODELS)


def test_seed_repairs_builtin_rows_but_keeps_user_rows(seeded: Storage) -> None:
    seeded.catalog.upsert("openai", "gpt-4o", source="user", input_price="9", output_price="9")
    with seeded.db.write() as session:
        from storage.models import ProviderModel

        row = session.query(ProviderModel).filter_by(provider_kind="openai", model="o3").one()
        row.input_price = Decimal("99")
    assert seeded.catalog.seed_builtin() == 1
    assert seeded.catalog.get("openai", "o3").input_price == Decimal("2.00")
    assert seeded.catalog.get("openai", "gpt-4o").input_price == Decimal("9")


def test_get_known_models_and_capabilities(seeded: Storage) -> None:
    gpt = seeded.catalog.get("openai", "gpt-4o")
    assert gpt.context_window == 128_000 and gpt.max_output_tokens == 16_384
    assert gpt.input_price == Decimal("2.50") and gpt.cached_input_price == Decimal("1.25")
    assert gpt.output_price == Decimal("10.00") and gpt.supports_tools and not gpt.supports_reasoning
    opus = seeded.catalog.get("anthropic", "claude-opus-4-1")
    assert opus.output_price == Decimal("75.00") and opus.supports_reasoning


@pytest.mark.parametrize(
    ("kind", "asked", "found"),
    [
        ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai", "gpt-4.1-2025-04-14", "gpt-4.1"),
        ("openai", "gpt-5-2025-08-07", "gpt-5"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("anthropic", "claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
    ],
)
def test_dated_snapshots_fall_back_to_their_model(seeded: Storage, kind: str, asked: str, found: str) -> None:
    assert seeded.catalog.get(kind, asked).model == found


@pytest.mark.parametrize(
    ("kind", "asked"),
    [
        ("openai", "gpt-4o-audio-preview"),  # a different model, not a snapshot
        ("openai", "o3-pro"),
        ("openai", "gpt-5-codex"),
        ("openai", "gpt-5.2"),
        ("anthropic", "claude-opus-4-6"),
        ("anthropic", "gpt-4o"),  # wrong provider kind
        ("openai-compatible", "llama3.1"),
    ],
)
def test_unknown_models_have_no_entry_and_no_price(seeded: Storage, kind: str, asked: str) -> None:
    assert seeded.catalog.get(kind, asked) is None
    quote = seeded.catalog.cost(kind, asked, 1000, 1000, 0)
    assert quote.cost is None and quote.prices is None


def test_cost_bills_cached_tokens_at_the_cached_price(seeded: Storage) -> None:
    # gpt-4o: $2.50 input, $1.25 cached, $10 output per million.
    quote = seeded.catalog.cost("openai", "gpt-4o-2024-08-06", 1_000_000, 100_000, 400_000)
    assert quote.cost == Decimal("3")  # 600k*2.50 + 400k*1.25 + 100k*10 = 1.50 + 0.50 + 1.00
    assert quote.model == "gpt-4o"
    assert quote.prices == {"model": "gpt-4o", "unit": "USD per 1M tokens", "input": "2.5",
                            "cached_input": "1.25", "output": "10"}
    small = seeded.catalog.cost("anthropic", "claude-haiku-4-5", 1234, 567, 0)
    assert small.cost == Decimal("0.004069")  # 1234 * 1e-6 + 567 * 5e-6
    assert seeded.catalog.cost("openai", "gpt-5-nano", 0, 0, 0).cost == Decimal(0)


def test_cost_validation(seeded: Storage) -> None:
    with pytest.raises(ValidationError) as info:
        seeded.catalog.cost("openai", "gpt-4o", 10, 10, 11)
    assert info.value.field == "cached_input_tokens"
    with pytest.raises(ValidationError):
        seeded.catalog.cost("openai", "gpt-4o", -1, 10, 0)


def test_model_without_cached_price_gets_no_discount(store: Storage) -> None:
    store.catalog.upsert("openai-compatible", "local-model", input_price="1", output_price="2")
    assert store.catalog.cost("openai-compatible", "local-model", 1_000_000, 0, 500_000).cost == Decimal(1)
    store.catalog.upsert("openai-compatible", "free-ish", input_price="1")  # no output price
    assert store.catalog.cost("openai-compatible", "free-ish", 10, 10, 0).cost is None


def test_upsert_replaces_and_validates(store: Storage) -> None:
    first = store.catalog.upsert("openai-compatible", "m", input_price="0.1", output_price="0.2",
                                 context_window=32_000, supports_tools=True)
    assert first.source == "user" and first.context_window == 32_000 and first.supports_tools
    second = store.catalog.upsert("openai-compatible", "m", input_price="0.3", output_price="0.4")
    assert second.input_price == Decimal("0.3") and second.context_window is None
    assert len(store.catalog.list("openai-compatible")) == 1
    for bad in ({"input_price": "-1"}, {"context_window": 0}, {"supports_tools": "yes"}, {"colour": "red"}):
        with pytest.raises(ValidationError):
            store.catalog.upsert("openai-compatible", "m", **bad)
    with pytest.raises(ValidationError):
        store.catalog.upsert("mistral", "m")


def test_list_filters(seeded: Storage) -> None:
    anthropic = seeded.catalog.list("anthropic")
    assert anthropic and all(m.provider_kind == "anthropic" for m in anthropic)
    assert [m.model for m in anthropic] == sorted(m.model for m in anthropic)
    seeded.catalog.upsert("anthropic", "claude-old", is_active=False)
    assert "claude-old" not in {m.model for m in seeded.catalog.list("anthropic")}
    assert "claude-old" in {m.model for m in seeded.catalog.list("anthropic", active_only=False)}


def test_load_file(store: Storage, tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps([
        {"provider_kind": "openai-compatible", "model": "llama3.1:70b", "context_window": 131072,
         "input_price": "0", "output_price": "0", "supports_tools": True},
        {"provider_kind": "openai", "model": "gpt-4o", "input_price": 2.5, "output_price": 10},
    ]))
    assert store.catalog.load_file(path) == 2
    llama = store.catalog.get("openai-compatible", "llama3.1:70b")
    assert llama.source == "file" and llama.context_window == 131072
    assert store.catalog.cost("openai-compatible", "llama3.1:70b", 10, 10, 0).cost == Decimal(0)
    assert store.catalog.get("openai", "gpt-4o").source == "file"
    assert store.catalog.seed_builtin() == len(BUILTIN_MODELS) - 1  # the file's gpt-4o is kept
    assert store.catalog.get("openai", "gpt-4o").source == "file"


def test_load_file_is_all_or_nothing(store: Storage, tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps([
        {"provider_kind": "openai", "model": "good", "input_price": "1", "output_price": "1"},
        {"provider_kind": "openai", "model": "bad", "input_price": "free"},
    ]))
    with pytest.raises(ValidationError) as info:
        store.catalog.load_file(path)
    assert info.value.field == "entries[1].input_price"
    assert store.catalog.get("openai", "good") is None
    for content, message in (("{not json", "not valid JSON"), ('{"a": 1}', "JSON list")):
        path.write_text(content)
        with pytest.raises(ValidationError, match=message):
            store.catalog.load_file(path)
    with pytest.raises(ValidationError, match="cannot read"):
        store.catalog.load_file(tmp_path / "missing.json")

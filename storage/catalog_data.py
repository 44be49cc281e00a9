"""The built-in model catalog: OpenAI and Anthropic models with their published prices.

Prices are US dollars per million tokens, as published on the providers' pricing pages
(platform.openai.com/docs/pricing, docs.anthropic.com/en/docs/about-claude/pricing) and
taken in November 2025, standard (non-batch, non-priority) tier. ``cached_input`` is the
price of a prompt-cache hit (OpenAI "cached input", Anthropic "cache hits & refreshes").
Anthropic's cache *writes* (1.25x input for the 5-minute cache) have no column of their
own and are billed at the input price by :meth:`ModelCatalogService.cost`.

Only models whose prices and limits were known with confidence are listed; anything
else (newer models, other endpoints) can be added with ``tui-chat models`` from a JSON
file (:meth:`storage.services.catalog.ModelCatalogService.load_file`), and an unknown
model's cost is reported as unknown, never guessed.

Prices are strings so that they become exact ``Decimal`` values.
"""

from __future__ import annotations

from typing import Any

PRICES_TAKEN = "2025-11"


def _m(
    kind: str,
    model: str,
    name: str,
    window: int,
    max_output: int,
    input_price: str,
    cached: str,
    output_price: str,
    *,
    tools: bool = True,
    vision: bool = True,
    reasoning: bool = False,
) -> dict[str, Any]:
    return {
        "provider_kind": kind,
        "model": model,
        "display_name": name,
        "context_window": window,
        "max_output_tokens": max_output,
        "input_price": input_price,
        "cached_input_price": cached,
        "output_price": output_price,
        "supports_tools": tools,
        "supports_vision": vision,
        "supports_reasoning": reasoning,
    }


_OA = "openai"
_AN = "anthropic"
_GPT41_WINDOW = 1_047_576

BUILTIN_MODELS: tuple[dict[str, Any], ...] = (
    # OpenAI: GPT-5 family (reasoning models).
    _m(_OA, "gpt-5.1", "GPT-5.1", 400_000, 128_000, "1.25", "0.125", "10.00", reasoning=True),
    _m(_OA, "gpt-5", "GPT-5", 400_000, 128_000, "1.25", "0.125", "10.00", reasoning=True),
    _m(_OA, "gpt-5-mini", "GPT-5 mini", 400_000, 128_000, "0.25", "0.025", "2.00", reasoning=True),
    _m(_OA, "gpt-5-nano", "GPT-5 nano", 400_000, 128_000, "0.05", "0.005", "0.40", reasoning=True),
    # OpenAI: GPT-4.1 family (1M-token context, no reasoning).
    _m(_OA, "gpt-4.1", "GPT-4.1", _GPT41_WINDOW, 32_768, "2.00", "0.50", "8.00"),
    _m(_OA, "gpt-4.1-mini", "GPT-4.1 mini", _GPT41_WINDOW, 32_768, "0.40", "0.10", "1.60"),
    _m(_OA, "gpt-4.1-nano", "GPT-4.1 nano", _GPT41_WINDOW, 32_768, "0.10", "0.025", "0.40"),
    # OpenAI: GPT-4o.
    _m(_OA, "gpt-4o", "GPT-4o", 128_000, 16_384, "2.50", "1.25", "10.00"),
    _m(_OA, "gpt-4o-mini", "GPT-4o mini", 128_000, 16_384, "0.15", "0.075", "0.60"),
    # OpenAI: o-series reasoning models.
    _m(_OA, "o3", "o3", 200_000, 100_000, "2.00", "0.50", "8.00", reasoning=True),
    _m(_OA, "o4-mini", "o4-mini", 200_000, 100_000, "1.10", "0.275", "4.40", reasoning=True),
    _m(_OA, "o3-mini", "o3-mini", 200_000, 100_000, "1.10", "0.55", "4.40", vision=False, reasoning=True),
    _m(_OA, "o1", "o1", 200_000, 100_000, "15.00", "7.50", "60.00", reasoning=True),
    # Anthropic: Claude 4.x (extended thinking counts as reasoning).
    _m(_AN, "claude-opus-4-5", "Claude Opus 4.5", 200_000, 64_000, "5.00", "0.50", "25.00", reasoning=True),
    _m(_AN, "claude-opus-4-1", "Claude Opus 4.1", 200_000, 32_000, "15.00", "1.50", "75.00", reasoning=True),
    _m(_AN, "claude-opus-4-0", "Claude Opus 4", 200_000, 32_000, "15.00", "1.50", "75.00", reasoning=True),
    _m(_AN, "claude-opus-4", "Claude Opus 4", 200_000, 32_000, "15.00", "1.50", "75.00", reasoning=True),
    _m(_AN, "claude-sonnet-4-5", "Claude Sonnet 4.5", 200_000, 64_000, "3.00", "0.30", "15.00", reasoning=True),
    _m(_AN, "claude-sonnet-4-0", "Claude Sonnet 4", 200_000, 64_000, "3.00", "0.30", "15.00", reasoning=True),
    _m(_AN, "claude-sonnet-4", "Claude Sonnet 4", 200_000, 64_000, "3.00", "0.30", "15.00", reasoning=True),
    _m(_AN, "claude-haiku-4-5", "Claude Haiku 4.5", 200_000, 64_000, "1.00", "0.10", "5.00", reasoning=True),
    # Anthropic: Claude 3.x still in use.
    _m(_AN, "claude-3-7-sonnet", "Claude Sonnet 3.7", 200_000, 64_000, "3.00", "0.30", "15.00", reasoning=True),
    _m(_AN, "claude-3-5-haiku", "Claude Haiku 3.5", 200_000, 8_192, "0.80", "0.08", "4.00"),
)

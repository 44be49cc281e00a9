"""The registry, built-in settings, import hygiene and the shared helpers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from tui_chat.providers import (
    PROVIDER_KINDS,
    Provider,
    ProviderError,
    ProviderSettings,
    builtin_provider_settings,
    create_provider,
)
from tui_chat.providers._common import clean_message, normalise_finish, parse_retry_after


def test_kinds_map_to_lazy_targets() -> None:
    assert set(PROVIDER_KINDS) == {"openai", "anthropic", "openai-compatible"}
    assert all(":" in target for target in PROVIDER_KINDS.values())


@pytest.mark.parametrize(
    ("kind", "class_name"),
    [("openai", "OpenAIProvider"), ("openai-compatible", "OpenAIProvider"), ("anthropic", "AnthropicProvider")],
)
async def test_create_provider_builds_the_right_class(kind: str, class_name: str) -> None:
    provider = create_provider(ProviderSettings(name="p", kind=kind, base_url="http://127.0.0.1:9/v1"))
    assert type(provider).__name__ == class_name
    assert isinstance(provider, Provider)
    assert provider.settings.kind == kind
    await provider.aclose()


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ProviderError) as info:
        create_provider(ProviderSettings(name="x", kind="gemini-native"))
    assert info.value.kind == "config"
    assert "gemini-native" in str(info.value)


def test_compatible_kind_requires_a_base_url() -> None:
    with pytest.raises(ProviderError) as info:
        create_provider(ProviderSettings(name="local", kind="openai-compatible"))
    assert info.value.kind == "config"
    assert "base URL" in info.value.message


def test_builtin_settings() -> None:
    by_name = {s.name: s for s in builtin_provider_settings()}
    assert set(by_name) == {"openai", "anthropic", "ollama"}
    assert by_name["openai"].kind == "openai" and by_name["openai"].api_key is None
    assert by_name["anthropic"].kind == "anthropic" and by_name["anthropic"].api_key is None
    ollama = by_name["ollama"]
    assert (ollama.kind, ollama.base_url, ollama.api_key) == ("openai-compatible", "http://localhost:11434/v1", None)
    for settings in by_name.values():  # each one can be built without a key or network
        assert create_provider(settings).settings is settings


def test_importing_providers_loads_no_sdk() -> None:
    code = textwrap.dedent("""
        import sys
        import tui_chat.providers
        from tui_chat.providers import create_provider, builtin_provider_settings, PROVIDER_KINDS
        heavy = [m for m in ("openai", "anthropic", "httpx2", "textual") if m in sys.modules]
        print(",".join(heavy) or "clean")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "clean"


def test_provider_modules_never_import_textual() -> None:
    code = ("import sys, tui_chat.providers.openai_provider, tui_chat.providers.anthropic_provider;"
            "print('textual' in sys.modules, 'storage' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"


# --- helpers -----------------------------------------------------------------------------


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after({"retry-after": format_datetime(now, usegmt=True)}, now=now.timestamp() + 60) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_clean_message_is_one_safe_line() -> None:
    key = "sk-proj-AbCdEf0123456789XyZ"
    text = f"bad key {key}\nplease check  sk-pro**********XyZ and Bearer {key}"
    cleaned = clean_message(text, key)
    assert "\n" not in cleaned
    assert "AbCdEf" not in cleaned and "XyZ" not in cleaned
    assert cleaned.startswith("bad key [redacted]")
    assert len(clean_message("x" * 5000)) <= 300


@pytest.mark.parametrize(
    ("raw", "had_calls", "expected"),
    [("stop", False, "stop"), ("end_turn", False, "stop"), ("stop_sequence", False, "stop"),
     ("length", False, "length"), ("max_tokens", False, "length"), ("tool_calls", True, "tool_calls"),
     ("tool_use", True, "tool_calls"), ("stop", True, "tool_calls"), ("content_filter", False, "content_filter"),
     ("refusal", False, "content_filter"), ("pause_turn", False, "other"), (None, False, "other")],
)
def test_finish_reasons_normalise(raw: str | None, had_calls: bool, expected: str) -> None:
    assert normalise_finish(raw, had_tool_calls=had_calls) == expected


def test_clean_message_is_linear_on_long_input() -> None:
    import time

    start = time.perf_counter()
    clean_message("x" * 200_000)
    clean_message("a*b " * 50_000)
    assert time.perf_counter() - start < 1.0  # generous: quadratic regex backtracking would take minutes


def test_openai_content_parts_and_indexless_tool_calls() -> None:
    from tui_chat.providers import ReasoningDelta, TextDelta
    from tui_chat.providers.openai_provider import _collect, _content_parts, _flush

    parts = [{"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]}, {"type": "text", "text": "Hi"}]
    assert _content_parts(parts) == [ReasoningDelta("hm"), TextDelta("Hi")]
    pending: dict = {}
    last = -1
    for fragment in (  # a server that omits "index": ids start calls, id-less fragments continue them
        {"id": "a", "function": {"name": "f", "arguments": '{"x"'}},
        {"function": {"arguments": ": 1}"}},
        {"id": "b", "function": {"name": "g", "arguments": "{}"}},
    ):
        last = _collect([fragment], pending, last)
    calls = [r.call for r in _flush(pending, "p")]
    assert [(c.id, c.name, c.arguments) for c in calls] == [("a", "f", '{"x": 1}'), ("b", "g", "{}")]
    assert pending == {}

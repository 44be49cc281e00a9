"""The core (storage, engine, providers, tools, scripted mode) never loads Textual, and
cheap paths never load what they do not use (SDKs, Alembic, the tokenizer)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", [
    "storage", "storage.services.messages", "storage.migrate", "tui_chat.engine.turn", "tui_chat.engine.context",
    "tui_chat.providers", "tui_chat.scripted", "tui_chat.transfer", "tui_chat.secrets", "tui_chat.cli",
    "tui_chat.tools", "tui_chat.stats",
])
def test_core_modules_do_not_import_textual(module: str) -> None:
    assert "textual" not in loaded_after(f"import {module}")


def test_storage_does_not_import_the_app() -> None:
    assert "tui_chat" not in loaded_after("import storage, storage.services.conversations, storage.services.search")


def test_version_loads_nothing_heavy() -> None:
    code = "from tui_chat.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass"
    loaded = loaded_after(code)
    assert not loaded & {"openai", "anthropic", "sqlalchemy", "alembic", "textual", "tiktoken", "keyring", "mcp"}


def test_engine_loads_no_sdk_until_a_provider_is_used() -> None:
    loaded = loaded_after("import tui_chat.engine.turn, tui_chat.engine.directory")
    assert not loaded & {"openai", "anthropic", "tiktoken", "alembic", "mcp"}

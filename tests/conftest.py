"""Shared test setup: fixture plugins and an isolated environment for every test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Fixture modules. Add yours here (e.g. "tests.fakes.fixtures"); one entry per line.
pytest_plugins = [
    "tests.infra.postgres",  # pg_server, pg_url
    "tests.infra.keyring_daemon",  # secret_service, secret_service_keyring
    "tests.infra.memory_keyring",  # memory_keyring, key_store
]

#: Environment variables that would point the app at real data or real keys.
CLEARED_ENV = (
    "TUI_CHAT_DB",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real home, database, keys and keyring.

    * ``TUI_CHAT_HOME`` is a per-test directory (not created: the app creates it).
    * The database URL, API keys and base URLs are removed from the environment.
    * keyring's default backend is the failing one (``keyring.get_keyring()`` is
      re-detected from that), and the session bus points nowhere, so nothing reaches
      the user's real Secret Service. Tests that want a keyring ask for
      ``memory_keyring``/``key_store`` or ``secret_service_keyring``.
    """
    monkeypatch.setenv("TUI_CHAT_HOME", str(tmp_path / "tui-chat-home"))
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-session-bus")
    keyring_core = sys.modules.get("keyring.core")
    if keyring_core is not None:
        monkeypatch.setattr(keyring_core, "_keyring_backend", None)

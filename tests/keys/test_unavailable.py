"""No usable keyring (keyring's fail backend, as on a headless box): a clear one-line
message with the fixes and exit 3, never a traceback; the environment variable still works.

Real subprocesses, with the conftest's environment (``PYTHON_KEYRING_BACKEND`` naming the
fail backend, no session bus).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.keys.conftest import assert_nowhere, tui

KEY = "sk-proj-NoKeyring8Df3Gh6Jk9Lz2Xc5Vb1Nm4Qw7"
MODEL = "fake-model-small"
FIXES = ("gnome-keyring", "PYTHON_KEYRING_BACKEND", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")


def _assert_no_keyring(result) -> None:
    assert result.returncode == 3, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no keyring backend is available" in lines[0]
    assert all(fix in lines[0] for fix in FIXES), lines[0]
    assert "Traceback" not in result.stderr


def test_keys_set_without_a_keyring():
    started = time.monotonic()
    result = tui("keys", "set", "openai", input=KEY)
    assert time.monotonic() - started < 20
    _assert_no_keyring(result)
    assert result.stdout == ""
    assert_nowhere(KEY, result.stderr)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_scripted_turn_without_a_keyring(kind, fake_provider_factory):
    server = fake_provider_factory(api_key=KEY)
    base_var, base = ((
        "OPENAI_BASE_URL", server.base_url_openai) if kind == "openai" else ("ANTHROPIC_BASE_URL", server.base_url_anthropic))
    result = tui("-p", "hi", "--provider", kind, "--model", MODEL, env={base_var: base})
    _assert_no_keyring(result)
    assert server.chat_requests() == []

    # With the SDK's environment variable the same turn works, and the key is used only.
    env_var = f"{kind.upper()}_API_KEY"
    turn = tui("-p", "hi", "--provider", kind, "--model", MODEL, "--output-format", "json",
               env={base_var: base, env_var: KEY})
    assert turn.returncode == 0, turn.stderr
    assert json.loads(turn.stdout)["text"]
    request = server.chat_requests()[-1]
    assert request.headers.get("x-api-key") == KEY or request.headers.get("authorization") == f"Bearer {KEY}"
    assert_nowhere(KEY, turn.stdout, turn.stderr)


def test_added_provider_with_api_key_env_works_without_a_keyring(fake_provider_factory):
    """An openai-compatible endpoint whose key comes from the variable named by --api-key-env."""
    server = fake_provider_factory(api_key=KEY)
    added = tui("providers", "add", "local", "--kind", "openai-compatible", "--base-url", server.base_url_openai,
                "--default-model", MODEL, "--api-key-env", "LOCAL_LLM_KEY")
    assert added.returncode == 0, added.stderr
    listed = tui("providers", "list", "--json", env={"LOCAL_LLM_KEY": KEY})
    entry = next(e for e in json.loads(listed.stdout) if e["name"] == "local")
    assert entry["key"]["status"] == "env LOCAL_LLM_KEY"
    turn = tui("-p", "hi", "--provider", "local", env={"LOCAL_LLM_KEY": KEY})
    assert turn.returncode == 0, turn.stderr
    assert server.chat_requests()[-1].headers["authorization"] == f"Bearer {KEY}"
    assert_nowhere(KEY, turn.stdout, turn.stderr, listed.stdout, listed.stderr)


def test_misspelled_backend_choice():
    result = tui("keys", "list", env={"PYTHON_KEYRING_BACKEND": "keyring.backends.NoSuch.Keyring"})
    assert result.returncode == 3
    assert "PYTHON_KEYRING_BACKEND" in result.stderr and "cannot be loaded" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1

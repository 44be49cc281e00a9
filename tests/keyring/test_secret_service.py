"""KeyStore against a real Secret Service (gnome-keyring on a private bus)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.infra import skip_or_fail
from tui_chat.secrets import KeyringUnavailable, KeyRecord, KeyStore, fingerprint, resolve_api_key

pytestmark = pytest.mark.keyring

KEY = "sk-proj-Rt5Yu8Io2Pa4Sd6Fg9Hj1Kl3Zx7Cv0Bn"
OTHER_KEY = "sk-ant-api03-Wq3Er6Ty9Ui2Op5As8Df1Gh4Jk"
REPO = Path(__file__).resolve().parents[2]


def test_round_trip(secret_service_keyring):
    store = KeyStore(backend=secret_service_keyring)
    record = store.set("openai", KEY)
    assert record == KeyRecord("openai", "keyring:tui-chat/openai", fingerprint(KEY))
    store.set("anthropic", f"{OTHER_KEY}\n")
    assert store.get("openai") == KEY
    assert store.get("anthropic") == OTHER_KEY
    assert [r.name for r in store.list()] == ["anthropic", "openai"]
    assert store.delete("openai") is True
    assert store.delete("openai") is False
    assert store.get("openai") is None
    assert [r.name for r in store.list()] == ["anthropic"]


def test_default_backend_under_the_fixture_is_secret_service(secret_service_keyring):
    store = KeyStore()  # keyring.get_keyring(): the fixture's SecretService backend
    store.set("openai", KEY)
    assert store.get("openai") == KEY
    assert resolve_api_key("openai", "openai", store, {"OPENAI_API_KEY": OTHER_KEY}).source == "keyring"


def test_the_key_is_nowhere_on_disk(secret_service, secret_service_keyring):
    home = Path(os.environ["TUI_CHAT_HOME"])
    (home / "data").mkdir(parents=True)
    (home / "data" / "note.txt").write_text("a file the app might have written")
    KeyStore(backend=secret_service_keyring).set("openai", KEY)
    needle = KEY.encode()
    for path in [*home.rglob("*"), *secret_service.files()]:
        if path.is_file():
            assert needle not in path.read_bytes(), path
    # gnome-keyring wrote its keyring file, encrypted: the key is not in it either.
    assert any(p.name.endswith(".keyring") for p in secret_service.files())


def test_locked_collection_is_refused_without_a_prompt(secret_service, secret_service_keyring):
    store = KeyStore(backend=secret_service_keyring)
    store.set("openai", KEY)
    secret_service.lock()
    started = time.monotonic()
    for call in (lambda: store.get("openai"), lambda: store.set("openai", OTHER_KEY), store.list):
        with pytest.raises(KeyringUnavailable, match="is locked") as info:
            call()
        assert info.value.reason == "locked"
        assert "PYTHON_KEYRING_BACKEND" in str(info.value) and KEY not in str(info.value)
    assert time.monotonic() - started < 5
    assert secret_service.is_locked()  # we did not unlock it (nor prompt to)
    # With the env var, a provider still gets its key.
    resolved = resolve_api_key("openai", "openai", store, {"OPENAI_API_KEY": OTHER_KEY})
    assert (resolved.value, resolved.source) == (OTHER_KEY, "env")
    secret_service.unlock()
    assert store.get("openai") == KEY


def test_a_frozen_secret_service_times_out(secret_service, secret_service_keyring):
    store = KeyStore(backend=secret_service_keyring, timeout=1)
    store.set("openai", KEY)
    secret_service.pause()
    try:
        started = time.monotonic()
        with pytest.raises(KeyringUnavailable, match="did not answer within 1 s") as info:
            store.get("openai")
        assert time.monotonic() - started < 3
        assert info.value.reason == "timeout" and "OPENAI_API_KEY" in str(info.value)
        # The provider still starts with the environment's key, without waiting again.
        started = time.monotonic()
        resolved = resolve_api_key("openai", "openai", store, {"OPENAI_API_KEY": OTHER_KEY})
        assert (resolved.value, resolved.source) == (OTHER_KEY, "env")
        assert time.monotonic() - started < 0.5
    finally:
        secret_service.resume()
    deadline = time.monotonic() + 10
    while True:  # once the daemon answers again, so does the store
        try:
            assert store.get("openai") == KEY
            break
        except KeyringUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_separate_process_reads_what_this_one_stored(secret_service_keyring):
    """As the CLI would: the backend comes from PYTHON_KEYRING_BACKEND, no stdin."""
    KeyStore(backend=secret_service_keyring).set("openai", KEY)
    code = textwrap.dedent(
        """
        from tui_chat.secrets import KeyStore, fingerprint
        store = KeyStore()
        print([r.name for r in store.list()], fingerprint(store.get("openai")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, cwd=str(REPO),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"['openai'] {fingerprint(KEY)}"


def test_secret_tool_sees_the_entry(secret_service_keyring):
    """The entry is an ordinary Secret Service item other tools can find (libsecret)."""
    import shutil

    if not shutil.which("secret-tool"):
        skip_or_fail("secret-tool (Debian package libsecret-tools) is not installed")
    KeyStore(backend=secret_service_keyring).set("openai", KEY)
    result = subprocess.run(
        ["secret-tool", "lookup", "service", "tui-chat", "username", "openai"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == KEY

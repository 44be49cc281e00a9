"""KeyStore and resolve_api_key over the in-memory keyring."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.infra.memory_keyring import MemoryKeyring
from tui_chat.secrets import (
    INDEX_USERNAME,
    MAX_SECRET_LENGTH,
    KeyRecord,
    KeyringUnavailable,
    KeyStore,
    KeyStoreError,
    ResolvedKey,
    fingerprint,
    parse_ref,
    resolve_api_key,
)

KEY = "sk-proj-Zq8xWv3Tn7Lk2Rb9Hs4Ym6Pc1Dj5Fg0Au"
OTHER_KEY = "sk-ant-api03-Qm2Vx9Kp4Lr7Tn1Bz6Wc3Hd8Fs5Jy0Ge"


# --- fingerprint --------------------------------------------------------------------


def test_fingerprint_is_short_stable_and_hash_based():
    fp = fingerprint(KEY)
    assert fp == fingerprint(KEY)
    assert fp != fingerprint(OTHER_KEY)
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 8
    int(fp.removeprefix("sha256:"), 16)  # hex digits only


@pytest.mark.parametrize("key", [KEY, OTHER_KEY, "abcdef0123456789abcdef", "sk-" + "a" * 40, "0" * 32])
def test_fingerprint_shows_no_part_of_the_key(key):
    digest = fingerprint(key).removeprefix("sha256:")
    # Not a prefix, suffix or any run of the key, as "sk-...abcd" displays would be.
    for width in (3, 4):
        runs = {key[i : i + width] for i in range(len(key) - width + 1)}
        assert not any(run in digest for run in runs), (width, digest)
    assert key[:4] not in fingerprint(key) and key[-4:] not in fingerprint(key)


# --- validation ---------------------------------------------------------------------


def test_set_strips_whitespace_and_newlines(key_store):
    record = key_store.set("openai", f"  {KEY}\n")
    assert key_store.get("openai") == KEY
    assert record.fingerprint == fingerprint(KEY)


@pytest.mark.parametrize("bad", ["", "   ", "\n\t\n"])
def test_empty_key_refused(key_store, bad):
    with pytest.raises(KeyStoreError, match="empty"):
        key_store.set("openai", bad)


def test_absurdly_long_key_refused(key_store, memory_keyring):
    with pytest.raises(KeyStoreError, match=str(MAX_SECRET_LENGTH)) as info:
        key_store.set("openai", "k" * (MAX_SECRET_LENGTH + 1))
    assert "kkkk" not in str(info.value)
    assert memory_keyring.entries == {}


@pytest.mark.parametrize("bad", [f"{KEY}\n{OTHER_KEY}", f"{KEY} extra", f"{KEY}\x00"])
def test_key_with_inner_whitespace_or_control_chars_refused(key_store, bad):
    with pytest.raises(KeyStoreError) as info:
        key_store.set("openai", bad)
    assert KEY not in str(info.value) and KEY[:8] not in str(info.value)


@pytest.mark.parametrize("name", ["", "__index__", "a/b", "has space", "x" * 65, "-lead", "é"])
def test_bad_names_refused(key_store, name):
    with pytest.raises(KeyStoreError, match="invalid key name"):
        key_store.set(name, KEY)


def test_non_text_key_refused(key_store):
    with pytest.raises(KeyStoreError, match="text"):
        key_store.set("openai", b"sk-bytes")  # type: ignore[arg-type]


# --- round trip, index, list ---------------------------------------------------------


def test_set_get_delete_round_trip(key_store):
    record = key_store.set("openai", KEY)
    assert record == KeyRecord("openai", "keyring:tui-chat/openai", fingerprint(KEY))
    assert key_store.get("openai") == KEY
    assert key_store.delete("openai") is True
    assert key_store.get("openai") is None
    assert key_store.delete("openai") is False


def test_get_missing_is_none(key_store):
    assert key_store.get("nothing") is None


def test_list_holds_names_and_fingerprints_only(key_store, memory_keyring):
    key_store.set("openai", KEY)
    key_store.set("anthropic", OTHER_KEY)
    key_store.set("openai", OTHER_KEY)  # replacing updates the fingerprint
    assert key_store.list() == [
        KeyRecord("anthropic", "keyring:tui-chat/anthropic", fingerprint(OTHER_KEY)),
        KeyRecord("openai", "keyring:tui-chat/openai", fingerprint(OTHER_KEY)),
    ]
    index = memory_keyring.entries[("tui-chat", INDEX_USERNAME)]
    assert json.loads(index)["keys"]["openai"] == {"fingerprint": fingerprint(OTHER_KEY)}
    assert KEY not in index and OTHER_KEY not in index
    key_store.delete("anthropic")
    assert [r.name for r in key_store.list()] == ["openai"]


def test_list_empty_and_corrupt_index(key_store, memory_keyring):
    assert key_store.list() == []
    memory_keyring.entries[("tui-chat", INDEX_USERNAME)] = "{not json"
    assert key_store.list() == []
    key_store.set("openai", KEY)  # rebuilt
    assert [r.name for r in key_store.list()] == ["openai"]


def test_services_are_separate(memory_keyring):
    a = KeyStore("tui-chat", memory_keyring)
    b = KeyStore("tui-chat-other", memory_keyring)
    a.set("openai", KEY)
    assert b.get("openai") is None and b.list() == []


def test_refs_round_trip(key_store):
    record = key_store.set("my-ollama.local", KEY)
    assert parse_ref(record.ref) == ("tui-chat", "my-ollama.local")
    assert key_store.get_ref(record.ref) == KEY
    with pytest.raises(KeyStoreError):
        parse_ref("env:OPENAI_API_KEY")


def test_default_backend_is_keyrings_choice(memory_keyring):
    store = KeyStore()  # no backend: keyring.get_keyring(), here the test's memory keyring
    store.set("openai", KEY)
    assert memory_keyring.entries[("tui-chat", "openai")] == KEY


def test_reprs_never_show_the_key(key_store):
    record = key_store.set("openai", KEY)
    resolved = ResolvedKey(KEY, "keyring", record.ref)
    for text in (repr(record), str(record), repr(key_store), repr(resolved), str(resolved), repr([resolved])):
        assert KEY not in text and KEY[-6:] not in text
    assert fingerprint(KEY) in repr(resolved)


# --- resolve_api_key -----------------------------------------------------------------


def test_resolve_prefers_the_keyring(key_store):
    key_store.set("openai", KEY)
    resolved = resolve_api_key("openai", "openai", key_store, {"OPENAI_API_KEY": OTHER_KEY})
    assert resolved is not None
    assert (resolved.value, resolved.source, resolved.origin) == (KEY, "keyring", "keyring:tui-chat/openai")


def test_resolve_looks_up_the_provider_name_not_the_kind(key_store):
    key_store.set("work-openai", KEY)
    assert resolve_api_key("work-openai", "openai", key_store, {}).value == KEY
    assert resolve_api_key("openai", "openai", key_store, {}) is None


@pytest.mark.parametrize(
    ("kind", "var"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_resolve_falls_back_to_the_sdk_env_var(key_store, memory_keyring, kind, var):
    resolved = resolve_api_key(kind, kind, key_store, {var: f" {KEY}\n"})
    assert (resolved.value, resolved.source, resolved.origin) == (KEY, "env", var)
    assert memory_keyring.entries == {}  # env keys are never stored


def test_resolve_uses_os_environ_by_default(key_store, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", OTHER_KEY)
    assert resolve_api_key("anthropic", "anthropic", key_store).value == OTHER_KEY


def test_resolve_does_not_cross_kinds(key_store):
    assert resolve_api_key("anthropic", "anthropic", key_store, {"OPENAI_API_KEY": KEY}) is None


def test_openai_compatible_has_no_env_var_unless_configured(key_store):
    env = {"OPENAI_API_KEY": KEY, "GROQ_API_KEY": OTHER_KEY}
    assert resolve_api_key("ollama", "openai-compatible", key_store, env) is None
    resolved = resolve_api_key("groq", "openai-compatible", key_store, env, env_var="GROQ_API_KEY")
    assert (resolved.value, resolved.origin) == (OTHER_KEY, "GROQ_API_KEY")


def test_resolve_empty_env_var_is_no_key(key_store):
    assert resolve_api_key("openai", "openai", key_store, {"OPENAI_API_KEY": "  "}) is None


def test_resolve_without_a_store(memory_keyring):
    assert resolve_api_key("openai", "openai", None, {"OPENAI_API_KEY": KEY}).source == "env"
    assert resolve_api_key("openai", "openai", None, {}) is None


class _FailingBackend(MemoryKeyring):
    def get_password(self, service, username):
        raise RuntimeError("D-Bus said no")


def test_resolve_unavailable_keyring_uses_env_var():
    store = KeyStore(backend=_FailingBackend())
    resolved = resolve_api_key("openai", "openai", store, {"OPENAI_API_KEY": KEY})
    assert (resolved.value, resolved.source) == (KEY, "env")


def test_resolve_unavailable_keyring_without_env_var():
    store = KeyStore(backend=_FailingBackend())
    with pytest.raises(KeyringUnavailable, match="OPENAI_API_KEY"):
        resolve_api_key("openai", "openai", store, {})
    # An endpoint that may need no key (Ollama) still works...
    assert resolve_api_key("ollama", "openai-compatible", store, {}) is None
    # ...unless its config says a key is stored for it.
    with pytest.raises(KeyringUnavailable):
        resolve_api_key("vllm", "openai-compatible", store, {}, required=True)


# --- import cost -------------------------------------------------------------------


def test_importing_secrets_imports_neither_keyring_nor_textual():
    code = (
        "import sys, tui_chat.secrets; "
        "bad = [m for m in ('keyring', 'textual', 'secretstorage') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr

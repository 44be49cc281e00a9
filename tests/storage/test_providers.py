"""Provider configurations: validation, uniqueness, defaults, key references, no secrets."""

from __future__ import annotations

import pytest

from storage import Conflict, NotFound, Storage, ValidationError
from storage.services.providers import find_secrets, looks_secret_name

REF = "keyring:tui-chat/openai"
FP = "sha256:1a2b3c4d"


def test_add_and_get(store: Storage, user_id: str) -> None:
    added = store.providers.add(
        user_id, "work-openai", "openai", base_url="https://api.openai.com/v1", default_model="gpt-4.1",
        options={"organization": "org-1", "timeout": 30, "max_tokens": 4096}, key_ref=REF, key_fingerprint=FP,
    )
    got = store.providers.get_by_name(user_id, "work-openai")
    assert got == added
    assert got.kind == "openai" and got.default_model == "gpt-4.1" and got.has_key
    assert got.options == {"organization": "org-1", "timeout": 30, "max_tokens": 4096}
    assert got.is_default  # the first provider becomes the default


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "Work OpenAI"}, "name"),
        ({"name": "-dash"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"kind": "gemini"}, "kind"),
        ({"kind": "openai-compatible"}, "base_url"),
        ({"base_url": "ftp://example.com"}, "base_url"),
        ({"base_url": "localhost:11434"}, "base_url"),
        ({"base_url": "https://user:pw@example.com/v1"}, "base_url"),
        ({"base_url": "https://example.com/v1?api-key=abc"}, "base_url"),
        ({"options": {"api_key": "sk-..."}}, "options"),
        ({"options": {"headers": {"Authorization": "Bearer x"}}}, "options"),
        ({"options": {"apiKey": "x"}}, "options"),
        ({"options": {"extra": ["sk-abcdefghijklmnopqrstuvwxyz"]}}, "options"),
        ({"options": {"when": object()}}, "options"),
        ({"options": ["not", "a", "mapping"]}, "options"),
        ({"key_ref": REF}, "key_ref"),
        ({"key_ref": "sk-abcdefghijklmnopqrstuvwxyz123456", "key_fingerprint": FP}, "key_ref"),
        ({"key_ref": REF, "key_fingerprint": "sk-abcdef"}, "key_fingerprint"),
        ({"default_model": "m" * 201}, "default_model"),
    ],
)
def test_add_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    values = {"name": "p", "kind": "openai", **kwargs}
    with pytest.raises(ValidationError) as info:
        store.providers.add(user_id, **values)
    assert info.value.field == field
    assert store.providers.list(user_id) == []


def test_secret_values_never_appear_in_errors(store: Storage, user_id: str) -> None:
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    with pytest.raises(ValidationError) as info:
        store.providers.add(user_id, "p", "openai", options={"api_key": secret})
    assert secret not in str(info.value) and "keyring" in str(info.value)


def test_secret_detection() -> None:
    for name in ("api_key", "OPENAI_API_KEY", "apiKey", "x-api-key", "token", "access_token", "password",
                 "client_secret", "Authorization", "key", "credentials"):
        assert looks_secret_name(name), name
    for name in ("max_tokens", "organization", "timeout", "cache_key", "model", "tokens_per_minute", "auth_type"):
        assert not looks_secret_name(name), name
    assert find_secrets({"a": {"b": [{"password": 1}]}}) == ["a.b[0].password"]
    assert find_secrets({"note": "Bearer abc.def"}) == ["note"]


def test_openai_compatible_with_base_url(store: Storage, user_id: str) -> None:
    local = store.providers.add(user_id, "ollama", "openai-compatible", base_url="http://localhost:11434/v1",
                                default_model="llama3.1")
    assert local.base_url == "http://localhost:11434/v1" and not local.has_key


def test_duplicate_name_is_a_conflict(store: Storage, user_id: str, other_user_id: str) -> None:
    store.providers.add(user_id, "openai", "openai")
    with pytest.raises(Conflict) as info:
        store.providers.add(user_id, "openai", "anthropic")
    assert "openai" in str(info.value)
    store.providers.add(other_user_id, "openai", "openai")  # names are per user


def test_defaults(store: Storage, user_id: str) -> None:
    store.providers.add(user_id, "openai", "openai")
    claude = store.providers.add(user_id, "claude", "anthropic")
    assert not claude.is_default
    assert store.providers.get_default(user_id).name == "openai"
    store.providers.set_default(user_id, "claude")
    assert [(p.name, p.is_default) for p in store.providers.list(user_id)] == [("claude", True), ("openai", False)]
    third = store.providers.add(user_id, "groq", "openai-compatible", base_url="https://api.groq.com/openai/v1",
                                make_default=True)
    assert third.is_default and store.providers.get_default(user_id).name == "groq"
    assert sum(p.is_default for p in store.providers.list(user_id)) == 1


def test_update(store: Storage, user_id: str) -> None:
    store.providers.add(user_id, "openai", "openai", default_model="gpt-4o", options={"timeout": 10})
    store.providers.add(user_id, "other", "anthropic")
    updated = store.providers.update(user_id, "openai", new_name="oa", default_model=None, options={"timeout": 60},
                                     base_url="https://proxy.example.com/v1")
    assert updated.name == "oa" and updated.default_model is None and updated.options == {"timeout": 60}
    assert updated.base_url == "https://proxy.example.com/v1"
    with pytest.raises(NotFound):
        store.providers.get_by_name(user_id, "openai")
    with pytest.raises(Conflict):
        store.providers.update(user_id, "oa", new_name="other")
    with pytest.raises(ValidationError):
        store.providers.update(user_id, "oa", options={"token": "x"})
    with pytest.raises(ValidationError):
        store.providers.update(user_id, "oa", kind="openai-compatible", base_url=None)
    deactivated = store.providers.update(user_id, "oa", is_active=False)
    assert not deactivated.is_active
    assert [p.name for p in store.providers.list(user_id, active_only=True)] == ["other"]
    assert store.providers.get_by_name(user_id, "oa").options == {"timeout": 60}  # failed updates changed nothing


def test_key_reference(store: Storage, user_id: str) -> None:
    store.providers.add(user_id, "openai", "openai")
    with_key = store.providers.set_key_reference(user_id, "openai", REF, FP)
    assert with_key.key_ref == REF and with_key.key_fingerprint == FP
    cleared = store.providers.set_key_reference(user_id, "openai", None, None)
    assert cleared.key_ref is None and cleared.key_fingerprint is None and not cleared.has_key
    with pytest.raises(ValidationError):
        store.providers.set_key_reference(user_id, "openai", "my key is hunter2", FP)


def test_remove_returns_what_was_removed(store: Storage, user_id: str) -> None:
    store.providers.add(user_id, "openai", "openai", key_ref=REF, key_fingerprint=FP)
    removed = store.providers.remove(user_id, "openai")
    assert removed.key_ref == REF
    assert store.providers.list(user_id) == [] and store.providers.get_default(user_id) is None
    with pytest.raises(NotFound):
        store.providers.remove(user_id, "openai")

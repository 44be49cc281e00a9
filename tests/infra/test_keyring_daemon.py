"""The private Secret Service, and the environment every test gets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CLEARED_ENV


def test_secret_service_round_trip_with_keyrings_backend(secret_service_keyring):
    secret_service_keyring.set_password("tui-chat-infra", "user", "s3cret-value")
    assert secret_service_keyring.get_password("tui-chat-infra", "user") == "s3cret-value"
    secret_service_keyring.delete_password("tui-chat-infra", "user")
    assert secret_service_keyring.get_password("tui-chat-infra", "user") is None


def test_secret_service_is_private(secret_service, secret_service_keyring):
    address = os.environ["DBUS_SESSION_BUS_ADDRESS"]
    assert address == secret_service.bus_address
    assert str(secret_service.root) in address
    assert os.environ["PYTHON_KEYRING_BACKEND"] == "keyring.backends.SecretService.Keyring"
    keyring_files = [p for p in secret_service.files() if p.suffix == ".keyring"]
    assert keyring_files and all(str(p).startswith(str(secret_service.root)) for p in keyring_files)


def test_lock_and_unlock(secret_service, secret_service_keyring):
    secret_service.lock()
    assert secret_service.is_locked()
    secret_service.unlock()
    assert not secret_service.is_locked()


def test_each_test_starts_with_an_empty_collection(secret_service_keyring):
    secret_service_keyring.set_password("tui-chat-infra", "leftover", "x")


def test_previous_items_were_cleared(secret_service, secret_service_keyring):
    assert secret_service_keyring.get_password("tui-chat-infra", "leftover") is None


# --- tests/conftest.py isolation --------------------------------------------------------


def test_environment_is_isolated(tmp_path):
    assert Path(os.environ["TUI_CHAT_HOME"]) == tmp_path / "tui-chat-home"
    for name in CLEARED_ENV:
        assert name not in os.environ
    assert os.environ["PYTHON_KEYRING_BACKEND"] == "keyring.backends.fail.Keyring"
    assert str(tmp_path) in os.environ["DBUS_SESSION_BUS_ADDRESS"]


def test_default_keyring_is_the_fail_backend():
    import keyring
    from keyring.backends import fail

    assert isinstance(keyring.get_keyring(), fail.Keyring)


def test_memory_keyring_becomes_the_default(memory_keyring):
    import keyring

    keyring.set_password("svc", "user", "pw")
    assert memory_keyring.entries == {("svc", "user"): "pw"}
    assert "pw" not in repr(memory_keyring)


@pytest.mark.parametrize("attempt", [1, 2])
def test_keyring_default_does_not_leak_between_tests(attempt):
    import keyring
    from keyring.backends import fail

    assert isinstance(keyring.get_keyring(), fail.Keyring)
    if attempt == 1:
        from tests.infra.memory_keyring import MemoryKeyring

        keyring.set_keyring(MemoryKeyring())

"""An in-memory keyring backend, for tests of anything that stores or reads keys.

It lives with the tests, not in the package: the app itself never wants a keyring that
forgets everything when it exits. It is only importable in the test process, so tests
that run the app as a subprocess use the real ``secret_service_keyring`` instead (or an
environment variable such as OPENAI_API_KEY).

``memory_keyring`` makes a fresh one the process-wide default for one test (so
``KeyStore()`` with no backend uses it); ``key_store`` is a ``KeyStore`` over it::

    def test_keys_set(key_store):
        key_store.set("openai", "sk-test")
"""

from __future__ import annotations

import threading

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Keys in a dict. ``entries`` maps ``(service, username)`` to the secret."""

    #: Recommended (>= 1) so the KeyStore treats it as a real keyring; keyring only ever
    #: considers it inside the test process, where ``PYTHON_KEYRING_BACKEND`` wins anyway.
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self.entries.pop((service, username), None) is None:
                raise PasswordDeleteError("no such password")

    def __repr__(self) -> str:  # never the secrets
        return f"<MemoryKeyring with {len(self.entries)} entries>"


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """A fresh in-memory keyring, also returned by ``keyring.get_keyring()`` for the test."""
    import keyring.core

    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    return backend


@pytest.fixture
def key_store(memory_keyring: MemoryKeyring):
    """A ``tui_chat.secrets.KeyStore`` over ``memory_keyring``."""
    from tui_chat.secrets import KeyStore

    return KeyStore(backend=memory_keyring)

"""Every way the keyring can fail: a clear KeyringUnavailable, never a hang or the key."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import traceback

import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked, PasswordSetError

from tests.infra.memory_keyring import MemoryKeyring
from tui_chat.secrets import KeyringUnavailable, KeyStore, KeyStoreError

KEY = "sk-proj-Zq8xWv3Tn7Lk2Rb9Hs4Ym6Pc1Dj5Fg0Au"
FIX_WORDS = ("gnome-keyring", "PYTHON_KEYRING_BACKEND", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")


def assert_clear(exc: BaseException, *, reason: str | None = None) -> None:
    """One line, names the fixes, never the key, no chained traceback."""
    message = str(exc)
    assert isinstance(exc, KeyringUnavailable) and isinstance(exc, KeyStoreError)
    assert "\n" not in message
    for word in FIX_WORDS:
        assert word in message, (word, message)
    assert KEY not in message and KEY[:10] not in message and KEY[-6:] not in message
    assert exc.__cause__ is None
    assert KEY not in "".join(traceback.format_exception(exc))
    if reason is not None:
        assert exc.reason == reason, exc.reason


# --- (a) no backend ------------------------------------------------------------------


def test_fail_backend_is_reported_with_fixes():
    store = KeyStore(backend=fail.Keyring())
    with pytest.raises(KeyringUnavailable) as info:
        store.set("openai", KEY)
    assert_clear(info.value, reason="no-backend")
    assert "no keyring backend" in str(info.value)


def test_default_backend_on_a_headless_box_is_the_fail_backend():
    # tests/conftest.py makes keyring's default the fail backend, as on a headless box.
    store = KeyStore()
    for call in (lambda: store.get("openai"), store.list, lambda: store.delete("x"), store.check):
        with pytest.raises(KeyringUnavailable) as info:
            call()
        assert_clear(info.value, reason="no-backend")


def test_no_keyring_error_from_a_backend_is_no_backend():
    class Raising(MemoryKeyring):
        def get_password(self, service, username):
            from keyring.errors import NoKeyringError

            raise NoKeyringError("nothing here")

    with pytest.raises(KeyringUnavailable) as info:
        KeyStore(backend=Raising()).get("openai")
    assert_clear(info.value, reason="no-backend")


def test_null_backend_refused():
    with pytest.raises(KeyringUnavailable, match="discards") as info:
        KeyStore(backend=null.Keyring()).set("openai", KEY)
    assert_clear(info.value, reason="no-backend")


def test_empty_chainer_refused(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    with pytest.raises(KeyringUnavailable) as info:
        KeyStore(backend=chainer.ChainerBackend()).get("openai")
    assert_clear(info.value, reason="no-backend")


# --- (b) locked ----------------------------------------------------------------------


def test_keyring_locked_from_a_backend():
    class Locked(MemoryKeyring):
        def get_password(self, service, username):
            raise KeyringLocked("Failed to unlock the collection!")

    with pytest.raises(KeyringUnavailable) as info:
        KeyStore(backend=Locked()).get("openai")
    assert_clear(info.value, reason="locked")


# (a locked real gnome-keyring collection: tests/keyring/test_secret_service.py)


# --- (c) prompting / file backends -----------------------------------------------------


class EncryptedKeyring(MemoryKeyring):
    """Looks like keyrings.alt's encrypted file backend, which asks for a password."""

    priority = 0.6
    prompted = False

    def get_password(self, service, username, *password):
        type(self).prompted = True
        return input("Please enter password for encrypted keyring: ")

    set_password = get_password


EncryptedKeyring.__module__ = "keyrings.alt.file"


class PlaintextFileKeyring(MemoryKeyring):
    """A non-recommended file backend (priority below 1), like keyrings.alt's plaintext one."""

    priority = 0.5


def test_prompting_backend_refused_before_any_prompt():
    store = KeyStore(backend=EncryptedKeyring())  # refused even when chosen on purpose
    with pytest.raises(KeyringUnavailable, match="asks for a password") as info:
        store.set("openai", KEY)
    assert_clear(info.value, reason="prompting-backend")
    assert EncryptedKeyring.prompted is False


def test_prompting_backend_inside_a_chainer_refused(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring(), EncryptedKeyring()])
    with pytest.raises(KeyringUnavailable) as info:
        KeyStore(backend=chainer.ChainerBackend()).get("openai")
    assert_clear(info.value, reason="prompting-backend")
    assert EncryptedKeyring.prompted is False


def test_low_priority_backend_picked_by_keyring_refused(monkeypatch):
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", PlaintextFileKeyring())
    with pytest.raises(KeyringUnavailable, match="does not recommend") as info:
        KeyStore().get("openai")
    assert_clear(info.value, reason="insecure-backend")


def test_low_priority_backend_chosen_by_the_user_is_honoured(monkeypatch):
    import keyring.core

    backend = PlaintextFileKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    monkeypatch.setenv(
        "PYTHON_KEYRING_BACKEND", f"{PlaintextFileKeyring.__module__}.{PlaintextFileKeyring.__qualname__}"
    )
    KeyStore().set("openai", KEY)
    assert KeyStore(backend=PlaintextFileKeyring()).get("openai") is None  # a different instance
    assert KeyStore().get("openai") == KEY


# --- (d) errors and hangs --------------------------------------------------------------


def test_backend_raising_is_reported_without_the_key():
    class Broken(MemoryKeyring):
        def set_password(self, service, username, password):
            raise PasswordSetError(f"org.freedesktop.DBus.Error.NoReply: could not store {password}")

    with pytest.raises(KeyringUnavailable) as info:
        KeyStore(backend=Broken()).set("openai", KEY)
    assert_clear(info.value, reason="error")
    assert "PasswordSetError" in str(info.value) and "NoReply" in str(info.value)
    assert "[redacted]" in str(info.value)


def test_unexpected_exception_type_is_wrapped():
    class Broken(MemoryKeyring):
        def get_password(self, service, username):
            raise OSError(111, "Connection refused")

    with pytest.raises(KeyringUnavailable, match="Connection refused") as info:
        KeyStore(backend=Broken()).get("openai")
    assert_clear(info.value, reason="error")


class HangingKeyring(MemoryKeyring):
    """Never answers until released, like a Secret Service stuck behind D-Bus."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.calls = 0

    def get_password(self, service, username, *password):
        self.calls += 1
        self.release.wait(30)
        return None

    set_password = get_password


@pytest.fixture
def hanging():
    backend = HangingKeyring()
    yield backend
    backend.release.set()


def test_hanging_backend_times_out_fast(hanging):
    store = KeyStore(backend=hanging, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(KeyringUnavailable, match="did not answer within 0.3 s") as info:
        store.set("openai", KEY)
    assert time.monotonic() - started < 2
    assert_clear(info.value, reason="timeout")


def test_after_a_hang_later_calls_fail_at_once(hanging):
    store = KeyStore(backend=hanging, timeout=0.3)
    with pytest.raises(KeyringUnavailable):
        store.get("openai")
    started = time.monotonic()
    with pytest.raises(KeyringUnavailable, match="still not returned") as info:
        store.get("openai")
    assert time.monotonic() - started < 0.2
    assert hanging.calls == 1  # no pile of stuck threads
    assert_clear(info.value, reason="timeout")
    hanging.release.set()
    time.sleep(0.05)
    for _ in range(50):  # the stuck call finishes; the store recovers
        try:
            assert store.get("openai") is None
            break
        except KeyringUnavailable:
            time.sleep(0.05)
    else:
        pytest.fail("the store did not recover after the keyring answered")


def test_unreachable_session_bus_does_not_hang_or_trace(tmp_path):
    """The real SecretService backend with no bus behind it, in a fresh process."""
    pytest.importorskip("secretstorage")
    code = textwrap.dedent(
        """
        import sys
        from keyring.backends.SecretService import Keyring
        from tui_chat.secrets import KeyStore, KeyringUnavailable
        try:
            KeyStore(backend=Keyring(), timeout=3).set("openai", "sk-proj-Zq8xWv3Tn7Lk2Rb9Hs4Ym6Pc1Dj5Fg0Au")
        except KeyringUnavailable as exc:
            print(exc)
            sys.exit(3)
        """
    )
    env = {"PATH": "/usr/bin:/bin", "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/nobus"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env,
        stdin=subprocess.DEVNULL, cwd=str(__import__("pathlib").Path(__file__).parents[2]),
    )
    assert time.monotonic() - started < 15
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and KEY not in result.stdout + result.stderr
    assert "PYTHON_KEYRING_BACKEND" in result.stdout and "D-Bus" in result.stdout


@pytest.mark.parametrize("value", ["", "keyrings.nope.Missing", "keyring.backends.fail"])
def test_misspelled_backend_choice_is_reported(monkeypatch, value):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", value)
    with pytest.raises(KeyringUnavailable, match="PYTHON_KEYRING_BACKEND") as info:
        KeyStore().list()
    assert_clear(info.value, reason="no-backend")
    assert "cannot be loaded" in str(info.value)

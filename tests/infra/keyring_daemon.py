"""A real Secret Service for the test run: gnome-keyring on a private D-Bus bus.

``secret_service`` (session scope) starts, in a temporary directory used as HOME and
XDG_RUNTIME_DIR, a private ``dbus-daemon`` (its own config: no service activation, so
nothing from the system starts on it and no unlock prompt can appear) and
``gnome-keyring-daemon --unlock --components=secrets`` fed a password on stdin, which
creates the 'login' collection unlocked. It never touches the user's real keyring or
session bus, and everything is stopped and removed at the end of the session.

``secret_service_keyring`` (function scope) is what tests use: it points
``DBUS_SESSION_BUS_ADDRESS`` at the private bus and ``PYTHON_KEYRING_BACKEND`` at
keyring's SecretService backend for the test (subprocesses inherit both), makes sure the
collection is unlocked and empty, and returns a ``keyring.backends.SecretService.Keyring``::

    @pytest.mark.keyring
    def test_round_trip(secret_service_keyring):
        store = KeyStore(backend=secret_service_keyring)

``secret_service.lock()`` / ``unlock()`` lock and unlock the collection (unlocking
without a prompt through gnome-keyring's master-password call), for tests of a locked
keyring; ``pause()`` / ``resume()`` freeze and thaw the daemon, for tests of a Secret
Service that stops answering.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.infra import mark_items_using, skip_or_fail

#: Password of the throwaway test keyring (it never holds anything real).
TEST_KEYRING_PASSWORD = "tui-chat-test-keyring"
SECRETS_BUS_NAME = "org.freedesktop.secrets"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if pytest dies without running teardown."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: teardown alone has to do
        pass


class SecretServiceUnavailable(RuntimeError):
    """The daemon could not be started; the message says why."""


class SecretServiceDaemon:
    """A private dbus-daemon plus gnome-keyring-daemon; ``start()`` then ``stop()``."""

    def __init__(self, password: str = TEST_KEYRING_PASSWORD) -> None:
        self.password = password
        self.root: Path | None = None
        self.bus_address: str | None = None
        self._bus: subprocess.Popen[bytes] | None = None
        self._keyring: subprocess.Popen[bytes] | None = None

    # lifecycle

    @staticmethod
    def missing() -> str | None:
        """Why the daemon cannot run here, or None."""
        needed = {"dbus-daemon": "dbus-daemon", "gnome-keyring-daemon": "gnome-keyring"}
        absent = [f"{cmd} (Debian package {pkg})" for cmd, pkg in needed.items() if not shutil.which(cmd)]
        if absent:
            return "not installed: " + ", ".join(absent)
        try:
            import secretstorage  # noqa: F401
        except ImportError:
            return "the secretstorage package is not installed (pip install -e '.[test]')"
        return None

    @property
    def env(self) -> dict[str, str]:
        """Environment for a process that should use this Secret Service."""
        assert self.root is not None and self.bus_address is not None
        return {
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        }

    def _daemon_env(self) -> dict[str, str]:
        assert self.root is not None
        home = self.root / "home"
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(self.root / "run"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
        }

    def start(self, timeout: float = 20.0) -> None:
        reason = self.missing()
        if reason:
            raise SecretServiceUnavailable(reason)
        self.root = Path(tempfile.mkdtemp(prefix="tui-chat-ss-"))
        for sub in ("run", "home/.local/share", "home/.config", "home/.cache"):
            (self.root / sub).mkdir(parents=True, mode=0o700, exist_ok=True)
        config = self.root / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=self.root / "bus"))
        env = self._daemon_env()
        with open(self.root / "dbus.log", "wb") as log:
            self._bus = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                env=env, start_new_session=True, preexec_fn=_die_with_parent,
            )
        self.bus_address = self._read_address(self._bus, timeout)
        env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        with open(self.root / "keyring.log", "wb") as log:
            self._keyring = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True, preexec_fn=_die_with_parent,
            )
        assert self._keyring.stdin is not None
        self._keyring.stdin.write(self.password.encode())
        self._keyring.stdin.close()
        self._wait_ready(timeout)

    def _read_address(self, proc: subprocess.Popen[bytes], timeout: float) -> str:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline().decode().strip() if ready else ""
        if not line:
            raise SecretServiceUnavailable(f"dbus-daemon did not start: {self._log('dbus.log')}")
        return line

    def _log(self, name: str) -> str:
        assert self.root is not None
        try:
            return (self.root / name).read_text(errors="replace").strip()[-1500:] or "(empty log)"
        except OSError:
            return "(no log)"

    def _wait_ready(self, timeout: float) -> None:
        import secretstorage

        deadline = time.monotonic() + timeout
        last = "not started"
        while time.monotonic() < deadline:
            if self._keyring is not None and self._keyring.poll() is not None:
                raise SecretServiceUnavailable(
                    f"gnome-keyring-daemon exited with {self._keyring.returncode}: {self._log('keyring.log')}"
                )
            try:
                with closing(self.connect()) as conn:
                    collection = secretstorage.Collection(conn, DEFAULT_COLLECTION)
                    if not collection.is_locked():
                        return
                    last = "the login collection is locked"
            except Exception as exc:  # noqa: BLE001 - retried until the deadline
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise SecretServiceUnavailable(
            f"gnome-keyring did not become ready in {timeout:g} s ({last}): {self._log('keyring.log')}"
        )

    def stop(self) -> None:
        for proc in (self._keyring, self._bus):
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self._bus is not None and self._bus.stdout is not None:
            self._bus.stdout.close()
        self._keyring = self._bus = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # helpers for tests

    def connect(self) -> Any:
        """A jeepney connection to the private bus (close it after use)."""
        from jeepney.io.blocking import open_dbus_connection

        assert self.bus_address is not None
        return open_dbus_connection(self.bus_address)

    def lock(self) -> None:
        """Lock the default collection, as a screen lock or timeout would."""
        import secretstorage

        with closing(self.connect()) as conn:
            collection = secretstorage.Collection(conn, DEFAULT_COLLECTION)
            collection.lock()
            assert collection.is_locked()

    def is_locked(self) -> bool:
        import secretstorage

        with closing(self.connect()) as conn:
            return secretstorage.Collection(conn, DEFAULT_COLLECTION).is_locked()

    def unlock(self) -> None:
        """Unlock the default collection with its password, without any prompt."""
        import secretstorage
        from jeepney import DBusAddress, new_method_call
        from secretstorage.util import format_secret, open_session

        with closing(self.connect()) as conn:
            collection = secretstorage.Collection(conn, DEFAULT_COLLECTION)
            if not collection.is_locked():
                return
            session = open_session(conn)
            secret = format_secret(session, self.password.encode(), "text/plain")
            address = DBusAddress(
                "/org/freedesktop/secrets", bus_name=SECRETS_BUS_NAME,
                interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
            )
            message = new_method_call(address, "UnlockWithMasterPassword", "o(oayays)", (collection.collection_path, secret))
            conn.send_and_get_reply(message, timeout=10)
            if collection.is_locked():
                raise RuntimeError("gnome-keyring did not unlock the test collection")

    def pause(self) -> None:
        """Freeze gnome-keyring (SIGSTOP): D-Bus calls to it get no answer."""
        assert self._keyring is not None
        os.kill(self._keyring.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self._keyring is not None
        os.kill(self._keyring.pid, signal.SIGCONT)

    def clear(self) -> None:
        """Delete every item of the default collection."""
        import secretstorage

        with closing(self.connect()) as conn:
            collection = secretstorage.Collection(conn, DEFAULT_COLLECTION)
            for item in collection.get_all_items():
                item.delete()

    def files(self) -> list[Path]:
        """Every file the daemon keeps on disk (its keyring files, logs)."""
        assert self.root is not None
        return [p for p in self.root.rglob("*") if p.is_file()]


@pytest.fixture(scope="session")
def secret_service() -> Iterator[SecretServiceDaemon]:
    """A private gnome-keyring Secret Service for the whole run (see the module docstring)."""
    daemon = SecretServiceDaemon()
    try:
        daemon.start()
    except SecretServiceUnavailable as exc:
        daemon.stop()
        skip_or_fail(f"no Secret Service for tests: {exc}")
    except BaseException:
        daemon.stop()
        raise
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def secret_service_keyring(secret_service: SecretServiceDaemon, monkeypatch: pytest.MonkeyPatch):
    """keyring's SecretService backend on the private bus, unlocked and empty.

    For the test, ``DBUS_SESSION_BUS_ADDRESS`` and ``PYTHON_KEYRING_BACKEND`` point at it
    (subprocesses inherit them) and ``keyring.get_keyring()`` returns it.
    """
    import keyring.core
    from keyring.backends.SecretService import Keyring

    for name, value in secret_service.env.items():
        monkeypatch.setenv(name, value)
    secret_service.unlock()
    secret_service.clear()
    backend = Keyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    try:
        yield backend
    finally:
        secret_service.resume()
        secret_service.unlock()
        secret_service.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_items_using(items, {"secret_service", "secret_service_keyring"}, "keyring")

"""The key commands as real subprocesses against a real Secret Service (gnome-keyring on
a private D-Bus bus): round trip, piped and hidden-prompt input, a locked collection and
a frozen daemon (exit 3 with the fixes, quickly, never a hang)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

import pytest

from tests.keys.conftest import REPO, assert_nowhere, tui
from tui_chat.secrets import KeyStore, fingerprint

pytestmark = pytest.mark.keyring

KEY = "sk-proj-RealKeyring3Gh7Jk1Lm5Nb9Vc2Xz4Qw8Er6Ty0"
OTHER_KEY = "sk-ant-api03-RealKeyring5Pl8Ok2Ij6Uh9Yg3Tf7Rd1Es4"


def test_round_trip_through_the_real_keyring(secret_service, secret_service_keyring):
    stored = tui("keys", "set", "openai", input=KEY + "\n")
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.strip() == f"stored the key for openai in the keyring: {fingerprint(KEY)}"
    # Another process (this one) reads it from the Secret Service.
    assert KeyStore(backend=secret_service_keyring).get("openai") == KEY

    assert tui("keys", "set", "anthropic", input=OTHER_KEY).returncode == 0
    listed = tui("keys", "list", "--json")
    assert listed.returncode == 0
    assert [(e["name"], e["fingerprint"], e["providers"]) for e in json.loads(listed.stdout)] == [
        ("anthropic", fingerprint(OTHER_KEY), ["anthropic"]),
        ("openai", fingerprint(KEY), ["openai"]),
    ]
    text = tui("keys", "list").stdout
    assert "openai" in text and fingerprint(KEY) in text

    replaced = tui("keys", "set", "openai", input=OTHER_KEY)
    assert fingerprint(OTHER_KEY) in replaced.stdout
    assert KeyStore(backend=secret_service_keyring).get("openai") == OTHER_KEY

    removed = tui("keys", "remove", "openai")
    assert removed.returncode == 0, removed.stderr
    assert KeyStore(backend=secret_service_keyring).get("openai") is None
    assert [e["name"] for e in json.loads(tui("keys", "list", "--json").stdout)] == ["anthropic"]
    assert tui("keys", "remove", "openai").returncode == 2

    assert_nowhere(KEY, stored.stdout, stored.stderr, listed.stdout, text, removed.stdout)
    for path in secret_service.files():  # gnome-keyring's own files hold it encrypted only
        assert KEY.encode() not in path.read_bytes(), path


def test_providers_remove_removes_its_key_from_the_real_keyring(secret_service_keyring):
    assert tui("providers", "add", "work", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1").returncode == 0
    assert tui("keys", "set", "work", input=KEY).returncode == 0
    assert KeyStore(backend=secret_service_keyring).get("work") == KEY
    removed = tui("providers", "remove", "work")
    assert removed.returncode == 0 and "and its key" in removed.stdout
    assert KeyStore(backend=secret_service_keyring).get("work") is None
    assert "work" not in [e["name"] for e in json.loads(tui("providers", "list", "--json").stdout)]


def test_a_key_as_an_argument_is_impossible(secret_service_keyring):
    for args in (("keys", "set", "openai", KEY), ("keys", "set", "openai", f"--key={KEY}")):
        result = tui(*args, input=OTHER_KEY)
        assert result.returncode == 2
        assert "not accepted on the command line" in result.stderr and KEY not in result.stdout + result.stderr
    assert KeyStore(backend=secret_service_keyring).get("openai") is None
    help_text = " ".join(tui("keys", "set", "--help").stdout.split())
    assert "never accepted as an" in help_text and "standard input" in help_text


def _make_controlling_terminal() -> None:  # in the child, before exec
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_hidden_prompt_on_a_terminal(secret_service_keyring):
    """On a terminal the key is asked for with echo off: it never shows on the screen."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_chat.cli", "keys", "set", "openai"],
        stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=dict(os.environ),
        preexec_fn=_make_controlling_terminal,
    )
    os.close(slave)
    try:
        screen = _read_until(master, b"input hidden", timeout=30)
        assert b"Key for openai (input hidden)" in screen, screen
        os.write(master, KEY.encode() + b"\r")
        screen += _read_until(master, b"\n" + fingerprint(KEY).encode(), timeout=30)
        screen += _read_until(master, b"\x00never", timeout=2)  # the rest, until the child exits
        assert proc.wait(timeout=30) == 0, screen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert f"stored the key for openai in the keyring: {fingerprint(KEY)}".encode() in screen
    assert KEY.encode() not in screen  # not echoed
    assert KeyStore(backend=secret_service_keyring).get("openai") == KEY


FIXES = ("PYTHON_KEYRING_BACKEND", "OPENAI_API_KEY")


def _assert_keyring_error(result, what: str) -> None:
    assert result.returncode == 3, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert what in lines[0] and all(fix in lines[0] for fix in FIXES)
    assert "Traceback" not in result.stderr


def test_locked_collection_exit_3_quickly(secret_service, secret_service_keyring, fake_provider_factory):
    assert tui("keys", "set", "openai", input=KEY).returncode == 0
    secret_service.lock()
    server = fake_provider_factory(api_key=KEY)
    base = {"OPENAI_BASE_URL": server.base_url_openai}
    for args, stdin in (
        (("keys", "set", "openai"), OTHER_KEY),
        (("keys", "list"), None),
        (("keys", "remove", "openai"), None),
        (("-p", "hi", "--provider", "openai", "--model", "fake-model-small"), None),
    ):
        started = time.monotonic()
        result = tui(*args, input=stdin, env=base, timeout=30)
        assert time.monotonic() - started < 15, args
        _assert_keyring_error(result, "is locked")
        assert "unlock it" in result.stderr
        assert KEY not in result.stdout + result.stderr and OTHER_KEY not in result.stdout + result.stderr
    assert server.chat_requests() == []  # no request went out without its key
    listed = tui("providers", "list", "--json", timeout=30)
    assert listed.returncode == 0 and "is locked" in listed.stderr
    assert secret_service.is_locked()  # nothing unlocked it, and no prompt was opened

    # With the environment variable the turn still works while the keyring is locked.
    env_turn = tui("-p", "hi", "--provider", "openai", "--model", "fake-model-small",
                   env={**base, "OPENAI_API_KEY": KEY}, timeout=30)
    assert env_turn.returncode == 0, env_turn.stderr
    secret_service.unlock()
    assert KeyStore(backend=secret_service_keyring).get("openai") == KEY  # untouched


def test_frozen_secret_service_is_not_a_hang(secret_service, secret_service_keyring):
    assert tui("keys", "set", "openai", input=KEY).returncode == 0
    secret_service.pause()
    try:
        for args, stdin in ((("keys", "list"), None), (("keys", "set", "openai"), OTHER_KEY)):
            started = time.monotonic()
            result = tui(*args, input=stdin, timeout=40)
            assert time.monotonic() - started < 30
            _assert_keyring_error(result, "did not answer")
    finally:
        secret_service.resume()

"""Drive a real terminal: run a command in a private tmux server and read its screen.

Used by the end-to-end tests and by the TUI benchmarks (``bench/tui_*.py``). Each
session gets its own tmux socket, so nothing touches the user's tmux.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from storage import Storage

REPO_ROOT = Path(__file__).resolve().parents[2]


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class Tmux:
    """One tmux session of ``width`` x ``height`` running one command."""

    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.width, self.height = width, height
        self.socket = f"tui-chat-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.session = "main"
        self.started = False

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # The tmux server passes its environment on: COLUMNS/LINES from a test runner
        # would override the real size of the pane.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX", "TMUX_PANE")}
        return subprocess.run(["tmux", "-L", self.socket, *args], check=check, capture_output=True, text=True,
                              env=env)

    def start(self, command: Sequence[str], env: Mapping[str, str], cwd: Path | str = REPO_ROOT) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = f"cd {shlex.quote(str(cwd))} && env {exports} {shlex.join(command)}; sleep 0.5"
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", self.session, "-x", str(self.width),
                   "-y", str(self.height), line)
        self._tmux("set-option", "-t", self.session, "remain-on-exit", "on", check=False)
        self.started = True

    def capture(self) -> str:
        result = self._tmux("capture-pane", "-p", "-t", self.session, check=False)
        return result.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.session, "-l", text)

    def pane_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").stdout.strip())

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20.0, interval: float = 0.02) -> float:
        """Poll the screen until ``predicate(screen)``; the monotonic time it was first true."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if predicate(self.capture()):
                return now
            if now > deadline:
                raise TimeoutError(f"the screen never matched; it shows:\n{self.capture()}")
            time.sleep(interval)

    def wait_for_text(self, text: str, timeout: float = 20.0, interval: float = 0.02) -> float:
        return self.wait_for(lambda screen: text in screen, timeout, interval)

    def wait_exit(self, timeout: float = 20.0) -> None:
        """Wait until the command (and the shell around it) has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = self._tmux("display-message", "-p", "-t", self.session, "#{pane_dead}", check=False)
            if dead.returncode != 0 or dead.stdout.strip() == "1":
                return
            time.sleep(0.05)
        raise TimeoutError(f"the command did not exit; the screen shows:\n{self.capture()}")

    def kill(self) -> None:
        if self.started:
            self._tmux("kill-server", check=False)
            self.started = False

    def __enter__(self) -> "Tmux":
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def app_environment(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a ``tui-chat`` under test: its own home, no real keys or keyring."""
    env = {
        "TUI_CHAT_HOME": str(home),
        "TUI_CHAT_USER": "local:e2e",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(home)),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.update(extra)
    return env


def prepare_home(home: Path, base_url: str, *, model: str = "fake-model") -> str:
    """A database under ``home`` whose default provider is the fake server; returns its URL."""
    from tui_chat.context import AppContext

    context = AppContext.open(environ={"TUI_CHAT_HOME": str(home), "TUI_CHAT_USER": "local:e2e"})
    try:
        context.storage.providers.add(context.user.id, "fake", kind="openai-compatible",
                                      base_url=base_url.rstrip("/") + "/v1", default_model=model, make_default=True)
        return context.db_url
    finally:
        context.close()


def open_storage(url: str) -> Storage:
    return Storage.open(url)

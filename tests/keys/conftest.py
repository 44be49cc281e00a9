"""Helpers for the key and provider command tests: the CLI in-process and as a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.fixtures import fake_provider, fake_provider_factory  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``tui_chat.cli.main(argv)`` in this process; ``stdin`` is piped text."""
    from tui_chat.cli import main

    def run(*argv: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        out, err = capsys.readouterr()
        code = info.value.code
        return Result(code if isinstance(code, int) else (0 if code is None else 1), out, err)

    return run


def tui(*args: str, input: str | None = None, env: dict[str, str] | None = None,  # noqa: A002
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m tui_chat.cli ARGS`` in a child process with this test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "tui_chat.cli", *args],
        input=input, stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def home() -> Path:
    return Path(os.environ["TUI_CHAT_HOME"])


def app_files() -> list[Path]:
    """Every file the app wrote: database (with -wal/-shm), logs, config, attachments."""
    root = home()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nowhere(needle: str, *texts: str) -> None:
    for text in texts:
        assert needle not in text
    raw = needle.encode()
    for path in app_files():
        assert raw not in path.read_bytes(), f"the key is in {path}"

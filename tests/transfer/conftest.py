"""Helpers for the export, import, share, stats and budget tests.

``cli(*args)`` runs ``tui_chat.cli.main`` in-process (output captured); ``as_user(name)``
switches the identity the app runs as (``TUI_CHAT_USER``); ``store`` opens the same
database the commands use. ``run_cli`` (a real subprocess against the fake provider
server) comes from the scripted-mode tests, for the tests that need a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import Storage
from tests.cli.conftest import cli_env, run_cli  # noqa: F401
from tests.fakes.fixtures import fake_provider  # noqa: F401
from tui_chat.paths import database_url

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    from tui_chat.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    def switch(identity: str | None) -> None:
        if identity is None:
            monkeypatch.delenv("TUI_CHAT_USER", raising=False)
        else:
            monkeypatch.setenv("TUI_CHAT_USER", identity)

    return switch


@pytest.fixture
def store() -> Iterator[Storage]:
    storage = Storage.open(database_url())
    storage.catalog.seed_builtin()
    yield storage
    storage.close()


@pytest.fixture
def me(store: Storage) -> str:
    """The user the commands run as (the local OS user)."""
    return store.users.ensure().id

"""Snapshot tests reuse the TUI fixtures, in UTC, with a fixed clock and no cursor blink."""

from __future__ import annotations

import time

import pytest

from tests.tui.conftest import context, make_tui, provider  # noqa: F401
from tests.fakes.fixtures import fake_provider  # noqa: F401


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()

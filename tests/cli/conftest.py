"""Scripted-mode tests run the real ``tui-chat`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes.fixtures import FAKE_API_KEY, fake_provider  # noqa: F401
from tests.fakes.provider_server import FakeProviderServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(fake_provider: FakeProviderServer) -> dict[str, str]:  # noqa: F811
    env = dict(os.environ)
    env.update({
        "OPENAI_API_KEY": FAKE_API_KEY,
        "OPENAI_BASE_URL": fake_provider.base_url_openai,
        "ANTHROPIC_API_KEY": FAKE_API_KEY,
        "ANTHROPIC_BASE_URL": fake_provider.base_url_anthropic,
    })
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui_chat.cli", *args], input=input if input is not None else "",
            capture_output=True, text=True, env=env or cli_env, cwd=REPO, timeout=timeout,
        )

    return run

"""Pytest fixtures for the fake provider server.

Register them for the whole suite with ``pytest_plugins = ["tests.fakes.fixtures"]`` in
``tests/conftest.py``, or for one directory by importing them into its conftest::

    from tests.fakes.fixtures import fake_provider, fake_provider_factory  # noqa: F401
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.provider_server import FakeProviderServer

FAKE_API_KEY = "sk-fake-test-key-0123456789"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_provider() -> Iterator[FakeProviderServer]:
    """A running fake server (any key accepted) with ``.base_url_openai``
    (``http://127.0.0.1:PORT/v1``) and ``.base_url_anthropic`` (``http://127.0.0.1:PORT``)."""
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def fake_provider_factory() -> Iterator[Callable[..., FakeProviderServer]]:
    """Start extra servers with options, e.g. ``fake_provider_factory(api_key=FAKE_API_KEY)``."""
    servers: list[FakeProviderServer] = []

    def make(**kwargs: Any) -> FakeProviderServer:
        server = FakeProviderServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@contextmanager
def fake_provider_process(*args: str, timeout: float = 15.0) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``python -m tests.fakes.provider_server ARGS`` in a child process; yields the
    process and its base URL (``http://127.0.0.1:PORT``). For benchmarks and e2e tests."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.provider_server", "--port", "0", *args],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "READY http://127.0.0.1:PORT"
        if not line.startswith("READY "):
            raise RuntimeError(f"fake provider did not start: {line!r}")
        yield proc, line.split()[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

"""Engine tests: a real SQLite file, the real SDKs, and the fake provider server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Storage
from tests.fakes.fixtures import FAKE_API_KEY, fake_provider  # noqa: F401
from tests.fakes.provider_server import FakeProviderServer
from tui_chat.engine.directory import ProviderDirectory
from tui_chat.engine.turn import ChatEngine, RetryPolicy


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Storage]:
    storage = Storage.open(f"sqlite:///{tmp_path / 'engine.db'}")
    storage.catalog.seed_builtin()
    yield storage
    storage.close()


@pytest.fixture
def user_id(store: Storage) -> str:
    return store.users.ensure("local:tester").id


@pytest.fixture
def directory(store: Storage, user_id: str, fake_provider: FakeProviderServer) -> ProviderDirectory:  # noqa: F811
    store.providers.add(user_id, "fake-openai", kind="openai", base_url=fake_provider.base_url_openai,
                        default_model="gpt-4o", options={"api_key_env": "FAKE_KEY"})
    store.providers.add(user_id, "fake-local", kind="openai-compatible", base_url=fake_provider.base_url_openai,
                        default_model="llama3.2")
    store.providers.add(user_id, "fake-anthropic", kind="anthropic", base_url=fake_provider.base_url_anthropic,
                        default_model="claude-haiku-4-5", options={"api_key_env": "FAKE_KEY"})
    return ProviderDirectory(store, user_id, use_keyring=False,
                             environ={"FAKE_KEY": FAKE_API_KEY, "ANTHROPIC_API_KEY": FAKE_API_KEY})


@pytest.fixture
def engine(store: Storage, user_id: str, directory: ProviderDirectory) -> ChatEngine:
    return ChatEngine(store, user_id, directory, retry=RetryPolicy(attempts=3, base_delay=0.01), flush_interval=0.05)

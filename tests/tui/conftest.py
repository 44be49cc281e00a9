"""TUI tests: a real database per test, the fake provider server, deterministic app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fixtures import FAKE_API_KEY, fake_provider  # noqa: F401
from tests.fakes.provider_server import FakeProviderServer
from tui_chat.context import AppContext
from tui_chat.factory import SetupStatus, make_app

FIXED_NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=timezone.utc)


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    ctx = AppContext.open(f"sqlite:///{tmp_path / 'tui.db'}", environ={"TUI_CHAT_HOME": str(tmp_path / "home"),
                                                                       "TUI_CHAT_USER": "local:tester"})
    yield ctx
    ctx.close()


@pytest.fixture
def provider(context: AppContext, fake_provider: FakeProviderServer) -> FakeProviderServer:  # noqa: F811
    """The fake server, configured as the user's default provider ``fake``."""
    context.storage.providers.add(context.user.id, "fake", kind="openai", base_url=fake_provider.base_url_openai,
                                  default_model="gpt-4o", options={"api_key_env": "FAKE_KEY"}, make_default=True)
    return fake_provider


def _engine_factory(storage: Any, user_id: str, directory: Any, **kwargs: Any) -> Any:
    from tui_chat.engine.turn import ChatEngine, RetryPolicy

    return ChatEngine(storage, user_id, directory, retry=RetryPolicy(attempts=2, base_delay=0.01),
                      flush_interval=0.05, **kwargs)


@pytest.fixture
def make_tui(context: AppContext) -> Callable[..., Any]:
    """Build the app like the CLI does, wired to the test database and fake keys."""

    def build(*, ready: bool = True, generate_titles: bool = False, **kwargs: Any) -> Any:
        from tui_chat.engine.directory import ProviderDirectory

        def directory(storage: Any, user_id: str) -> ProviderDirectory:
            return ProviderDirectory(storage, user_id, use_keyring=False, environ={"FAKE_KEY": FAKE_API_KEY})

        app = make_app(context, directory=directory, engine_factory=_engine_factory,
                       setup_check=lambda services: SetupStatus(ready, "test"), generate_titles=generate_titles,
                       **kwargs)
        app.clock = lambda: FIXED_NOW
        return app

    return build

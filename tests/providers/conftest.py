"""Providers are exercised through the real SDKs against the fake server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.fakes.fixtures import FAKE_API_KEY, fake_provider, fake_provider_factory  # noqa: F401
from tests.fakes.provider_server import FakeProviderServer
from tui_chat.providers import (
    ChatMessage,
    ChatRequest,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderSettings,
    TextDelta,
    create_provider,
)

APIS = ("openai", "anthropic")


def base_url(server: FakeProviderServer, kind: str) -> str:
    return server.base_url_anthropic if kind == "anthropic" else server.base_url_openai


@pytest.fixture
async def make_provider(fake_provider: FakeProviderServer) -> AsyncIterator[Callable[..., Provider]]:  # noqa: F811
    """``make_provider(kind, server=None, **settings)``; providers are closed afterwards."""
    made: list[Provider] = []

    def make(kind: str, server: FakeProviderServer | None = None, **overrides: Any) -> Provider:
        values: dict[str, Any] = {"name": f"test-{kind}", "kind": kind,
                                  "base_url": base_url(server or fake_provider, kind), "api_key": FAKE_API_KEY}
        values.update(overrides)
        provider = create_provider(ProviderSettings(**values))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


def request(text: str = "Hello", **kwargs: Any) -> ChatRequest:
    kwargs.setdefault("model", "fake-model")
    return ChatRequest(messages=(ChatMessage("user", text),), **kwargs)


async def collect(provider: Provider, req: ChatRequest | None = None) -> list[ProviderEvent]:
    return [event async for event in provider.stream(req or request())]


async def collect_until_error(provider: Provider, req: ChatRequest | None = None
                              ) -> tuple[list[ProviderEvent], ProviderError]:
    events: list[ProviderEvent] = []
    with pytest.raises(ProviderError) as info:
        async for event in provider.stream(req or request()):
            events.append(event)
    return events, info.value


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))

"""Failures become ProviderError with the right kind, and never leak a key."""

from __future__ import annotations

import socket
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from tests.fakes.provider_server import FakeProviderServer, Scenario
from tests.providers.conftest import APIS, collect, collect_until_error, text_of
from tui_chat.providers import ProviderSettings, TextDelta, create_provider

pytestmark = pytest.mark.parametrize("api", APIS)

WRONG_KEY = "sk-proj-WrongKeyValue0123456789Zq9X"


async def test_401_is_auth_and_never_shows_the_key(api: str, make_provider, fake_provider_factory) -> None:
    server: FakeProviderServer = fake_provider_factory(api_key="sk-the-right-one-000000")
    events, error = await collect_until_error(make_provider(api, server=server, api_key=WRONG_KEY))
    assert events == []
    assert error.kind == "auth" and error.status == 401 and not error.retryable
    sent = server.last_request.headers
    assert (sent.get("x-api-key") or sent["authorization"].removeprefix("Bearer ")) == WRONG_KEY
    for text in (str(error), repr(error), error.message, *map(str, error.args)):
        assert "\n" not in text
        assert WRONG_KEY not in text
        for fragment in ("WrongKey", "Zq9X", "0123456789", "****"):
            assert fragment not in text
    assert error.__cause__ is None and error.__suppress_context__  # no SDK message chained in
    assert str(error).startswith(f"test-{api}: authentication failed")


async def test_429_with_retry_after_seconds(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(status=429, retry_after="7", error_message="Rate limit reached for requests"))
    _, error = await collect_until_error(make_provider(api))
    assert (error.kind, error.status, error.retry_after) == ("rate_limit", 429, 7.0)
    assert error.retryable
    assert "Rate limit reached" in error.message


async def test_429_with_retry_after_date_and_ms(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    fake_provider.queue(Scenario(status=429, retry_after=when), Scenario(status=429, retry_after_ms="2500"))
    provider = make_provider(api)
    _, error = await collect_until_error(provider)
    assert error.kind == "rate_limit" and 100 < error.retry_after <= 120
    _, error = await collect_until_error(provider)
    assert error.retry_after == 2.5


async def test_500_before_the_first_token(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(status=500, error_message="The server had an error"))
    events, error = await collect_until_error(make_provider(api))
    assert events == []
    assert (error.kind, error.status) == ("server", 500) and error.retryable


async def test_overloaded_529(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(status=529, error_type="overloaded_error", error_message="Overloaded",
                                 retry_after="3"))
    _, error = await collect_until_error(make_provider(api))
    assert (error.kind, error.status, error.retry_after) == ("server", 529, 3.0)


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_request_errors_are_bad_request(api: str, status: int, make_provider,
                                              fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(status=status, error_message="model `nope` does not exist"))
    _, error = await collect_until_error(make_provider(api))
    assert (error.kind, error.status) == ("bad_request", status) and not error.retryable
    assert "model `nope` does not exist" in error.message


async def test_connection_cut_mid_stream(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="alpha beta gamma delta epsilon zeta", cut_after=3))
    events, error = await collect_until_error(make_provider(api))
    assert text_of(events) == "alpha beta gamma"
    assert all(isinstance(e, TextDelta) for e in events)
    assert error.kind == "connection" and error.retryable
    assert "mid-stream" in error.message


async def test_malformed_event_is_a_protocol_error(api: str, make_provider,
                                                   fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="fine so far then broken", malformed_after=2))
    events, error = await collect_until_error(make_provider(api))
    assert text_of(events) == "fine so"
    assert error.kind == "protocol" and not error.retryable


async def test_error_event_inside_the_stream(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    error_type = "overloaded_error" if api == "anthropic" else "server_error"
    fake_provider.queue(Scenario(text="one two three four", stream_error_after=2, error_type=error_type,
                                 error_message="Overloaded"))
    events, error = await collect_until_error(make_provider(api))
    assert text_of(events) == "one two"
    assert error.kind == "server" and error.status is None and error.retryable
    assert "Overloaded" in error.message


async def test_read_timeout_mid_stream(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    provider = make_provider(api, timeout=0.5)
    fake_provider.queue(Scenario(text="quick enough answer", delay=0.05))  # each read well within 0.5 s
    assert text_of(await collect(provider)) == "quick enough answer"
    fake_provider.queue(Scenario(text="a b c", delay=3.0))
    events, error = await collect_until_error(provider)
    assert events == [] or all(isinstance(e, TextDelta) for e in events)
    assert error.kind == "connection" and "timed out" in error.message


async def test_nothing_listening(api: str) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}" + ("/v1" if api == "openai" else "")
    provider = create_provider(ProviderSettings(name="gone", kind=api, base_url=url, api_key="k"))
    try:
        _, error = await collect_until_error(provider)
    finally:
        await provider.aclose()
    assert error.kind == "connection" and error.message.startswith("could not connect")

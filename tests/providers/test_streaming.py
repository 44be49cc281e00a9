"""Streaming answers through both SDKs against the fake server."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.fakes.provider_server import FakeProviderServer, Scenario, ToolCallScript
from tests.fakes.provider_wire import generate_markdown, split_text
from tests.providers.conftest import APIS, collect, collect_until_error, request, text_of
from tui_chat.providers import (
    ReasoningDelta,
    StreamFinished,
    TextDelta,
    ToolCallReady,
    UsageReport,
)

pytestmark = pytest.mark.parametrize("api", APIS)


async def test_plain_reply(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="The quick brown fox jumps.", chunks=5, input_tokens=12, output_tokens=5))
    events = await collect(make_provider(api))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert [d.text for d in deltas] == split_text("The quick brown fox jumps.", 5)
    assert len(deltas) == 5
    assert isinstance(events[-1], StreamFinished)
    assert (events[-1].finish_reason, events[-1].raw_finish_reason) == (
        "stop", "end_turn" if api == "anthropic" else "stop")
    usage = [e for e in events if isinstance(e, UsageReport)]
    assert usage == [UsageReport(input_tokens=12, output_tokens=5)]
    assert events.index(usage[0]) == len(events) - 2  # usage comes just before the end
    sent = fake_provider.last_request
    assert sent.body["stream"] is True
    assert sent.body["messages"][-1]["content"] in ("Hello", [{"type": "text", "text": "Hello"}])
    assert sent.completed and not sent.disconnected


async def test_parallel_tool_calls_split_across_chunks(api: str, make_provider,
                                                      fake_provider: FakeProviderServer) -> None:
    calls = [
        ToolCallScript("read_file", json.dumps({"path": "src/main.py", "lines": [1, 20]}), id="call_a", chunks=6),
        ToolCallScript("run_shell", json.dumps({"command": "ls -la | grep ü"}, ensure_ascii=False), id="call_b",
                       chunks=4),
        ToolCallScript("list_dir", "", id="call_c", chunks=1),
    ]
    fake_provider.queue(Scenario(text="Let me look.", tool_calls=calls))
    events = await collect(make_provider(api))
    ready = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert [(c.id, c.name) for c in ready] == [("call_a", "read_file"), ("call_b", "run_shell"),
                                                ("call_c", "list_dir")]
    assert json.loads(ready[0].arguments) == {"path": "src/main.py", "lines": [1, 20]}
    assert json.loads(ready[1].arguments) == {"command": "ls -la | grep ü"}
    assert ready[2].arguments == "{}"  # no argument text at all
    assert text_of(events) == "Let me look."
    assert events[-1] == StreamFinished("tool_calls", "tool_use" if api == "anthropic" else "tool_calls")
    assert len(ready) == 3  # each call exactly once


async def test_multibyte_characters_split_across_tcp_writes(api: str, make_provider,
                                                           fake_provider: FakeProviderServer) -> None:
    text = "naïve café — 你好世界 😀👍🏽 done"
    fake_provider.queue(Scenario(text=text, split_utf8=True))
    events = await collect(make_provider(api))
    assert text_of(events) == text
    assert all("\ufffd" not in e.text for e in events if isinstance(e, TextDelta))


async def test_unicode_line_separators_inside_the_text(api: str, make_provider,
                                                      fake_provider: FakeProviderServer) -> None:
    """JSON may carry U+2028, U+2029 and U+0085 raw (the fake server does): they are text,
    not line ends of the event stream."""
    text = "one\u2028two\u2029three\x85four\x0cfive"
    fake_provider.queue(Scenario(text=text, chunks=3))
    events = await collect(make_provider(api))
    assert text_of(events) == text


async def test_many_events_in_one_http_chunk(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    """A proxy or a batching server packs many events into one chunk: all of them arrive,
    in order; the OpenAI reader sends the text of one read as one delta."""
    text = " ".join(f"w{i}" for i in range(120))
    fake_provider.queue(Scenario(text=text, reasoning="Think first, then answer.", events_per_write=50))
    events = await collect(make_provider(api))
    assert text_of(events) == text
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(r.text for r in reasoning) == "Think first, then answer."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(events.index(r) < first_text for r in reasoning)
    assert isinstance(events[-1], StreamFinished)
    if api == "openai":
        assert len([e for e in events if isinstance(e, TextDelta)]) <= 4


async def test_an_error_event_in_the_same_chunk_keeps_the_text_before_it(
        api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="alpha beta gamma delta epsilon zeta", chunks=6, stream_error_after=4,
                                 error_message="overloaded", events_per_write=20))
    events, error = await collect_until_error(make_provider(api))
    assert text_of(events) == "".join(split_text("alpha beta gamma delta epsilon zeta", 6)[:4])
    assert error.kind == "server"


async def test_empty_deltas_comments_and_pings_are_ignored(api: str, make_provider,
                                                          fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="one two three", empty_deltas=True, keepalive_comments=True))
    events = await collect(make_provider(api))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert [d.text for d in deltas] == ["one", " two", " three"]
    assert isinstance(events[-1], StreamFinished)


async def test_usage_with_cache_and_reasoning_tokens(api: str, make_provider,
                                                     fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="ok", input_tokens=100, output_tokens=40, cached_tokens=60,
                                 cache_creation_tokens=25, reasoning_tokens=30))
    events = await collect(make_provider(api))
    (usage,) = [e for e in events if isinstance(e, UsageReport)]
    if api == "openai":  # prompt_tokens already includes cached tokens
        assert usage == UsageReport(input_tokens=100, output_tokens=40, cached_input_tokens=60, reasoning_tokens=30)
    else:  # Anthropic reports uncached input, cache reads and cache writes separately
        assert usage == UsageReport(input_tokens=185, output_tokens=40, cached_input_tokens=60,
                                    cache_creation_input_tokens=25)


async def test_reasoning_deltas(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="Answer: 4", reasoning="Two plus two is four."))
    events = await collect(make_provider(api))
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(r.text for r in reasoning) == "Two plus two is four."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(events.index(r) < first_text for r in reasoning)
    signatures = [r.signature for r in reasoning if r.signature]
    assert signatures == (["c2ln"] if api == "anthropic" else [])
    assert text_of(events) == "Answer: 4"


async def test_length_finish(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="cut short", finish_reason="length"))
    events = await collect(make_provider(api))
    assert events[-1] == StreamFinished("length", "max_tokens" if api == "anthropic" else "length")


async def test_long_markdown_answer(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(markdown_tokens=4000))
    events = await collect(make_provider(api))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 4000
    assert "".join(d.text for d in deltas) == "".join(generate_markdown(4000))


async def test_closing_the_stream_closes_the_connection(api: str, make_provider,
                                                        fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="word " * 200, delay=0.02))
    stream = make_provider(api).stream(request())
    received = []
    async for event in stream:
        if isinstance(event, TextDelta):
            received.append(event)
            if len(received) == 3:
                break
    await stream.aclose()
    assert fake_provider.wait_for_disconnect(timeout=5)
    sent = fake_provider.last_request
    assert sent.disconnected and not sent.completed
    assert sent.chunks_sent < 20  # noticed at once, not after streaming all 200 words


async def test_cancelling_the_task_closes_the_connection(api: str, make_provider,
                                                         fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="word " * 200, delay=0.02))
    provider = make_provider(api)
    got_text = asyncio.Event()

    async def consume() -> None:
        async for event in provider.stream(request()):
            if isinstance(event, TextDelta):
                got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake_provider.wait_for_disconnect(timeout=5)
    assert fake_provider.last_request.chunks_sent < 20


async def test_connection_is_reused_between_answers(api: str, make_provider,
                                                    fake_provider: FakeProviderServer) -> None:
    provider = make_provider(api)
    fake_provider.queue(Scenario(text="first"), Scenario(text="second"))
    assert text_of(await collect(provider)) == "first"
    assert text_of(await collect(provider)) == "second"
    peers = [r.peer for r in fake_provider.chat_requests()]
    assert len(peers) == 2 and peers[0] == peers[1]  # same client socket: the body was read to its end


async def test_aclose_closes_the_sdk_client(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    provider = make_provider(api)
    await collect(provider)
    client = provider.client
    assert client is provider.client  # one SDK client per provider
    await provider.aclose()
    assert client.is_closed()


async def test_prepare_builds_the_client_without_a_request(api: str, make_provider,
                                                           fake_provider: FakeProviderServer) -> None:
    """The TUI prepares the default provider while it starts, so that the first answer
    waits for no client set-up; preparing sends nothing."""
    provider = make_provider(api)
    provider.prepare()
    assert provider._client is not None
    assert fake_provider.chat_requests() == []
    fake_provider.queue(Scenario(text="Ready."))
    assert text_of(await collect(provider)) == "Ready."

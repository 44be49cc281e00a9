"""One turn end to end: events, persistence while streaming, errors, retries, cancel."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from storage import Storage
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.provider_wire import Scenario, ToolCallScript
from tui_chat.engine import events as ev
from tui_chat.engine.turn import ChatEngine, TurnRequest

PROVIDERS = [("fake-openai", "gpt-4o"), ("fake-anthropic", "claude-haiku-4-5")]


async def collect(engine: ChatEngine, request: TurnRequest) -> list[ev.Event]:
    return [event async for event in engine.run(request)]


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
async def test_a_turn_is_stored_with_usage_and_cost(engine, store: Storage, user_id: str,
                                                    fake_provider: FakeProviderServer, provider: str, model: str) -> None:
    fake_provider.queue(Scenario(text="Paris is the capital of France.", input_tokens=1000, output_tokens=200))
    events = await collect(engine, TurnRequest("Capital of France?", provider=provider, model=model))
    kinds = [e.type for e in events]
    assert kinds[0] == "turn_started" and kinds[-1] == "turn_finished"
    assert "".join(e.text for e in events if isinstance(e, ev.TextDelta)) == "Paris is the capital of France."
    finished = events[-1]
    assert isinstance(finished, ev.TurnFinished) and finished.status == "done"
    assert (finished.input_tokens, finished.output_tokens) == (1000, 200)
    assert finished.cost_usd is not None and finished.cost_usd > 0  # priced from the catalog
    branch = store.messages.branch(user_id, finished.conversation_id).items
    assert [(m.role, m.status) for m in branch] == [("user", "done"), ("assistant", "done")]
    answer = branch[-1]
    assert answer.content == "Paris is the capital of France." and answer.token_count == 200
    assert answer.meta["usage"]["input_tokens"] == 1000 and answer.meta["first_token_ms"] is not None
    conversation = store.conversations.get(user_id, finished.conversation_id)
    assert conversation.total_cost == finished.cost_usd and conversation.message_count == 2
    totals = store.usage.totals(user_id)
    assert totals.input_tokens == 1000 and totals.output_tokens == 200


async def test_answer_is_persisted_while_it_streams(engine, store: Storage, user_id: str,
                                                    fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text=" ".join(f"word{i}" for i in range(40)), delay=0.03))
    seen: list[tuple[str, str]] = []
    message_id = None
    async for event in engine.run(TurnRequest("count", provider="fake-openai")):
        if isinstance(event, ev.ResponseStarted):
            message_id = event.message_id
            row = store.messages.get(user_id, message_id)
            seen.append((row.status, row.content))  # the row exists before the first token
        elif isinstance(event, ev.TextDelta) and "word30" in event.text:
            await asyncio.sleep(0.15)  # let the writer flush
            row = store.messages.get(user_id, message_id)
            seen.append((row.status, row.content))
    assert seen[0] == ("pending", "")
    assert seen[1][0] == "streaming" and "word20" in seen[1][1]
    assert store.messages.get(user_id, message_id).status == "done"


async def test_cancel_keeps_what_arrived(engine, store: Storage, user_id: str, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text=" ".join(f"w{i}" for i in range(200)), delay=0.02))
    got: list[str] = []
    state: dict[str, str] = {}

    async def consume() -> None:
        async for event in engine.run(TurnRequest("go", provider="fake-openai")):
            if isinstance(event, ev.ResponseStarted):
                state["id"] = event.message_id
            if isinstance(event, ev.TextDelta):
                got.append(event.text)

    task = asyncio.create_task(consume())
    while len(got) < 10:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = store.messages.get(user_id, state["id"])
    assert row.status == "cancelled"
    assert row.content.startswith("".join(got[:10])) and row.content == "".join(got)
    assert fake_provider.wait_for_disconnect()


async def test_connection_cut_mid_stream_keeps_partial_text(engine, store: Storage, user_id: str,
                                                            fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="one two three four five six", chunks=6, cut_after=3))
    events = await collect(engine, TurnRequest("x", provider="fake-openai"))
    error = next(e for e in events if isinstance(e, ev.TurnError))
    assert error.kind == "connection"
    shown = "".join(e.text for e in events if isinstance(e, ev.TextDelta))
    row = store.messages.get(user_id, error.message_id)
    assert row.status == "error" and row.content == shown  # everything the user saw is kept
    assert shown and "one two three four five six".startswith(shown) and len(shown) < 27
    assert row.meta["error"]["kind"] == "connection"
    assert len(fake_provider.chat_requests()) == 1  # no retry once text has arrived


async def test_rate_limit_is_retried_honouring_retry_after(engine, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(status=429, retry_after="0.2"), Scenario(text="finally"))
    events = await collect(engine, TurnRequest("x", provider="fake-openai"))
    retry = next(e for e in events if isinstance(e, ev.Retrying))
    assert retry.delay == pytest.approx(0.2)
    assert events[-1].status == "done" and events[-1].text == "finally"
    assert len(fake_provider.chat_requests()) == 2


async def test_server_errors_give_up_after_retries(engine, store: Storage, user_id: str,
                                                   fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(*[Scenario(status=500)] * 3)
    events = await collect(engine, TurnRequest("x", provider="fake-anthropic"))
    assert [e.type for e in events].count("retrying") == 2
    error = next(e for e in events if isinstance(e, ev.TurnError))
    assert error.kind == "server" and "\n" not in error.message
    assert store.messages.get(user_id, error.message_id).status == "error"
    assert store.usage.totals(user_id).calls == 1


async def test_auth_error_is_not_retried(engine, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(status=401))
    events = await collect(engine, TurnRequest("x", provider="fake-openai"))
    error = next(e for e in events if isinstance(e, ev.TurnError))
    assert error.kind == "auth" and len(fake_provider.chat_requests()) == 1


async def test_tool_calls_without_tools_are_denied_and_reported_to_the_model(
        engine, store: Storage, user_id: str, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(
        Scenario(tool_calls=[ToolCallScript("run_shell", '{"command": "rm -rf /"}', chunks=4)], finish_reason="tool_calls"),
        Scenario(text="I cannot run that."),
    )
    events = await collect(engine, TurnRequest("delete everything", provider="fake-openai"))
    decided = next(e for e in events if isinstance(e, ev.ToolDecided))
    assert not decided.approved
    finished = events[-1]
    assert finished.text == "I cannot run that." and finished.steps == 2
    assert finished.tool_calls[0]["name"] == "run_shell" and finished.tool_calls[0]["approved"] is False
    [execution] = store.tools.list(user_id)
    assert execution.status == "denied" and execution.parameters == {"command": "rm -rf /"}
    second = fake_provider.chat_requests()[1].body
    tool_message = next(m for m in second["messages"] if m["role"] == "tool")
    assert "denied" in tool_message["content"]
    roles = [m.role for m in store.messages.branch(user_id, finished.conversation_id).items]
    assert roles == ["user", "assistant", "tool", "assistant"]


async def test_max_turns_stops_a_tool_loop(store: Storage, user_id: str, directory, fake_provider) -> None:
    engine = ChatEngine(store, user_id, directory, flush_interval=0.05)
    call = Scenario(tool_calls=[ToolCallScript("read_file", '{"path": "x"}')], finish_reason="tool_calls")
    fake_provider.queue(call, call, call)
    events = await collect(engine, TurnRequest("loop", provider="fake-openai", max_turns=2))
    assert events[-1].stop_reason == "max_turns" and events[-1].status == "stopped"
    assert len(fake_provider.chat_requests()) == 2


async def test_budget_refuses_a_turn(engine, store: Storage, user_id: str, fake_provider) -> None:
    store.budgets.set(user_id, "day", max_cost=Decimal("0"))
    fake_provider.queue(Scenario(text="never sent"))
    events = await collect(engine, TurnRequest("x", provider="fake-openai"))
    assert any(isinstance(e, ev.TurnError) and e.kind == "budget" for e in events)
    assert events[-1].stop_reason == "budget" and fake_provider.chat_requests() == []
    # A refused first prompt leaves no empty conversation behind.
    assert events[-1].conversation_id is None and store.conversations.list(user_id).items == []
    # In an existing conversation it is refused the same way, and nothing is added to it.
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o")
    events = await collect(engine, TurnRequest("y", conversation_id=conversation.id))
    assert events[-1].stop_reason == "budget" and events[-1].conversation_id == conversation.id
    assert store.messages.count(user_id, conversation.id) == 0 and fake_provider.chat_requests() == []


async def test_context_never_exceeds_the_window(engine, store: Storage, user_id: str, fake_provider) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=3000)
    for i in range(20):
        store.messages.add(user_id, conversation.id, role="user" if i % 2 == 0 else "assistant",
                           content=f"message {i} " + "lorem ipsum dolor sit amet " * 40)
    fake_provider.queue(Scenario(text="ok"))
    events = await collect(engine, TurnRequest("latest question", conversation_id=conversation.id,
                                               settings={"max_tokens": 500}))
    sent = fake_provider.chat_requests()[0].body["messages"]
    assert sent[-1]["content"] == "latest question"
    assert 1 < len(sent) < 21  # older turns dropped, newest kept
    assert "message 19" in sent[-2]["content"]
    assert events[-1].status == "done"


async def test_regenerate_makes_a_sibling(engine, store: Storage, user_id: str, fake_provider) -> None:
    fake_provider.queue(Scenario(text="first"), Scenario(text="second"))
    first = (await collect(engine, TurnRequest("joke", provider="fake-openai")))[-1]
    again = (await collect(engine, TurnRequest("", conversation_id=first.conversation_id,
                                               regenerate_from=first.message_id)))[-1]
    assert store.messages.siblings(user_id, again.message_id).ids == (first.message_id, again.message_id)
    assert [m.content for m in store.messages.branch(user_id, first.conversation_id).items] == ["joke", "second"]
    assert fake_provider.chat_requests()[1].body["messages"][-1]["content"] == "joke"


async def test_unknown_provider_is_a_config_error(engine) -> None:
    events = await collect(engine, TurnRequest("x", provider="nope"))
    assert events[0].type == "error" and events[0].kind == "config" and "nope" in events[0].message


async def test_unknown_prices_are_unknown_not_wrong(engine, store: Storage, user_id: str, fake_provider) -> None:
    fake_provider.queue(Scenario(text="hi", input_tokens=10, output_tokens=2))
    finished = (await collect(engine, TurnRequest("x", provider="fake-local")))[-1]
    assert finished.status == "done" and finished.cost_usd is None
    [row] = store.usage.by(user_id, "model")
    assert row.totals.input_tokens == 10


async def test_thinking_is_stored_and_sent_back_in_tool_loops(engine, store: Storage, user_id: str,
                                                              fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(
        Scenario(reasoning="I should look at the file.", tool_calls=[ToolCallScript("read_file", '{"path": "a"}')],
                 finish_reason="tool_calls"),
        Scenario(text="done"),
    )
    events = await collect(engine, TurnRequest("x", provider="fake-anthropic"))
    assert "".join(e.text for e in events if isinstance(e, ev.ReasoningDelta)) == "I should look at the file."
    first_answer = store.messages.branch(user_id, events[-1].conversation_id).items[1]
    reasoning = next(p for p in first_answer.parts if p["type"] == "reasoning")
    assert reasoning["text"] == "I should look at the file." and reasoning["signature"]
    replayed = fake_provider.chat_requests()[1].body["messages"][1]["content"]
    thinking = next(block for block in replayed if block["type"] == "thinking")
    assert thinking["signature"] == reasoning["signature"]


async def test_an_openai_key_is_never_sent_to_another_host(store: Storage, user_id: str, fake_provider) -> None:
    """A provider with its own base URL does not inherit OPENAI_API_KEY."""
    from tui_chat.engine.directory import ProviderDirectory

    store.providers.add(user_id, "elsewhere", kind="openai", base_url=fake_provider.base_url_openai)
    directory = ProviderDirectory(store, user_id, use_keyring=False, environ={"OPENAI_API_KEY": "sk-real-openai-key"})
    engine = ChatEngine(store, user_id, directory)
    events = await collect(engine, TurnRequest("x", provider="elsewhere", model="gpt-4o"))
    assert events[0].type == "error" and events[0].kind == "config" and "keys set elsewhere" in events[0].message
    assert fake_provider.chat_requests() == []


async def test_read_only_shared_conversations_refuse_new_turns(engine, store: Storage, user_id: str,
                                                               fake_provider) -> None:
    shared = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o",
                                        meta={"shared": {"read_only": True, "permission": "read"}})
    events = await collect(engine, TurnRequest("x", conversation_id=shared.id))
    assert events[0].kind == "policy" and "read-only" in events[0].message
    assert events[-1].stop_reason == "policy" and fake_provider.chat_requests() == []
    assert store.conversations.get(user_id, shared.id).message_count == 0


async def test_generated_title_is_short_and_its_usage_recorded(engine, store: Storage, user_id: str,
                                                               fake_provider) -> None:
    fake_provider.queue(Scenario(text="answer"), Scenario(text='"Planning A Trip To Lisbon."', input_tokens=50,
                                                          output_tokens=6))
    finished = (await collect(engine, TurnRequest("Help me plan a week in Lisbon", provider="fake-openai")))[-1]
    assert await engine.generate_title(finished.conversation_id) == "Planning A Trip To Lisbon"
    assert store.conversations.get(user_id, finished.conversation_id).title == "Planning A Trip To Lisbon"
    assert "Lisbon" in fake_provider.chat_requests()[1].body["messages"][0]["content"]
    titles = [g for g in store.usage.by(user_id, "model")]
    assert sum(g.totals.input_tokens for g in titles) >= 50

"""Context management: exact offline token counts, budget selection, strategies, memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from storage import Storage
from tests.fakes.provider_wire import Scenario
from tui_chat.engine import events as ev
from tui_chat.engine.context import ContextBuilder, ContextTooLarge
from tui_chat.engine.turn import ChatEngine, TurnRequest

NO_NETWORK = textwrap.dedent("""
    import socket
    def refuse(*args, **kwargs):
        raise OSError("network disabled for this test")
    socket.socket.connect = refuse
    socket.create_connection = refuse
""")


def test_counts_match_tiktoken_reference_values_with_the_network_disabled(tmp_path) -> None:
    code = NO_NETWORK + textwrap.dedent("""
        import os
        os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        from tui_chat.engine.tokens import count_tokens, get_encoding
        cl = get_encoding("cl100k_base")
        o2 = get_encoding("o200k_base")
        print(cl.encode("tiktoken is great!"))
        print(count_tokens("tiktoken is great!", "gpt-4"), count_tokens("tiktoken is great!", "gpt-4o"))
        print(o2.encode("hello world"), count_tokens("hello world", "gpt-5-mini"))
        print(count_tokens("antidisestablishmentarianism", "gpt-3.5-turbo"))
    """)
    env = {"TUI_CHAT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[83, 1609, 5963, 374, 2294, 0]"  # the cl100k example from OpenAI's cookbook
    assert lines[1] == "6 6"
    assert lines[2] == "[24912, 2375] 2"
    assert lines[3] == "6"


def test_model_families_pick_the_right_encoding() -> None:
    from tui_chat.engine.tokens import encoding_name_for, is_exact_for

    assert encoding_name_for("gpt-4o-2024-08-06") == "o200k_base"
    assert encoding_name_for("gpt-5.4-mini") == "o200k_base"
    assert encoding_name_for("o3-mini") == "o200k_base"
    assert encoding_name_for("gpt-4-turbo") == "cl100k_base"
    assert encoding_name_for("gpt-3.5-turbo") == "cl100k_base"
    assert not is_exact_for("claude-haiku-4-5") and is_exact_for("gpt-4.1")


def test_counting_a_megabyte_works(tmp_path) -> None:
    from tui_chat.engine.tokens import count_tokens

    assert count_tokens(" word" * 200_000, "gpt-4o") == 200_000  # 1 MB of text


@pytest.fixture
def conv(store: Storage, user_id: str):
    return store.conversations.create(user_id, provider="fake-openai", model="gpt-4o")


def _fill(store: Storage, user_id: str, conversation_id: str, n: int, words: int = 50) -> list[str]:
    ids = []
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        ids.append(store.messages.add(user_id, conversation_id, role=role,
                                      content=f"m{i} " + "token " * words).id)
    return ids


def test_small_conversations_send_everything_without_a_tokenizer(store, user_id, conv) -> None:
    _fill(store, user_id, conv.id, 6)
    built = ContextBuilder(store, user_id).build(store.conversations.get(user_id, conv.id),
                                                 store.conversations.get(user_id, conv.id).current_message_id,
                                                 model="gpt-4o", window=100_000, reserve=1000)
    assert len(built.messages) == 6 and not built.dropped and not built.exact


def test_budget_keeps_newest_turns_and_caches_counts(store, user_id, conv) -> None:
    ids = _fill(store, user_id, conv.id, 40)
    conversation = store.conversations.get(user_id, conv.id)
    built = ContextBuilder(store, user_id).build(conversation, conversation.current_message_id, model="gpt-4o",
                                                 window=2000, reserve=500)
    assert built.dropped and built.exact and built.tokens <= 1500
    assert list(built.sent_ids) == ids[-len(built.sent_ids):]  # contiguous newest turns
    assert built.boundary_id == built.sent_ids[0]
    from tui_chat.engine.tokens import count_tokens

    last = store.messages.get(user_id, ids[-1])
    assert last.token_count == count_tokens(last.content, "gpt-4o")  # cached exact count


def test_tool_pairs_are_never_split(store, user_id, conv) -> None:
    _fill(store, user_id, conv.id, 10)
    call = store.messages.add(user_id, conv.id, role="assistant", content="",
                              parts=[{"type": "tool_call", "id": "c1", "name": "read_file", "arguments": "{}"}])
    result = store.messages.add(user_id, conv.id, role="tool", content="x " * 300,
                                parts=[{"type": "tool_result", "tool_call_id": "c1", "content": "x " * 300}])
    question = store.messages.add(user_id, conv.id, role="user", content="what did it say?")
    conversation = store.conversations.get(user_id, conv.id)
    builder = ContextBuilder(store, user_id)
    for window in (700, 900, 1200, 2000):
        built = builder.build(conversation, conversation.current_message_id, model="gpt-4o", window=window, reserve=0)
        sent = list(built.sent_ids)
        assert (result.id in sent) == (call.id in sent), window
        assert sent[-1] == question.id


def test_pinned_and_referenced_messages_are_kept(store, user_id, conv) -> None:
    ids = _fill(store, user_id, conv.id, 40)
    store.messages.pin(user_id, ids[0])
    store.messages.add_reference(user_id, ids[-1], ids[3])
    conversation = store.conversations.get(user_id, conv.id)
    built = ContextBuilder(store, user_id).build(conversation, conversation.current_message_id, model="gpt-4o",
                                                 window=2000, reserve=500)
    assert built.sent_ids[:2] == (ids[0], ids[3]) and ids[1] not in built.sent_ids


def test_a_message_larger_than_the_window_is_an_error(store, user_id, conv) -> None:
    store.messages.add(user_id, conv.id, role="user", content="word " * 5000)
    conversation = store.conversations.get(user_id, conv.id)
    with pytest.raises(ContextTooLarge, match="window"):
        ContextBuilder(store, user_id).build(conversation, conversation.current_message_id, model="gpt-4o",
                                             window=1000, reserve=100)


async def _turn(engine: ChatEngine, request: TurnRequest) -> list[ev.Event]:
    return [e async for e in engine.run(request)]


async def test_truncation_is_recorded_once_per_change(engine, store, user_id, fake_provider) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=2400)
    _fill(store, user_id, conversation.id, 40)
    fake_provider.queue(Scenario(text="a"), Scenario(text="b"))
    first = await _turn(engine, TurnRequest("q1 " * 5, conversation_id=conversation.id, settings={"max_tokens": 500}))
    built = next(e for e in first if isinstance(e, ev.ContextBuilt))
    assert built.dropped and built.optimization == "truncation" and built.tokens <= 1900
    [row] = store.context.list(user_id, conversation.id)
    assert row.optimization_type == "truncation" and row.trigger_reason == "token_limit" and row.affected_message_ids
    await _turn(engine, TurnRequest("q2", conversation_id=conversation.id, settings={"max_tokens": 500}))
    rows = store.context.list(user_id, conversation.id)
    assert len(rows) == 2  # the window moved: the newly dropped messages are recorded
    assert not set(rows[0].affected_message_ids) & set(rows[1].affected_message_ids)


async def test_summarize_strategy_uses_the_model_and_reuses_the_summary(engine, store, user_id, fake_provider) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=2400,
                                              context_strategy="summarize")
    _fill(store, user_id, conversation.id, 40)
    fake_provider.queue(Scenario(text="SUMMARY: they discussed tokens."), Scenario(text="answer"))
    events = await _turn(engine, TurnRequest("next?", conversation_id=conversation.id, settings={"max_tokens": 500}))
    assert next(e for e in events if isinstance(e, ev.ContextBuilt)).optimization == "summarization"
    summary_request, chat_request = fake_provider.chat_requests()
    assert "Summarise the conversation" in summary_request.body["messages"][0]["content"]
    system = chat_request.body["messages"][0]
    assert system["role"] == "system" and "SUMMARY: they discussed tokens." in system["content"]
    assert store.conversations.get(user_id, conversation.id).summary == "SUMMARY: they discussed tokens."
    [row] = store.context.list(user_id, conversation.id)
    assert row.optimization_type == "summarization" and row.summary.startswith("SUMMARY")
    # The next turn fits with the summary: no new summary is made.
    fake_provider.queue(Scenario(text="again"))
    await _turn(engine, TurnRequest("more", conversation_id=conversation.id, settings={"max_tokens": 500}))
    assert len(fake_provider.chat_requests()) == 3


async def test_manual_strategy_stops_and_says_how_to_compact(engine, store, user_id, fake_provider) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=2400,
                                              context_strategy="manual")
    _fill(store, user_id, conversation.id, 40)
    events = await _turn(engine, TurnRequest("x", conversation_id=conversation.id, settings={"max_tokens": 500}))
    error = next(e for e in events if isinstance(e, ev.TurnError))
    assert error.kind == "context" and "compact" in error.message
    assert events[-1].stop_reason == "context" and fake_provider.chat_requests() == []


async def test_compact_by_hand(engine, store, user_id, fake_provider) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o")
    ids = _fill(store, user_id, conversation.id, 10)
    fake_provider.queue(Scenario(text="the gist"))
    built, optimization = await engine.compact(conversation.id, keep_recent=4)
    assert optimization == "summarization" and list(built.sent_ids) == ids[-4:]
    [row] = store.context.list(user_id, conversation.id)
    assert row.trigger_reason == "user_request" and row.affected_message_ids == ids[:6]


async def test_memories_are_injected_when_relevant(engine, store, user_id, fake_provider) -> None:
    fake_provider.queue(Scenario(text="noted"), Scenario(text="Your cat is Miso."), Scenario(text="x"))
    await _turn(engine, TurnRequest("Remember that my cat is called Miso", provider="fake-openai"))
    assert [m.content for m in store.memories.list(user_id)] == ["my cat is called Miso"]
    events = await _turn(engine, TurnRequest("What is my cat called?", provider="fake-openai"))
    system = fake_provider.chat_requests()[1].body["messages"][0]
    assert system["role"] == "system" and "my cat is called Miso" in system["content"]
    assert next(e for e in events if isinstance(e, ev.ContextBuilt)).memory_ids
    off = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context={"memory": False})
    await _turn(engine, TurnRequest("What is my cat called?", conversation_id=off.id))
    assert fake_provider.chat_requests()[2].body["messages"][0]["role"] == "user"

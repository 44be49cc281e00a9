"""The context preview: what the next turn would send, without sending or recording it."""

from __future__ import annotations

from storage import Storage
from tui_chat.engine.turn import ChatEngine


def _fill(store: Storage, user_id: str, conversation_id: str, n: int, words: int = 50) -> list[str]:
    return [store.messages.add(user_id, conversation_id, role="user" if i % 2 == 0 else "assistant",
                               content=f"m{i} " + "token " * words).id for i in range(n)]


def test_a_short_conversation_is_sent_whole(engine: ChatEngine, store, user_id) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o",
                                              system_prompt="Be brief.")
    ids = _fill(store, user_id, conversation.id, 4)
    preview = engine.preview_context(conversation.id, "and then?")
    assert [m.id for m in preview.messages] == [*ids, None]
    assert [m.fate for m in preview.messages] == ["sent"] * 4 + ["draft"]
    assert preview.system_prompt_tokens == 3 and preview.window == 128_000 and preview.exact
    assert preview.total_tokens == (sum(m.tokens for m in preview.messages) + preview.system_prompt_tokens + 4
                                    + preview.tool_tokens + 3)
    assert preview.problem is None and not preview.older


def test_truncation_is_shown_and_nothing_is_recorded(engine: ChatEngine, store, user_id) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=2400,
                                              settings={"max_tokens": 500})
    ids = _fill(store, user_id, conversation.id, 40)
    store.messages.pin(user_id, ids[0])
    preview = engine.preview_context(conversation.id, "next question")
    fates = {m.id: m.fate for m in preview.messages}
    assert fates[ids[0]] == "pinned" and fates[ids[1]] == "dropped" and fates[ids[-1]] == "sent"
    assert preview.count("dropped") > 10 and preview.total_tokens <= 1900 and "left out" in preview.note
    assert store.context.list(user_id, conversation.id) == []
    assert store.conversations.get(user_id, conversation.id).context.get("context_boundary") is None


def test_summarize_strategy_says_what_will_be_summarised(engine: ChatEngine, store, user_id) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=2400,
                                              context_strategy="summarize", settings={"max_tokens": 500})
    _fill(store, user_id, conversation.id, 40)
    preview = engine.preview_context(conversation.id, "next")
    assert preview.count("summarised") > 10 and "summarise" in preview.note
    assert store.context.list(user_id, conversation.id) == []


def test_manual_strategy_is_a_problem(engine: ChatEngine, store, user_id) -> None:
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=2400,
                                              context_strategy="manual", settings={"max_tokens": 500})
    _fill(store, user_id, conversation.id, 40)
    assert "compact" in engine.preview_context(conversation.id, "x").problem


def test_memories_follow_the_draft_and_the_switch(engine: ChatEngine, store, user_id) -> None:
    memory = store.memories.add(user_id, "my cat is called Miso")
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o")
    _fill(store, user_id, conversation.id, 2)
    preview = engine.preview_context(conversation.id, "what is my cat called?")
    assert [m.id for m in preview.memories] == [memory.id] and preview.memory_tokens > 0
    assert engine.preview_context(conversation.id, "").memories == ()
    store.conversations.update(user_id, conversation.id, context={**conversation.context, "memory": False})
    off = engine.preview_context(conversation.id, "what is my cat called?")
    assert not off.memory_enabled and off.memories == () and [m.id for m in off.candidates] == [memory.id]
    assert store.memories.get(user_id, memory.id).use_count == 0  # previews do not count as use


def test_a_new_conversation(engine: ChatEngine, store, user_id) -> None:
    preview = engine.preview_context(None, "hello there", provider="fake-openai", system="You are terse.")
    assert preview.conversation_id is None and preview.model == "gpt-4o"
    assert [m.fate for m in preview.messages] == ["draft"] and preview.system_prompt_tokens > 0


def test_long_histories_are_listed_newest_first_and_counted(engine: ChatEngine, store, user_id, monkeypatch) -> None:
    monkeypatch.setattr("tui_chat.engine.preview.LIST_LIMIT", 10)
    conversation = store.conversations.create(user_id, provider="fake-openai", model="gpt-4o", context_window=2400,
                                              settings={"max_tokens": 500})
    ids = _fill(store, user_id, conversation.id, 40)
    preview = engine.preview_context(conversation.id, "")
    listed = [m.id for m in preview.messages]
    assert len(listed) > 10 and listed == ids[-len(listed):]  # every sent message, and only the newest
    assert {m.fate for m in preview.messages} == {"sent"} and preview.older == {"dropped": 40 - len(listed)}

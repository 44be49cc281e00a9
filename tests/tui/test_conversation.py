"""Sending, streaming, cancelling, errors and retry, through the real engine and the
fake provider server."""

from __future__ import annotations

from tests.fakes.provider_server import Scenario
from tests.tui.helpers import answer_streaming, send, settle, started
from tui_chat.widgets.message import MessageView


async def test_prompt_streams_an_answer_that_is_stored(make_tui, provider, context):
    answer = "# Plan\n\nFirst **bold** point.\n\n```python\nprint('hi')\n```\n\n- one\n- two\n"
    provider.queue(Scenario(text=answer, delay=0.002))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await send(pilot, "Make a plan")
        screen = app.screen
        views = screen.chat.message_views
        assert [v.data.role for v in views] == ["user", "assistant"]
        assert views[1].text == answer
        body = views[1]._body
        assert "First bold point." in body.plain_text()
        # The room kept for more text while it streamed is given back at the end.
        await settle(pilot)
        assert body.size.height == len(body.plain_text().splitlines())
        assert screen.status.state.activity == "idle"
        conversation = screen.conversation
        assert conversation is not None
    storage, uid = context.storage, context.user.id
    branch = storage.messages.branch(uid, conversation.id)
    assert [(m.role, m.status) for m in branch.items] == [("user", "done"), ("assistant", "done")]
    assert branch.items[0].content == "Make a plan"
    assert branch.items[1].content == answer


async def test_escape_cancels_and_keeps_what_arrived(make_tui, provider, context):
    provider.queue(Scenario(text="word " * 400, delay=0.02))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = app.screen
        view = await answer_streaming(pilot, "Talk a lot", "word")
        await pilot.press("escape")
        await settle(pilot)
        assert view.data.status == "cancelled"
        assert screen.status.state.activity == "cancelled"
        assert view.query(".notice.-cancelled")
        shown = view.text
    message = context.storage.messages.get(context.user.id, view.data.id)
    assert message.status == "cancelled"
    assert message.content and message.content.startswith("word")
    assert len(message.content) < len("word " * 400)
    assert shown.startswith(message.content)


async def test_error_is_shown_with_a_retry_that_works(make_tui, provider, context):
    provider.queue(Scenario(status=400, error_message="the model is confused"))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await send(pilot, "Hello?")
        screen = app.screen
        failed = screen.chat.message_views[-1]
        assert failed.data.status == "error"
        assert "the model is confused" in failed.query_one(".notice .note").render().plain
        assert screen.status.state.activity == "error"
        provider.queue(Scenario(text="All good now."))
        await pilot.click(".notice .retry")
        await settle(pilot)
        views = screen.chat.message_views
        assert views[-1].text == "All good now."
        assert views[-1].data.status == "done"
        assert views[-1].data.siblings == (2, 2)
    branch = context.storage.messages.branch(context.user.id, screen.conversation.id)
    assert [m.content for m in branch.items] == ["Hello?", "All good now."]


async def test_configuration_error_is_shown_with_retry(make_tui, context):
    context.storage.users.update_preferences(context.user.id, default_provider="nowhere")
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await send(pilot, "Anyone there?")
        notice = app.screen.query_one(".notice.-error")
        assert "nowhere" in notice.query_one(".note").render().plain
        assert notice.query(".retry")
        assert app.is_running


async def test_second_turn_continues_the_conversation(make_tui, provider, context):
    provider.queue(Scenario(text="One."), Scenario(text="Two."))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await send(pilot, "first")
        await send(pilot, "second")
        screen = app.screen
        assert [v.text for v in screen.chat.message_views] == ["first", "One.", "second", "Two."]
        conversation_id = screen.conversation.id
        body = provider.chat_requests()[-1].body
        assert [m["content"] for m in body["messages"] if m["role"] != "system"][-3:] == ["first", "One.", "second"]
    assert context.storage.conversations.get(context.user.id, conversation_id).message_count == 4


async def test_messages_are_views_not_one_widget_per_line(make_tui, provider):
    provider.queue(Scenario(markdown_tokens=1500))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await send(pilot, "long")
        view: MessageView = app.screen.chat.message_views[-1]
        # The whole reply is one line-painted widget, whatever its length.
        body = view.query_one("StreamingMarkdown")
        assert not body.children
        assert len(body.plain_text().splitlines()) > 100

"""The context view, /compact, spend against the budget on the status line, a turn
refused by a budget, and budgets in the settings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from textual.widgets import Button, Checkbox, Input, Select

from tests.fakes.provider_server import Scenario
from tests.tui.conftest import FIXED_NOW
from tests.tui.helpers import send, settle, started, wait_until
from tui_chat.screens.context import ContextScreen
from tui_chat.screens.settings import SettingsScreen
from tui_chat.widgets.message import ErrorNotice


def long_conversation(context: Any, n: int = 60) -> tuple[Any, list[str]]:
    """``n`` messages of about 55 tokens in a 2,400-token window; the oldest ten are
    already in the conversation's summary (when there are more); a remembered fact."""
    storage, uid = context.storage, context.user.id
    start = FIXED_NOW - timedelta(hours=1)
    conversation = storage.conversations.create(uid, provider="fake", model="gpt-4o", context_window=2400,
                                                settings={"max_tokens": 500}, title="A long talk", created_at=start)
    ids = [storage.messages.add(uid, conversation.id, role="user" if i % 2 == 0 else "assistant",
                                content=f"m{i} " + "token " * 50, created_at=start + timedelta(seconds=i)).id
           for i in range(n)]
    if n > 10:
        storage.conversations.update(uid, conversation.id, summary="They counted tokens.",
                                     context={**conversation.context, "summary_upto": ids[9],
                                              "context_boundary": ids[10]})
    storage.memories.add(uid, "my cat is called Miso")
    return storage.conversations.get(uid, conversation.id), ids


async def open_context_view(pilot: Any, draft: str = "") -> ContextScreen:
    app = pilot.app
    app.screen.prompt.load_text(draft)
    await pilot.press("ctrl+o")
    screen = app.screen
    assert isinstance(screen, ContextScreen)
    await wait_until(pilot, lambda: screen.preview is not None)
    await settle(pilot)
    return screen


def plain(screen: Any, selector: str) -> str:
    return screen.query_one(selector).render().plain


async def test_context_view_shows_what_is_sent_summarised_and_dropped(make_tui, provider, context):
    conversation, ids = long_conversation(context)
    app = make_tui(options={"resume": conversation.id})
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        view = await open_context_view(pilot, "what is my cat called?")
        preview = view.preview
        fates = {m.id: m.fate for m in preview.messages}
        assert fates[ids[-1]] == "sent" and fates[ids[0]] == "summarised" and fates[ids[12]] == "dropped"
        assert preview.messages[-1].fate == "draft" and [m.content for m in preview.memories] == [
            "my cat is called Miso"]
        assert preview.total_tokens <= preview.budget == 1900 and preview.summary_tokens > 0
        table = plain(view, "#context-table")
        assert "summarised" in table and "dropped" in table and "sent" in table and "what is my cat" in table
        assert "my cat is called Miso" in plain(view, "#context-memories")
        assert f"of {preview.budget:,} tokens" in plain(view, "#context-summary")
        assert "left out" in plain(view, "#context-problem")
        counts = plain(view, "#context-counts")
        assert f"{preview.count('dropped')} dropped" in counts and "10 summarised" in counts
        await pilot.press("escape")
        assert not isinstance(app.screen, ContextScreen)
        assert app.screen.prompt.text == "what is my cat called?"  # the draft is still there, unsent
    assert context.storage.context.list(context.user.id, conversation.id) == []  # nothing recorded
    assert context.storage.messages.count(context.user.id, conversation.id) == 60


async def test_memory_switch_is_saved_and_changes_the_view(make_tui, provider, context):
    conversation, _ = long_conversation(context, n=4)
    storage, uid = context.storage, context.user.id
    app = make_tui(options={"resume": conversation.id})
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        view = await open_context_view(pilot, "what is my cat called?")
        assert view.preview.memory_enabled and view.preview.memory_tokens > 0
        await pilot.press("m")
        await wait_until(pilot, lambda: not view.preview.memory_enabled)
        await settle(pilot)
        assert storage.conversations.get(uid, conversation.id).context["memory"] is False
        assert view.preview.memories == () and view.preview.memory_tokens == 0
        assert not view.query_one("#context-memory", Checkbox).value
        assert "Memory is off" in plain(view, "#context-memories") and "Miso" in plain(view, "#context-memories")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.conversation.context["memory"] is False
        view = await open_context_view(pilot, "what is my cat called?")
        assert not view.query_one("#context-memory", Checkbox).value
        view.query_one("#context-memory", Checkbox).value = True  # the checkbox turns it back on
        await wait_until(pilot, lambda: view.preview.memory_enabled)
    assert storage.conversations.get(uid, conversation.id).context["memory"] is True


async def test_compact_in_the_prompt_records_and_shows_the_optimization(make_tui, provider, context):
    storage, uid = context.storage, context.user.id
    conversation = storage.conversations.create(uid, provider="fake", model="gpt-4o", title="Chatty")
    ids = [storage.messages.add(uid, conversation.id, role="user" if i % 2 == 0 else "assistant",
                                content=f"message {i} " + "word " * 30).id for i in range(10)]
    provider.queue(Scenario(text="The gist of it."))
    app = make_tui(options={"resume": conversation.id})
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot)
        await send(pilot, "/compact")
        screen = app.screen
        await wait_until(pilot, lambda: bool(screen.chat.query(".notice.-info")))
        [row] = storage.context.list(uid, conversation.id)
        assert row.optimization_type == "summarization" and row.trigger_reason == "user_request"
        assert row.affected_message_ids == ids[:6] and row.summary == "The gist of it."
        shown = screen.chat.query_one(".notice.-info").render().plain
        assert f"{row.tokens_before:,} → {row.tokens_after:,} tokens" in shown and "6 older messages" in shown
        assert any("Compacted" in n.message for n in app._notifications)
        assert screen.conversation.summary == "The gist of it."
        assert screen.prompt.text == ""
    assert storage.messages.count(uid, conversation.id) == 10  # /compact is not sent as a message


async def test_status_line_shows_spend_against_the_tightest_cap(make_tui, provider, context):
    storage, uid = context.storage, context.user.id
    storage.budgets.set(uid, "day", max_cost="1.00")
    storage.budgets.set(uid, "month", max_cost="100")
    storage.usage.record(uid, provider="fake", model="gpt-4o", input_tokens=10, output_tokens=10,
                         cost=Decimal("0.85"))
    provider.queue(Scenario(text="Fine."))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        status = app.screen.status
        await wait_until(pilot, lambda: status.state.spend is not None)
        assert status.state.spend.period == "day" and status.state.spend.cap == Decimal("1.00")
        assert "today $0.85/$1.00" in status.render().plain
        assert status.state.spend.ratio >= 0.8  # shown in the warning colour
        storage.usage.record(uid, provider="other", model="x", cost=Decimal("0.05"))
        await send(pilot, "hello")  # the status line is refreshed after the turn
        await wait_until(pilot, lambda: "today $0.90" in status.render().plain)


async def test_a_turn_refused_by_a_budget_says_so_in_the_conversation(make_tui, provider, context):
    storage, uid = context.storage, context.user.id
    storage.budgets.set(uid, "day", max_cost="0.50")
    storage.usage.record(uid, provider="fake", model="gpt-4o", cost=Decimal("0.50"))
    app = make_tui()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot)
        await send(pilot, "hello")
        screen = app.screen
        notices = list(screen.chat.query(ErrorNotice))
        assert len(notices) == 1
        text = notices[0].query_one(".note").render().plain
        assert "Not sent: Daily budget reached: spent $0.50 of $0.50" in text and "Settings (F2)" in text
        assert notices[0].query(".retry")
        assert any("budget cap was reached" in n.message for n in app._notifications)
        assert "(cap reached)" in screen.status.render().plain
    assert provider.chat_requests() == []
    assert storage.conversations.list(uid).items == []  # no empty conversation left behind


async def test_settings_add_and_remove_caps(make_tui, provider, context):
    storage, uid = context.storage, context.user.id
    app = make_tui()
    async with app.run_test(size=(120, 50)) as pilot:
        await started(pilot)
        await pilot.press("f2")
        settings = app.screen
        assert isinstance(settings, SettingsScreen)
        await settle(pilot)
        assert "No caps" in plain(settings, "#budget-empty")
        settings.query_one("#budget-amount", Input).value = "$5"
        settings.query_one("#budget-add", Button).press()
        await wait_until(pilot, lambda: bool(storage.budgets.list(uid)))
        await settle(pilot)
        [daily] = storage.budgets.list(uid)
        assert (daily.period, daily.provider, daily.max_cost, daily.max_tokens) == ("day", None, Decimal(5), None)

        settings.query_one("#budget-period", Select).value = "month"
        settings.query_one("#budget-kind", Select).value = "tokens"
        settings.query_one("#budget-amount", Input).value = "20k"
        settings.query_one("#budget-provider", Input).value = "fake"
        await settle(pilot)
        settings.query_one("#budget-add", Button).press()
        await wait_until(pilot, lambda: len(storage.budgets.list(uid)) == 2)
        await settle(pilot)
        monthly = next(b for b in storage.budgets.list(uid) if b.provider == "fake")
        assert (monthly.period, monthly.max_tokens, monthly.max_cost) == ("month", 20_000, None)
        rows = [row.query_one("Static").render().plain for row in settings.query(".budget-row")]
        assert rows[0].startswith("Daily · all providers · $5.00") and "Monthly · fake · 20,000 tokens" in rows[1]

        settings.query_one("#budget-amount", Input).value = "lots"
        settings.query_one("#budget-add", Button).press()
        await settle(pilot)
        assert "not a number of tokens" in plain(settings, "#budget-error")

        settings.query(".budget-remove").first(Button).press()
        await wait_until(pilot, lambda: len(storage.budgets.list(uid)) == 1)
        await settle(pilot)
        assert [b.provider for b in storage.budgets.list(uid)] == ["fake"]
        assert len(settings.query(".budget-row")) == 1
        await pilot.press("escape")
        await settle(pilot)
        assert "month 0/20k tok" in app.screen.status.render().plain

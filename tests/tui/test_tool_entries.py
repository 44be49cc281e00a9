"""Tool calls show in the conversation as collapsed entries under the answer that made
them -- tool, arguments, outcome; expanded, the arguments, decision and result -- while
the turn runs and the same when the conversation is opened again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from tests.fakes.provider_server import Scenario
from tests.fakes.provider_wire import ToolCallScript
from tests.tui.helpers import settle, started, wait_until
from tests.tui.test_approval import WRITE, _app, _ask
from tests.tui.test_tools import workspace  # noqa: F401
from tui_chat.screens.approval import ApprovalScreen
from tui_chat.widgets.message import MessageData, MessageView, ToolEntry


@pytest.fixture(autouse=True)
def _short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ApprovalScreen, "GRACE", 0.2)


def _entries(app: Any) -> list[ToolEntry]:
    return list(app.screen.chat.query(ToolEntry))


async def test_tool_calls_show_as_collapsed_entries_live_and_after_reopening(provider, context, workspace: Path,  # noqa: F811
                                                                             make_tui) -> None:
    read = ToolCallScript("read_file", '{"path": "missing.txt"}')
    provider.queue(Scenario(text="Let me write it.", tool_calls=[WRITE, read], finish_reason="tool_calls"),
                   Scenario(text="Written."))
    app = _app(context, workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ask(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: (workspace / "notes.txt").exists())
        await settle(pilot)
        live = _entries(app)
        conversation_id = app.screen.conversation.id
        views = app.screen.chat.message_views
        assert [v.data.role for v in views] == ["user", "assistant", "assistant"]
        assert list(views[1].query(ToolEntry)) == live  # under the answer that asked for them
        live_titles = [str(entry.title) for entry in live]
    assert all(entry.collapsed for entry in live)
    assert "write_file" in live_titles[0] and "path=notes.txt" in live_titles[0] and "✓ approved" in live_titles[0]
    assert "read_file" in live_titles[1] and "✖ error" in live_titles[1]  # auto-approved, then failed

    reopened = make_tui(options={"resume": conversation_id})
    async with reopened.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        views = reopened.screen.chat.message_views
        assert [v.data.role for v in views] == ["user", "assistant", "assistant"]  # tool messages folded in
        entries = _entries(reopened)
        assert [str(entry.title) for entry in entries] == live_titles
        assert all(entry.collapsed for entry in entries)
        first = entries[0]
        assert first.call.arguments == {"path": "notes.txt", "content": "hello"} and first.call.decided_by == "user"
        first.collapsed = False
        await pilot.pause()
        detail = str(first.query_one(".tool-detail").content)
        assert "Arguments" in detail and "approved by you" in detail and "Result" in detail
        assert "asked because no rule or setting allows write_file" in detail  # as it was live


async def test_a_tool_message_without_its_answer_is_an_entry_of_its_own(provider, context, workspace: Path,  # noqa: F811
                                                                        make_tui) -> None:
    provider.queue(Scenario(tool_calls=[WRITE], finish_reason="tool_calls"), Scenario(text="Written."))
    app = _app(context, workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ask(pilot)
        await pilot.press("d")
        await wait_until(pilot, lambda: not isinstance(app.screen, ApprovalScreen))
        await settle(pilot)
        conversation_id = app.screen.conversation.id
        [entry] = _entries(app)
        assert "⊘ denied" in str(entry.title)
    records = context.storage.messages.branch(context.user.id, conversation_id, limit=10).items
    tool_record = next(r for r in records if r.role == "tool")
    view = MessageView(MessageData.from_record(tool_record))  # the edge of a page: no answer before it
    assert isinstance(view._body, ToolEntry) and view._body.call.status == "denied"
    assert "write_file" in str(view._body.title)


async def test_an_edited_call_shows_both_versions(provider, context, workspace: Path,  # noqa: F811
                                                  make_tui) -> None:
    provider.queue(Scenario(tool_calls=[WRITE], finish_reason="tool_calls"), Scenario(text="Written."))
    app = _app(context, workspace)
    edited = {"path": "notes.txt", "content": "edited by me"}
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await _ask(pilot)
        await pilot.press("e")
        modal.query_one("#arguments", TextArea).text = '{"path": "notes.txt", "content": "edited by me"}'
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: (workspace / "notes.txt").exists())
        await settle(pilot)
        [entry] = _entries(app)
        conversation_id = app.screen.conversation.id
        live_title = str(entry.title)
    assert "content=edited by me" in live_title and "✓ approved · edited" in live_title
    assert entry.call.arguments == {"path": "notes.txt", "content": "hello"} and entry.call.edited_arguments == edited

    reopened = make_tui(options={"resume": conversation_id})
    async with reopened.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        [entry] = _entries(reopened)
        assert str(entry.title) == live_title
        detail = str(entry.query_one(".tool-detail").content)
        assert "Arguments as the model asked" in detail and '"content": "hello"' in detail
        assert "Arguments as edited (what ran)" in detail and '"content": "edited by me"' in detail

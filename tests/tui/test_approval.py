"""The approval prompt end to end: the fake model asks for a tool, the real policy sends
it to the prompt, and what the user picks there is what runs and what is stored."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Label, Select, TextArea

from tests.fakes.provider_server import Scenario
from tests.fakes.provider_wire import ToolCallScript
from tests.tui.helpers import settle, started, wait_until
from tests.tui.test_tools import _tools_engine_factory, workspace  # noqa: F401
from tui_chat.screens.approval import ApprovalScreen

WRITE = ToolCallScript("write_file", '{"path": "notes.txt", "content": "hello"}')


@pytest.fixture(autouse=True)
def _short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ApprovalScreen, "GRACE", 0.2)


def _app(context: Any, workspace: Path) -> Any:  # noqa: F811
    from tests.fakes.fixtures import FAKE_API_KEY
    from tests.tui.conftest import FIXED_NOW
    from tui_chat.engine.directory import ProviderDirectory
    from tui_chat.factory import SetupStatus, make_app

    app = make_app(context, engine_factory=_tools_engine_factory(workspace), generate_titles=False,
                   directory=lambda storage, uid: ProviderDirectory(storage, uid, use_keyring=False,
                                                                    environ={"FAKE_KEY": FAKE_API_KEY}),
                   setup_check=lambda services: SetupStatus(True, "test"))
    app.clock = lambda: FIXED_NOW
    return app


async def _ask(pilot: Any, prompt: str = "save a note") -> ApprovalScreen:
    """Send ``prompt`` and wait for the approval prompt to be ready for answers."""
    app = pilot.app
    await started(pilot)
    app.screen.prompt.load_text(prompt)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
    modal = app.screen
    # Under load the modal can be current before its buttons are composed.
    await wait_until(pilot, lambda: any(not button.disabled for button in modal.query("#deny")))
    return modal



async def test_always_with_project_scope_and_a_day_stores_that_rule(provider, context, workspace: Path) -> None:  # noqa: F811
    provider.queue(Scenario(tool_calls=[WRITE], finish_reason="tool_calls"), Scenario(text="Written."))
    app = _app(context, workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await _ask(pilot)
        assert "no rule or setting allows write_file" in str(modal.query_one("#why", Label).content)
        assert str(modal.query_one("#remembers", Label).content) == "“Always” allows write_file(notes.txt)"
        modal.query_one("#scope", Select).value = "project"
        modal.query_one("#expiry", Select).value = 86400
        await pilot.pause()
        await pilot.press("a")
        await wait_until(pilot, lambda: (workspace / "notes.txt").exists())
        await settle(pilot)
    [rule] = context.storage.approvals.all_rules(context.user.id)
    assert (rule.action, rule.tool_pattern, rule.scope) == ("allow", "write_file", "project")
    assert Path(rule.project_path) == workspace.resolve()
    assert rule.conversation_id is None
    expected = datetime.now(timezone.utc) + timedelta(days=1)
    assert rule.expires_at is not None and abs(rule.expires_at - expected) < timedelta(minutes=5)
    [execution] = context.storage.tools.list(context.user.id)
    assert execution.status == "completed" and execution.decided_by == "user"


async def test_edited_arguments_run_and_both_versions_are_stored(provider, context, workspace: Path) -> None:  # noqa: F811
    provider.queue(Scenario(tool_calls=[WRITE], finish_reason="tool_calls"), Scenario(text="Written."))
    app = _app(context, workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await _ask(pilot)
        await pilot.press("e")
        editor = modal.query_one("#arguments", TextArea)
        assert modal.editing and app.focused is editor
        assert '"content": "hello"' in editor.text
        editor.text = '{"path": "notes.txt", "content": "edited by me"}'
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: (workspace / "notes.txt").exists())
        await settle(pilot)
    assert (workspace / "notes.txt").read_text() == "edited by me"
    [execution] = context.storage.tools.list(context.user.id)
    assert execution.parameters == {"path": "notes.txt", "content": "hello"}
    assert execution.approved_parameters == {"path": "notes.txt", "content": "edited by me"}
    assert execution.status == "completed"


async def test_bad_edits_show_an_error_and_keep_the_prompt_open(provider, context, workspace: Path) -> None:  # noqa: F811
    provider.queue(Scenario(tool_calls=[WRITE], finish_reason="tool_calls"), Scenario(text="Not written."))
    app = _app(context, workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await _ask(pilot)
        await pilot.press("e")
        editor = modal.query_one("#arguments", TextArea)
        error = modal.query_one("#arguments-error", Label)
        for text, message in (('{"path": "notes.txt", ', "Not valid JSON"),
                              ('["notes.txt"]', "must be a JSON object"),
                              ('{"path": 5, "content": "x"}', "does not accept these arguments")):
            editor.text = text
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is modal and modal.editing
            assert error.has_class("-shown") and message in str(error.content), str(error.content)
        await pilot.press("escape")  # back from editing, not a denial
        await pilot.pause()
        assert app.screen is modal and not modal.editing and not error.has_class("-shown")
        modal.query_one("#note").focus()
        await pilot.press(*"use notes.md instead")  # o, a, e and d are text here, not answers
        assert app.screen is modal and modal.query_one("#note").value == "use notes.md instead"
        await pilot.press("enter")  # Enter in the note denies with it
        await wait_until(pilot, lambda: not isinstance(app.screen, ApprovalScreen))
        await settle(pilot)
    assert not (workspace / "notes.txt").exists()
    [execution] = context.storage.tools.list(context.user.id)
    assert execution.status == "denied" and execution.approved_parameters is None
    assert execution.denial_note == "use notes.md instead"


async def test_always_is_not_offered_when_the_command_cannot_be_shown_whole(provider, context,
                                                                            workspace: Path) -> None:  # noqa: F811
    shell = ToolCallScript("run_shell", '{"command": "eval \\"echo hi\\""}')
    provider.queue(Scenario(tool_calls=[shell], finish_reason="tool_calls"), Scenario(text="Fine."))
    app = _app(context, workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await _ask(pilot, "say hi")
        assert not modal.request.outcome.can_remember
        assert not modal.query("#always") and not modal.query("#scope") and not modal.query("#expiry")
        assert modal.query_one("#no-always")
        assert "a always" not in str(modal.query_one("#keys", Label).content)
        await pilot.press("a")  # not an answer here
        await pilot.pause()
        assert app.screen is modal
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ApprovalScreen))
        await settle(pilot)
    assert context.storage.approvals.all_rules(context.user.id) == []
    [execution] = context.storage.tools.list(context.user.id)
    assert execution.status == "denied"

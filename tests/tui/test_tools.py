"""Tool calls in the TUI go through the real policy; what it asks about, the approval
modal decides. Keys typed before the modal appeared never approve anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.provider_server import Scenario
from tests.fakes.provider_wire import ToolCallScript
from tests.tui.helpers import settle, started, wait_until
from tui_chat.screens.approval import ApprovalScreen


def _tools_engine_factory(workspace: Path):
    def factory(storage: Any, user_id: str, directory: Any, **kwargs: Any) -> Any:
        from tui_chat.engine.turn import ChatEngine, RetryPolicy
        from tui_chat.tools.runtime import build_runtime

        return ChatEngine(storage, user_id, directory, tools=build_runtime(storage, user_id, interactive=True, mcp=False),
                          retry=RetryPolicy(attempts=1), flush_interval=0.05, **kwargs)

    return factory


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


async def test_a_write_waits_for_approval_and_type_ahead_does_not_approve(provider, context, workspace: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ApprovalScreen, "GRACE", 2.0)  # room for the keys below on a slow machine
    provider.queue(
        Scenario(tool_calls=[ToolCallScript("write_file", '{"path": "notes.txt", "content": "hello"}')],
                 finish_reason="tool_calls"),
        Scenario(text="Written."),
    )
    from tests.fakes.fixtures import FAKE_API_KEY
    from tests.tui.conftest import FIXED_NOW
    from tui_chat.engine.directory import ProviderDirectory
    from tui_chat.factory import SetupStatus, make_app

    app = make_app(context, engine_factory=_tools_engine_factory(workspace), generate_titles=False,
                   directory=lambda storage, uid: ProviderDirectory(storage, uid, use_keyring=False,
                                                                    environ={"FAKE_KEY": FAKE_API_KEY}),
                   setup_check=lambda services: SetupStatus(True, "test"))
    app.clock = lambda: FIXED_NOW
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = app.screen
        screen.prompt.load_text("save a note")
        await pilot.press("enter", "y", "enter", "a")  # typed ahead, before any modal exists
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        modal = app.screen
        assert "notes.txt" in str(modal.request.outcome.preview) or modal.request.arguments["path"] == "notes.txt"
        assert not (workspace / "notes.txt").exists()  # nothing ran yet
        assert modal._shown_at + ApprovalScreen.GRACE > __import__("time").monotonic()
        await pilot.press("enter", "y", "escape")  # still typing: the prompt ignores it while it arms
        assert isinstance(app.screen, ApprovalScreen)  # the type-ahead did not answer it
        await pilot.pause(ApprovalScreen.GRACE + 0.1)
        assert isinstance(app.screen, ApprovalScreen)
        await pilot.click("#once")
        await wait_until(pilot, lambda: (workspace / "notes.txt").exists())
        await settle(pilot)
    assert (workspace / "notes.txt").read_text() == "hello"
    [execution] = context.storage.tools.list(context.user.id)
    assert execution.status == "completed" and execution.decided_by == "user"

"""Pictures of the tool approval prompt. Each docstring says what the picture should show.

Rendered at 120x40 over the new-chat screen, from a request built here (no model turn),
so the picture depends only on the prompt itself."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.helpers import settle, wait_until
from tui_chat.engine.tooling import ApprovalRequest, PolicyOutcome
from tui_chat.screens.approval import ApprovalScreen

SIZE = (120, 40)

DIFF = """\
--- notes.txt
+++ notes.txt
@@ -1,2 +1,3 @@
 # Notes
-draft
+final notes
+(reviewed)"""


@pytest.fixture(autouse=True)
def _short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ApprovalScreen, "GRACE", 0.05)


def _request(*, can_remember: bool = True) -> ApprovalRequest:
    outcome = PolicyOutcome(
        "ask", "high", "ask rule write_file(notes.txt) [global, id 0195f0c2-rule] asks for approval",
        decided_by="rule", rule_id="0195f0c2-rule", preview=DIFF, can_remember=can_remember,
        remembers=("write_file(notes.txt)",) if can_remember else ())
    return ApprovalRequest("0195f0c2-exec", "write_file", {"path": "notes.txt", "content": "# Notes\nfinal notes\n"},
                           outcome)


def _show(request: ApprovalRequest, *keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.services.ready)
        await settle(pilot)
        app.push_screen(ApprovalScreen(request, check=lambda arguments: None))
        await pilot.pause()
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                         and any(not button.disabled for button in app.screen.query("#deny")))
        if keys:
            await pilot.press(*keys)
        await pilot.pause()
        for widget in app.screen.query("TextArea, Input"):
            widget.cursor_blink = False

    return run_before


def test_approval_prompt(snap_compare, make_tui):
    """The approval prompt over the dimmed new-chat screen: “Allow write_file? (risk:
    high)”, then “Asked by a rule: ask rule write_file(notes.txt) [global, id
    0195f0c2-rule] asks for approval”, the diff of notes.txt (−draft, +final notes,
    +(reviewed)) on a darker panel, the empty note field, the row “Always allow [this
    conversation ▼] [until removed ▼]” and under it, muted, ““Always” allows
    write_file(notes.txt)”, the buttons Approve once, Always, Edit arguments
    and Deny (Deny focused), and the key hint “o approve once · a always · e edit
    arguments · d / Esc deny (with the note)”."""
    app = make_tui()
    assert snap_compare(app, terminal_size=SIZE, run_before=_show(_request()))


def test_approval_prompt_editing_without_always(snap_compare, make_tui):
    """The same call when the whole of it cannot be judged, after pressing e: no
    “Always” button and no scope/expiry row but the warning “Always” is not offered…;
    the diff is replaced by “Arguments (a JSON object) — Ctrl+S runs them, Escape goes
    back:” and an editor holding the JSON arguments (path, content), focused; the
    buttons are Run edited, Back and Deny, and the hint reads “Ctrl+S run the edited
    arguments · Esc back · Deny button denies”."""
    app = make_tui()
    assert snap_compare(app, terminal_size=SIZE, run_before=_show(_request(can_remember=False), "e"))

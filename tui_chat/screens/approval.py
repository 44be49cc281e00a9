"""Asking before a tool runs: what will run, and approve once / always / deny (with a note).

The engine awaits ``approve(request)``; the app answers from this modal through
``push_screen_wait``. Focus starts on Deny, and keys typed before the modal appeared
are not taken as an answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ApprovalScreen(ModalScreen[Any]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "deny", "Deny", id="approval.deny")]

    def __init__(self, request: Any) -> None:
        super().__init__(classes="dialog-screen")
        self.request = request
        self._shown_at = time.monotonic()

    def compose(self) -> ComposeResult:
        request = self.request
        outcome = request.outcome
        preview = outcome.preview or json.dumps(request.arguments, indent=2, ensure_ascii=False)
        with Vertical(classes="dialog -wide"):
            yield Label(Content.assemble("Allow ", (request.tool_name, "bold"), f"? (risk: {outcome.risk})"),
                        classes="dialog-title")
            yield Label(Content.styled(outcome.reason, "$foreground-muted"))
            with VerticalScroll(classes="approval-preview"):
                yield Static(Content(preview), markup=False)
            yield Input(placeholder="Note to the model if you deny (optional)", id="note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve once", variant="success", id="once")
                if outcome.can_remember:
                    yield Button("Always (this conversation)", id="always")
                yield Button("Deny", variant="error", id="deny")

    #: Seconds after the prompt appears during which no key or click answers it: keys
    #: typed for the chat (an Enter, a "y") must never approve or deny a tool call.
    GRACE = 0.6

    def on_mount(self) -> None:
        self._shown_at = time.monotonic()
        for widget in self.query("Button, Input"):
            widget.disabled = True
        self.query_one(".approval-preview").focus()
        self.set_timer(self.GRACE, self._arm)

    def _arm(self) -> None:
        for widget in self.query("Button, Input"):
            widget.disabled = False
        self.query_one("#deny", Button).focus()

    def _armed(self) -> bool:
        return time.monotonic() - self._shown_at >= self.GRACE

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        from ..engine.tooling import ApprovalDecision, RememberRule

        if not self._armed():
            return

        note = self.query_one("#note", Input).value.strip() or None
        if event.button.id == "once":
            self.dismiss(ApprovalDecision(True))
        elif event.button.id == "always":
            self.dismiss(ApprovalDecision(True, remember=RememberRule("conversation")))
        else:
            self.dismiss(ApprovalDecision(False, note=note))

    def action_deny(self) -> None:
        from ..engine.tooling import ApprovalDecision

        if self._armed():
            self.dismiss(ApprovalDecision(False))

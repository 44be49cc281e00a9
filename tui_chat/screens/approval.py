"""Asking before a tool runs: what will run, why it is asked, and the answers.

The engine awaits ``approve(request)``; the app answers from this modal through
``push_screen_wait``. The prompt shows exactly what will run (the command, the diff,
the URL) and which rule or setting sent it here, and offers:

- **o** approve once;
- **a** always, with the scope (this conversation / this project / everywhere) and the
  expiry chosen in the prompt -- not offered when the whole call cannot be shown;
- **e** edit the arguments (JSON) and run the edited ones (**Ctrl+S**; **Escape** goes
  back); both versions are stored;
- **d** or **Escape** deny, with the note (if any) sent to the model; **Enter** in the
  note denies with it.

Focus starts on Deny, and keys typed before the modal appeared are not taken as an
answer: nothing answers it during its first :attr:`ApprovalScreen.GRACE` seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ..engine.tooling import ApprovalDecision, ApprovalRequest, RememberRule

#: Where an "always" rule applies, as offered in the prompt (first is the default).
SCOPES: list[tuple[str, str]] = [
    ("this conversation", "conversation"),
    ("this project", "project"),
    ("everywhere", "global"),
]
#: How long an "always" rule lasts, in seconds (0: until removed).
EXPIRIES: list[tuple[str, int]] = [
    ("for 1 hour", 3600),
    ("for 1 day", 86400),
    ("for 7 days", 7 * 86400),
    ("until removed", 0),
]
DEFAULT_EXPIRY = 0

#: Checks edited arguments: the reason they are not acceptable, or None.
ArgumentCheck = Callable[[dict[str, Any]], "str | None"]

_INTERACTIVE = "Button, Input, Select, TextArea"


class ApprovalScreen(ModalScreen[ApprovalDecision]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("o", "once", "Approve once", id="approval.once"),
        Binding("a", "always", "Always", id="approval.always"),
        Binding("e", "edit", "Edit arguments", id="approval.edit"),
        Binding("d", "deny", "Deny", id="approval.deny_key"),
        Binding("ctrl+s", "run_edited", "Run edited", id="approval.run_edited"),
        Binding("escape", "escape", "Deny", id="approval.deny"),
    ]

    #: Seconds after the prompt appears during which no key or click answers it: keys
    #: typed for the chat (an Enter, a "y") must never approve or deny a tool call.
    GRACE = 0.6

    def __init__(self, request: ApprovalRequest, *, check: ArgumentCheck | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.request = request
        self._check = check
        self._shown_at = time.monotonic()

    # --- what it shows -----------------------------------------------------------------

    @property
    def can_remember(self) -> bool:
        """"Always" is offered only when the whole call could be shown and judged."""
        return bool(self.request.outcome.can_remember)

    def compose(self) -> ComposeResult:
        request = self.request
        outcome = request.outcome
        preview = outcome.preview or json.dumps(request.arguments, indent=2, ensure_ascii=False)
        with Vertical(classes="dialog -wide approval"):
            yield Label(Content.assemble("Allow ", (request.tool_name, "bold"), f"? (risk: {outcome.risk})"),
                        classes="dialog-title")
            yield Label(self._why(), id="why", classes="approval-why")
            with VerticalScroll(classes="approval-preview"):
                yield Static(Content(preview), markup=False)
            with Vertical(id="edit-panel"):
                yield Label("Arguments (a JSON object) — Ctrl+S runs them, Escape goes back:",
                            classes="approval-label")
                yield TextArea(json.dumps(request.arguments, indent=2, ensure_ascii=False), id="arguments")
                yield Label("", id="arguments-error", classes="approval-error")
            yield Input(placeholder="Note to the model if you deny (optional; Enter denies with it)", id="note")
            if self.can_remember:
                with Horizontal(classes="approval-always"):
                    yield Label("Always allow", classes="approval-label")
                    yield Select(SCOPES, value="conversation", allow_blank=False, compact=True, id="scope")
                    yield Select(EXPIRIES, value=DEFAULT_EXPIRY, allow_blank=False, compact=True, id="expiry")
                if outcome.remembers:
                    yield Label(Content.styled("“Always” allows " + "; ".join(outcome.remembers),
                                               "$foreground-muted"), id="remembers", classes="approval-why")
            else:
                yield Label(Content.styled("“Always” is not offered: the whole call cannot be shown or judged "
                                           "part by part.", "$text-warning"), id="no-always")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve once", variant="success", id="once")
                if self.can_remember:
                    yield Button("Always", variant="primary", id="always")
                yield Button("Edit arguments", id="edit")
                yield Button("Run edited", variant="success", id="run-edited")
                yield Button("Back", id="back")
                yield Button("Deny", variant="error", id="deny")
            yield Label(self._keys(), id="keys", classes="dialog-hint")

    def _why(self) -> Content:
        outcome = self.request.outcome
        source = {"rule": "a rule", "auto": "your auto-approval settings", "flag": "a flag",
                  "policy": "the policy"}.get(outcome.decided_by, outcome.decided_by)
        parts: list[Content | str | tuple[str, str]] = [("Asked by ", "$foreground-muted"), (source, "bold"),
                                                        (": ", "$foreground-muted"), outcome.reason]
        if outcome.rule_id and outcome.rule_id not in outcome.reason:
            parts.append((f" (rule {outcome.rule_id})", "$foreground-muted"))
        return Content.assemble(*parts)

    def _keys(self) -> str:
        if self.editing:
            return "Ctrl+S run the edited arguments · Esc back · Deny button denies"
        always = " · a always" if self.can_remember else ""
        return f"o approve once{always} · e edit arguments · d / Esc deny (with the note)"

    # --- the type-ahead guard ----------------------------------------------------------

    def on_mount(self) -> None:
        self._shown_at = time.monotonic()
        for widget in self.query(_INTERACTIVE):
            widget.disabled = True
        self.query_one(".approval-preview").focus()
        self.set_timer(self.GRACE, self._arm)

    def _arm(self) -> None:
        for widget in self.query(_INTERACTIVE):
            widget.disabled = False
        if self.editing:
            self.query_one("#arguments", TextArea).focus()
        else:
            self.query_one("#deny", Button).focus()

    def _armed(self) -> bool:
        return time.monotonic() - self._shown_at >= self.GRACE

    # --- answers -----------------------------------------------------------------------

    @property
    def editing(self) -> bool:
        return self.has_class("-editing")

    def _note(self) -> str | None:
        return self.query_one("#note", Input).value.strip() or None

    def remember_rule(self) -> RememberRule:
        """The rule "always" stores, as chosen in the prompt."""
        scope = self.query_one("#scope", Select).value
        expiry = self.query_one("#expiry", Select).value
        seconds = expiry if isinstance(expiry, int) and expiry > 0 else None
        return RememberRule(scope if isinstance(scope, str) else "conversation", expires_in_seconds=seconds)  # type: ignore[arg-type]

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions: dict[str, Callable[[], None]] = {
            "once": self.action_once, "always": self.action_always, "edit": self.action_edit,
            "run-edited": self.action_run_edited, "back": self._stop_editing, "deny": self.action_deny,
        }
        action = actions.get(event.button.id or "")
        if action is not None and self._armed():
            action()

    @on(Input.Submitted, "#note")
    def _note_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_deny()

    def action_once(self) -> None:
        if self._armed() and not self.editing:
            self.dismiss(ApprovalDecision(True))

    def action_always(self) -> None:
        if self._armed() and not self.editing and self.can_remember:
            self.dismiss(ApprovalDecision(True, remember=self.remember_rule()))

    def action_deny(self) -> None:
        if self._armed():
            self.dismiss(ApprovalDecision(False, note=self._note()))

    def action_escape(self) -> None:
        if self.editing:
            self._stop_editing()
        else:
            self.action_deny()

    # --- editing the arguments ---------------------------------------------------------

    def action_edit(self) -> None:
        if not self._armed() or self.editing:
            return
        self.add_class("-editing")
        self.query_one("#keys", Label).update(self._keys())
        self.query_one("#arguments", TextArea).focus()

    def _stop_editing(self) -> None:
        self.remove_class("-editing")
        self.query_one("#keys", Label).update(self._keys())
        self._show_error(None)
        self.query_one("#deny", Button).focus()

    def action_run_edited(self) -> None:
        if not self._armed() or not self.editing:
            return
        text = self.query_one("#arguments", TextArea).text
        arguments, problem = self.parse_arguments(text)
        if arguments is not None and problem is None:
            problem = self._checked(arguments)
        if problem is not None or arguments is None:
            self._show_error(problem or "The arguments are not valid.")
            return
        edited = None if arguments == self.request.arguments else arguments
        self.dismiss(ApprovalDecision(True, edited_arguments=edited))

    @staticmethod
    def parse_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
        """The edited JSON as an object, or why it is not one."""
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        if not isinstance(value, dict):
            return None, f"The arguments must be a JSON object ({{...}}), not {type(value).__name__}."
        return value, None

    def _checked(self, arguments: dict[str, Any]) -> str | None:
        check = self._check or self._runtime_check()
        if check is None:
            return None
        try:
            problem = check(arguments)
        except Exception as exc:  # noqa: BLE001 - a broken check must not approve silently
            problem = f"{type(exc).__name__}: {exc}"
        return f"{self.request.tool_name} does not accept these arguments: {problem}" if problem else None

    def _runtime_check(self) -> ArgumentCheck | None:
        """The tool runtime's own argument check (the engine that asked has one)."""
        engine = getattr(getattr(self.app, "services", None), "_engine", None)
        runtime = getattr(engine, "tools", None)
        check_arguments = getattr(runtime, "check_arguments", None)
        if check_arguments is None:
            return None
        name = self.request.tool_name
        return lambda arguments: check_arguments(name, arguments)

    def _show_error(self, text: str | None) -> None:
        label = self.query_one("#arguments-error", Label)
        label.update(Content.styled(text, "$text-error") if text else "")
        label.set_class(bool(text), "-shown")

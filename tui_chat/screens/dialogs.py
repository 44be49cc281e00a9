"""Small modal dialogs: confirm, one line of text, a longer text, feedback."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True only for an explicit yes."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [
        Binding("escape,n", "dismiss(False)", "No", id="confirm.no"),
        Binding("y", "dismiss(True)", "Yes", id="confirm.yes"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TextInputScreen(ModalScreen["str | None"]):
    """Ask for one line of text (a title, tags). None when cancelled."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="input.cancel")]

    def __init__(self, title: str, value: str = "", *, placeholder: str = "", hint: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="value")
            if self.hint:
                yield Label(self.hint, classes="dialog-hint")

    @on(Input.Submitted, "#value")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class TextEditScreen(ModalScreen["str | None"]):
    """Edit a longer text (a message). Ctrl+S saves, Escape cancels."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="edit.cancel"),
        Binding("ctrl+s", "save", "Save", id="edit.save", priority=True),
    ]

    def __init__(self, title: str, text: str, *, hint: str = "Ctrl+S to save · Escape to cancel") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.text = text
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(self.title_text, classes="dialog-title")
            yield TextArea(self.text, id="text", soft_wrap=True, tab_behavior="indent")
            yield Label(self.hint, classes="dialog-hint")

    def action_save(self) -> None:
        text = self.query_one("#text", TextArea).text
        self.dismiss(text if text.strip() else None)


class FeedbackScreen(ModalScreen["tuple[int, str | None] | None"]):
    """Thumbs up or down, with an optional comment."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="feedback.cancel")]

    def __init__(self, rating: int = 1, comment: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.rating = rating
        self.comment = comment

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Rate this answer", classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("👍 Good", id="up", variant="success" if self.rating == 1 else "default")
                yield Button("👎 Bad", id="down", variant="error" if self.rating == -1 else "default")
            yield Input(self.comment, placeholder="Comment (optional), Enter to save", id="comment")

    @on(Button.Pressed)
    def _rate(self, event: Button.Pressed) -> None:
        self.rating = 1 if event.button.id == "up" else -1
        self._save()

    @on(Input.Submitted, "#comment")
    def _submitted(self, event: Input.Submitted) -> None:
        self._save()

    def _save(self) -> None:
        comment = self.query_one("#comment", Input).value.strip() or None
        self.dismiss((self.rating, comment))

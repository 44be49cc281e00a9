"""Every key binding, read from the classes that define them (and the user's keymap)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

#: Keys handled outside BINDINGS, documented here.
EXTRA = {
    "Prompt": [("enter", "Send the message"), ("up / down", "At the first / last line: earlier prompts"),
               ("paste", "Large pastes become a placeholder, expanded when sent"),
               ("/compact [N]", "Summarise older turns now, keeping the newest N messages (4)")],
    "Everywhere": [("ctrl+p", "Command palette: every action, and search across conversations"),
                   ("tab / shift+tab", "Move between the sidebar, messages and the prompt"),
                   ("mouse", "Click a conversation, a message, ‹ › on a branch switcher, Retry")],
}


def _sections() -> list[tuple[str, type]]:
    from ..app import ChatApp
    from ..widgets.message import MessageView
    from ..widgets.prompt import PromptInput
    from ..widgets.sidebar import ConversationList
    from .audit import AuditScreen
    from .chat import ChatScreen
    from .stats import StatsScreen

    return [("Everywhere", ChatApp), ("Chat", ChatScreen), ("Prompt", PromptInput),
            ("Conversation list (sidebar)", ConversationList), ("A focused message", MessageView),
            ("Tool audit (F4)", AuditScreen), ("Usage stats (F5)", StatsScreen)]


def _bindings(cls: type) -> Iterable[Binding]:
    """The bindings a class declares itself (not those it inherits from Textual)."""
    for binding in cls.__dict__.get("BINDINGS", []):
        if isinstance(binding, Binding):
            yield binding


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "_keymap", {}) or {}
        with VerticalScroll(id="help"):
            yield Label("Keys", id="help-title")
            for title, cls in _sections():
                rows = [(keymap.get(b.id, b.key) if b.id else b.key, b.description or b.action)
                        for b in _bindings(cls)]
                if title == "Everywhere":
                    rows.append(("ctrl+p", "Command palette"))
                rows += EXTRA.get(title, [])
                yield Label(title, classes="help-section")
                lines = [Content.assemble((f"{_keys(key):<22}", "bold $text-accent"), description)
                         for key, description in rows]
                yield Static(Content("\n").join(lines), classes="help-table")
            yield Label("Ctrl+J inserts a new line (Shift+Enter or Alt+Enter too, where the terminal sends them). "
                        "Rebind any key in the keymap preference (binding id → key).", classes="help-note")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


def _keys(keys: str) -> str:
    names = {"left_square_bracket": "[", "right_square_bracket": "]", "equals_sign": "=", "plus": "+",
             "minus": "-"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))

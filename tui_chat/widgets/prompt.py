"""The multi-line prompt.

Enter sends. Ctrl+J (or Shift+Enter / Alt+Enter where the terminal reports them)
inserts a newline. Up on the first line and Down on the last line walk through the
prompts sent before. A large paste is kept aside and shown as one short placeholder
line, so pasting a whole file never makes the editor re-wrap megabytes of text; the
placeholder is replaced by the pasted text when the prompt is sent.
"""

from __future__ import annotations

import re

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

#: Pastes longer than this (characters or lines) become a placeholder.
PASTE_CHARS = 2_000
PASTE_LINES = 40
_PLACEHOLDER = re.compile(r"\[Pasted text #(\d+): [^\]]*\]")


class PromptInput(TextArea):
    """Where the user writes. Posts :class:`PromptInput.PromptSubmitted`."""

    DEFAULT_CSS = """
    PromptInput { height: auto; min-height: 3; max-height: 12; }
    """

    BINDINGS = [
        Binding("ctrl+j,shift+enter,alt+enter", "newline", "Newline", show=False, id="prompt.newline"),
        Binding("ctrl+u", "clear_prompt", "Clear prompt", show=False, id="prompt.clear"),
    ]

    class PromptSubmitted(Message):
        """The user sent ``text`` (pasted blocks already expanded)."""

        def __init__(self, prompt: "PromptInput", text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

        @property
        def control(self) -> "PromptInput":
            return self.prompt

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            "", id=id, classes=classes, soft_wrap=True, tab_behavior="focus", show_line_numbers=False,
            placeholder="Message… (Enter to send, Ctrl+J for a new line, F1 for help)", compact=True,
        )
        self.sent: list[str] = []
        self._history_index: int | None = None
        self._draft = ""
        self._pastes: dict[int, str] = {}
        self._paste_counter = 0

    # --- sending -----------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.submit()
            return
        await super()._on_key(event)

    def submit(self) -> None:
        text = self.expanded_text()
        if not text.strip():
            return
        self.remember(text)
        self.post_message(self.PromptSubmitted(self, text))
        self.action_clear_prompt()

    def expanded_text(self) -> str:
        """The prompt with every paste placeholder replaced by what was pasted."""
        def expand(match: re.Match[str]) -> str:
            return self._pastes.get(int(match.group(1)), match.group(0))

        return _PLACEHOLDER.sub(expand, self.text)

    def action_newline(self) -> None:
        self.insert("\n")

    def action_clear_prompt(self) -> None:
        self.clear()
        self._pastes.clear()
        self._history_index = None

    # --- history -----------------------------------------------------------------------

    def remember(self, text: str) -> None:
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._history_index = None

    def set_history(self, entries: list[str]) -> None:
        self.sent = [entry for entry in entries if entry.strip()][-200:]
        self._history_index = None

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.sent and self.navigator.is_first_wrapped_line(self.cursor_location):
            self._recall(-1)
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self._history_index is not None and self.navigator.is_last_wrapped_line(
                self.cursor_location):
            self._recall(+1)
            return
        super().action_cursor_down(select)

    def _recall(self, step: int) -> None:
        if self._history_index is None:
            if step > 0:
                return
            self._draft = self.text
            index = len(self.sent) - 1
        else:
            index = self._history_index + step
        if index >= len(self.sent):
            self._history_index = None
            self.load_text(self._draft)
            self.move_cursor(self.document.end)
            return
        index = max(0, index)
        self._history_index = index
        self.load_text(self.sent[index])
        self.move_cursor((0, 0) if step < 0 else self.document.end)

    # --- pasting -----------------------------------------------------------------------

    async def _on_paste(self, event: events.Paste) -> None:
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) <= PASTE_CHARS and text.count("\n") < PASTE_LINES:
            event.stop()
            event.prevent_default()
            self.insert(text)
            return
        event.stop()
        event.prevent_default()
        self._paste_counter += 1
        self._pastes[self._paste_counter] = text
        lines = text.count("\n") + 1
        self.insert(f"[Pasted text #{self._paste_counter}: {len(text):,} characters, {lines:,} lines]")

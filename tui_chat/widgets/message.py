"""One message in the conversation: a header, optional reasoning, the body, notices.

A message view renders what it is told and reports what the user asked for through
:class:`MessageView.ActionRequested`; it never talks to storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widgets import Button, Collapsible, Label, Static

from .markdown_view import StreamingMarkdown

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "tool": "Tool", "system": "System"}
STATUS_NOTES = {
    "cancelled": "■ cancelled — what arrived is kept",
    "interrupted": "⚠ interrupted — the app stopped while this was being written",
    "error": "✖ failed",
}


@dataclass
class MessageData:
    """What a message view shows (built from a storage record or from engine events)."""

    id: str | None
    role: str
    content: str = ""
    status: str = "done"
    model: str | None = None
    created_at: datetime | None = None
    reasoning: str = ""
    siblings: tuple[int, int] | None = None  # (index from 1, count)
    rating: int | None = None
    error: str | None = None
    tool_name: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Any, *, siblings: tuple[int, int] | None = None,
                    rating: int | None = None) -> "MessageData":
        reasoning = "".join(p.get("text", "") for p in record.parts or () if p.get("type") == "reasoning")
        tool_name = next((p.get("name") for p in record.parts or () if p.get("type") == "tool_result"), None)
        error = (record.meta or {}).get("error", {}).get("message") if record.status == "error" else None
        return cls(record.id, record.role, record.content, record.status, record.model, record.created_at,
                   reasoning, siblings, rating, error, tool_name, dict(record.meta or {}))


class MessageHeader(Static):
    """Who wrote it, its state, feedback, and the branch switcher (‹ 2/3 ›, clickable)."""

    def action_branch_prev(self) -> None:
        if isinstance(self.parent, MessageView):
            self.parent.action_request("branch_prev")

    def action_branch_next(self) -> None:
        if isinstance(self.parent, MessageView):
            self.parent.action_request("branch_next")


class MessageView(Vertical, can_focus=True):
    """A message. Focus it (click, or Ctrl+Up from the prompt) to act on it."""

    BINDINGS = [
        Binding("c", "request('copy')", "Copy", id="message.copy"),
        Binding("y", "request('copy_code')", "Copy code", id="message.copy_code"),
        Binding("e", "request('edit')", "Edit", id="message.edit"),
        Binding("r", "request('regenerate')", "Regenerate", id="message.regenerate"),
        Binding("plus,equals_sign", "request('thumbs_up')", "Good", id="message.thumbs_up"),
        Binding("minus", "request('thumbs_down')", "Bad", id="message.thumbs_down"),
        Binding("f", "request('feedback')", "Comment", id="message.feedback"),
        Binding("d,delete", "request('delete')", "Delete", id="message.delete"),
        Binding("left_square_bracket", "request('branch_prev')", "Prev branch", id="message.branch_prev"),
        Binding("right_square_bracket", "request('branch_next')", "Next branch", id="message.branch_next"),
        Binding("up,k", "neighbour(-1)", "Previous message", show=False, id="message.previous"),
        Binding("down,j", "neighbour(1)", "Next message", show=False, id="message.next"),
    ]

    class ActionRequested(Message):
        """The user asked for ``action`` on this message (copy, edit, regenerate, ...)."""

        def __init__(self, view: "MessageView", action: str) -> None:
            super().__init__()
            self.view = view
            self.action = action

        @property
        def control(self) -> "MessageView":
            return self.view

    def __init__(self, data: MessageData, *, streaming: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, classes=f"-{data.role}")
        self.data = data
        self.streaming = streaming
        self._reasoning_parts: list[str] = [data.reasoning] if data.reasoning else []
        self._body: StreamingMarkdown | Static
        if data.role == "assistant":
            self._body = StreamingMarkdown(data.content, streaming=streaming, classes="body")
        else:
            self._body = Static(Content(data.content), classes="body", markup=False)

    def compose(self) -> ComposeResult:
        yield MessageHeader(self._header_content(), classes="header")
        if self._reasoning_parts:
            yield self._make_reasoning()
        yield self._body
        yield from self._notices()

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # The layout pass that resized this message has already repainted it.
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    # --- header ------------------------------------------------------------------------

    def _header_content(self) -> Content:
        data = self.data
        who = data.model if data.role == "assistant" and data.model else ROLE_LABELS.get(data.role, data.role)
        if data.role == "tool" and data.tool_name:
            who = f"Tool · {data.tool_name}"
        parts: list[Content] = [Content.styled(who, "bold")]
        if data.created_at is not None:
            parts.append(Content.styled(data.created_at.astimezone().strftime("%H:%M"), "$foreground-muted"))
        if self.streaming:
            parts.append(Content.styled("● writing…", "$text-success"))
        if data.rating == 1:
            parts.append(Content("👍"))
        elif data.rating == -1:
            parts.append(Content("👎"))
        if data.siblings and data.siblings[1] > 1:
            index, count = data.siblings
            parts.append(Content.assemble(
                Content.from_markup("[@click=branch_prev]‹[/]"), f" {index}/{count} ",
                Content.from_markup("[@click=branch_next]›[/]")).stylize("$text-accent"))
        return Content("  ").join(parts)

    def refresh_header(self) -> None:
        for header in self.query(MessageHeader):
            header.update(self._header_content())

    def set_siblings(self, siblings: tuple[int, int] | None) -> None:
        self.data.siblings = siblings
        self.refresh_header()

    def set_rating(self, rating: int | None) -> None:
        self.data.rating = rating
        self.refresh_header()

    # --- streaming ---------------------------------------------------------------------

    @property
    def text(self) -> str:
        if isinstance(self._body, StreamingMarkdown):
            return self._body.text
        return self.data.content

    def append(self, text: str) -> None:
        if isinstance(self._body, StreamingMarkdown):
            self._body.append(text)

    def append_reasoning(self, text: str) -> None:
        self._reasoning_parts.append(text)
        existing = self.query(".reasoning")
        if existing:
            collapsible = existing.first(Collapsible)
            if not collapsible.collapsed:
                collapsible.query_one(Static).update(Content("".join(self._reasoning_parts)))
        else:
            self.mount(self._make_reasoning(), before=self._body)

    def _make_reasoning(self) -> Collapsible:
        text = Static(Content("".join(self._reasoning_parts)), markup=False, classes="reasoning-text")
        return Collapsible(text, title="Reasoning", collapsed=True, classes="reasoning")

    @on(Collapsible.Expanded, ".reasoning")
    def _reasoning_opened(self, event: Collapsible.Expanded) -> None:
        event.stop()
        event.collapsible.query_one(Static).update(Content("".join(self._reasoning_parts)))

    def finish(self, status: str = "done", error: str | None = None) -> None:
        """The message is complete (or stopped): render the rest, show its state."""
        if isinstance(self._body, StreamingMarkdown):
            self._body.finish()
        self.streaming = False
        self.data.status = status
        self.data.error = error
        self.data.content = self.text
        self.refresh_header()
        for notice in self.query(".notice"):
            notice.remove()
        self.mount_all(list(self._notices()))

    def set_id(self, message_id: str) -> None:
        self.data.id = message_id

    def add_tool_line(self, text: str, style: str = "$foreground-muted") -> None:
        self.mount(Static(Content.styled(text, style), classes="tool-line", markup=False), before=self._body)

    # --- notices -----------------------------------------------------------------------

    def _notices(self) -> list[Any]:
        data = self.data
        if self.streaming or data.status not in STATUS_NOTES:
            return []
        note = STATUS_NOTES[data.status]
        if data.status == "error" and data.error:
            note = f"{note}: {data.error}"
        widgets: list[Any] = [Label(Content(note), classes="note")]
        if data.status in ("error", "interrupted", "cancelled") and data.role == "assistant":
            label = "Retry" if data.status == "error" else "Regenerate"
            widgets.append(Button(label, classes="retry", compact=True))
        return [Horizontal(*widgets, classes=f"notice -{data.status}")]

    @on(Button.Pressed, ".retry")
    def _retry(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_request("retry" if self.data.status == "error" else "regenerate")

    # --- actions -----------------------------------------------------------------------

    def action_request(self, action: str) -> None:
        self.post_message(self.ActionRequested(self, action))

    def action_neighbour(self, step: int) -> None:
        siblings = [w for w in self.parent.children if isinstance(w, MessageView)] if self.parent else []
        if self not in siblings:
            return
        index = siblings.index(self) + step
        if 0 <= index < len(siblings):
            siblings[index].focus()
            siblings[index].scroll_visible(animate=False)
        elif step > 0:
            self.screen.action_focus_prompt() if hasattr(self.screen, "action_focus_prompt") else None


class ErrorNotice(Horizontal):
    """An error that belongs to no message (the turn failed before an answer began)."""

    class RetryRequested(Message):
        """The user asked to send the failed prompt again."""

        def __init__(self, notice: "ErrorNotice") -> None:
            super().__init__()
            self.notice = notice

    def __init__(self, message: str, prompt: str | None) -> None:
        super().__init__(classes="notice -error standalone")
        self.message = message
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        yield Label(Content(f"✖ {self.message}"), classes="note")
        if self.prompt is not None:
            yield Button("Retry", classes="retry", compact=True)

    @on(Button.Pressed, ".retry")
    def _retry(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.RetryRequested(self))

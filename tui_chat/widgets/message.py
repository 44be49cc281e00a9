"""One message in the conversation: a header, optional reasoning, the body, the tool
calls it made, notices.

A message view renders what it is told and reports what the user asked for through
:class:`MessageView.ActionRequested`; it never talks to storage.

Tool calls show as collapsed :class:`ToolEntry` rows under the answer that asked for
them: the tool, a short summary of its arguments and what happened (approved, denied,
error); expanded, the arguments as requested and as run, the decision and the result.
The tool messages of a stored conversation are folded into the answer before them (see
:func:`fold_tool_messages`), so a reopened conversation looks like it did while it ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Collapsible, Label, Static

from .markdown_view import GrowsInPlace, StreamingMarkdown

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "tool": "Tool", "system": "System"}
#: How many characters of a tool's result an expanded entry shows (all of it is stored).
RESULT_PREVIEW_CHARS = 2000
RESULT_PREVIEW_LINES = 40
DENIED_PREFIX = "The tool call was denied"
STATUS_NOTES = {
    "cancelled": "■ cancelled — what arrived is kept",
    "interrupted": "⚠ interrupted — the app stopped while this was being written",
    "error": "✖ failed",
}


@dataclass
class ToolCallData:
    """One tool call as the conversation shows it (from engine events or storage)."""

    call_id: str | None
    name: str
    arguments: Any = None  # as the model asked (a dict; the raw text when it was not JSON)
    execution_id: str | None = None
    # requested | waiting | running | done | error | denied | cancelled | no_result
    status: str = "requested"
    risk: str | None = None
    decided_by: str | None = None
    reason: str | None = None
    note: str | None = None  # the user's note to the model with a denial
    edited_arguments: dict[str, Any] | None = None  # what ran instead, when edited in the prompt
    result: str | None = None
    is_error: bool = False

    @classmethod
    def from_call_part(cls, part: dict[str, Any]) -> "ToolCallData":
        raw = part.get("arguments")
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = raw
        return cls(part.get("id"), part.get("name") or "?", arguments, status="no_result")

    @classmethod
    def from_result_part(cls, part: dict[str, Any]) -> "ToolCallData":
        content = part.get("content") or ""
        is_error = bool(part.get("is_error"))
        status = ("denied" if content.startswith(DENIED_PREFIX) else "error") if is_error else "done"
        return cls(part.get("tool_call_id"), part.get("name") or "?", execution_id=part.get("execution_id"),
                   status=status, result=content, is_error=is_error)

    def apply_execution(self, execution: Any) -> None:
        """Take what storage knows about the call: its names, both versions of the
        arguments, who decided and why, and how it ended."""
        self.name = execution.tool_name or self.name
        self.execution_id = execution.id
        self.arguments = execution.parameters
        self.edited_arguments = execution.approved_parameters
        self.risk = execution.risk_level or self.risk
        self.decided_by = execution.decided_by or self.decided_by
        if execution.decided_by != "user" or not self.reason:  # keep why the user was asked
            self.reason = execution.decision_reason or self.reason
        self.note = execution.denial_note or self.note
        status = {"denied": "denied", "failed": "error", "completed": "done", "cancelled": "cancelled",
                  "executing": "running", "approved": "running", "pending": "waiting"}.get(execution.status)
        if status is not None and not (status in ("running", "waiting") and self.result is not None):
            self.status = status

    def merge(self, other: "ToolCallData") -> None:
        """Fill this call (from the answer's parts) with its result (from the tool message)."""
        self.status, self.result, self.is_error = other.status, other.result, other.is_error
        self.execution_id = other.execution_id or self.execution_id
        for name in ("decided_by", "reason", "note", "edited_arguments", "risk"):
            if getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))
        if other.arguments is not None:
            self.arguments = other.arguments
        if other.name != "?":
            self.name = other.name


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
    tools: list[ToolCallData] = field(default_factory=list)  # the calls an answer made
    tool: ToolCallData | None = None  # what a tool message reports

    @classmethod
    def from_record(cls, record: Any, *, siblings: tuple[int, int] | None = None,
                    rating: int | None = None, execution: Any = None) -> "MessageData":
        """``execution`` is the tool_executions row of a tool message, when known."""
        parts = [p for p in record.parts or () if isinstance(p, dict)]
        reasoning = "".join(p.get("text", "") for p in parts if p.get("type") == "reasoning")
        tool_name = next((p.get("name") for p in parts if p.get("type") == "tool_result"), None)
        error = (record.meta or {}).get("error", {}).get("message") if record.status == "error" else None
        data = cls(record.id, record.role, record.content, record.status, record.model, record.created_at,
                   reasoning, siblings, rating, error, tool_name, dict(record.meta or {}))
        data.tools = [ToolCallData.from_call_part(p) for p in parts if p.get("type") == "tool_call"]
        result = next((p for p in parts if p.get("type") == "tool_result"), None)
        if result is not None:
            data.tool = ToolCallData.from_result_part(result)
            if execution is not None:
                data.tool.apply_execution(execution)
            data.tool_name = data.tool.name
        return data


def fold_tool_messages(items: Iterable[MessageData]) -> list[MessageData]:
    """Fold each tool message into the answer that made the call (when that answer is in
    ``items``): one row per call under the answer, as while the turn ran. A tool message
    whose answer is not there (the edge of a page) stays a message of its own."""
    out: list[MessageData] = []
    owner: MessageData | None = None
    for item in items:
        if item.role == "tool" and item.tool is not None:
            if owner is not None and attach_tool_call(owner, item.tool):
                continue
            out.append(item)
            continue
        out.append(item)
        if item.role != "tool":
            owner = item if item.role == "assistant" and item.tools else None
    return out


def attach_tool_call(owner: MessageData, call: ToolCallData) -> bool:
    """Merge a tool message's call into the answer that made it; False if it is not one of its calls."""
    for known in owner.tools:
        if call.call_id is not None and known.call_id == call.call_id:
            known.merge(call)
            return True
    return False


_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "requested": ("… checking", "$foreground-muted"),
    "waiting": ("? waiting for approval", "$text-warning"),
    "running": ("▸ approved · running", "$text-success"),
    "done": ("✓ approved", "$text-success"),
    "error": ("✖ error", "$text-error"),
    "denied": ("⊘ denied", "$text-warning"),
    "cancelled": ("■ cancelled", "$text-warning"),
    "no_result": ("– no result", "$foreground-muted"),
}
_DECIDERS = {"user": "by you", "rule": "by a rule", "auto": "by your auto-approval settings",
             "policy": "by the policy", "flag": "by a flag", "bypass": "in bypass mode"}


def summarize_arguments(arguments: Any, limit: int = 60) -> str:
    """``path=notes.txt, content=hello…``: the arguments on one short line."""
    if isinstance(arguments, dict):
        pieces = []
        for key, value in arguments.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            pieces.append(f"{key}={' '.join(str(text).split())}")
        text = ", ".join(pieces)
    else:
        text = " ".join(str(arguments if arguments is not None else "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ToolEntry(Collapsible):
    """One tool call: collapsed to a line (tool, arguments, outcome), expandable."""

    DEFAULT_CSS = """
    ToolEntry {
        margin: 0;
        padding: 0;
        border: none;
        background: transparent;
    }
    ToolEntry > Contents {
        padding: 0 0 0 2;
    }
    ToolEntry .tool-detail {
        color: $text-muted;
    }
    """

    def __init__(self, call: ToolCallData) -> None:
        self.call = call
        self._detail = Static(self._detail_content(), markup=False, classes="tool-detail")
        super().__init__(self._detail, title=self._title_content(), collapsed=True,  # type: ignore[arg-type]
                         classes=f"tool-entry -{call.status}")

    def update_call(self, **changes: Any) -> None:
        """Show new facts about the call (its decision, its result)."""
        old = self.call.status
        for name, value in changes.items():
            setattr(self.call, name, value)
        self.refresh_call(old)

    def refresh_call(self, old_status: str | None = None) -> None:
        if old_status is not None:
            self.remove_class(f"-{old_status}")
        self.add_class(f"-{self.call.status}")
        self.title = self._title_content()  # type: ignore[assignment]
        self._detail.update(self._detail_content())

    def _title_content(self) -> Content:
        call = self.call
        label, style = _STATUS_LABELS.get(call.status, (call.status, "$foreground-muted"))
        if call.edited_arguments is not None and call.status in ("running", "done", "error"):
            label += " · edited"
        shown = call.edited_arguments if call.edited_arguments is not None else call.arguments
        return Content.assemble(("⚙ ", "$foreground-muted"), (call.name, "bold"), "  ",
                                (summarize_arguments(shown), "$foreground-muted"), "  ", (label, style))

    def _detail_content(self) -> Content:
        call = self.call
        parts: list[Content | str | tuple[str, str]] = []

        def section(title: str, text: str, style: str = "") -> None:
            if parts:
                parts.append("\n")
            parts.append((title + "\n", "bold"))
            parts.append((text, style) if style else text)

        def as_json(value: Any) -> str:
            if isinstance(value, str):
                return value
            return json.dumps(value, indent=2, ensure_ascii=False, default=str)

        if call.edited_arguments is not None:
            section("Arguments as the model asked", as_json(call.arguments))
            section("Arguments as edited (what ran)", as_json(call.edited_arguments))
        else:
            section("Arguments", as_json(call.arguments if call.arguments is not None else {}))
        if call.decided_by or call.reason:
            decision = "approved" if call.status in ("running", "done", "error") else \
                "denied" if call.status == "denied" else "decided"
            line = f"{decision} {_DECIDERS.get(call.decided_by or '', call.decided_by or '')}".strip()
            if call.reason and call.decided_by == "user":
                if call.reason not in ("approved by the user", "denied by the user"):
                    line += f" (asked because {call.reason})"
            elif call.reason:
                line += f": {call.reason}"
            if call.note:
                line += f"\nnote to the model: {call.note}"
            section("Decision", line)
        if call.result is not None:
            text, more = _truncate(call.result)
            section("Result (error)" if call.is_error else "Result", text, "$text-error" if call.is_error else "")
            if more:
                parts.append((f"\n… {more} more characters (the whole result is stored)", "$foreground-muted italic"))
        return Content.assemble(*parts)


def _truncate(text: str) -> tuple[str, int]:
    shown = text[:RESULT_PREVIEW_CHARS]
    lines = shown.split("\n")
    if len(lines) > RESULT_PREVIEW_LINES:
        shown = "\n".join(lines[:RESULT_PREVIEW_LINES])
    return shown, len(text) - len(shown)


class MessageHeader(Static):
    """Who wrote it, its state, feedback, and the branch switcher (‹ 2/3 ›, clickable)."""

    def action_branch_prev(self) -> None:
        if isinstance(self.parent, MessageView):
            self.parent.action_request("branch_prev")

    def action_branch_next(self) -> None:
        if isinstance(self.parent, MessageView):
            self.parent.action_request("branch_next")


class MessageView(GrowsInPlace, Vertical, can_focus=True):
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
        self._body: StreamingMarkdown | Static | ToolEntry
        if data.role == "assistant":
            self._body = StreamingMarkdown(data.content, streaming=streaming, classes="body")
        elif data.role == "tool" and data.tool is not None:
            self._body = ToolEntry(data.tool)
        else:
            self._body = Static(Content(data.content), classes="body", markup=False)

    def compose(self) -> ComposeResult:
        if not isinstance(self._body, ToolEntry):  # a tool call's own line says what it is
            yield MessageHeader(self._header_content(), classes="header")
        if self._reasoning_parts:
            yield self._make_reasoning()
        yield self._body
        yield from (ToolEntry(call) for call in self.data.tools)
        yield from self._notices()

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

    @property
    def tool_entries(self) -> list[ToolEntry]:
        return list(self.query(ToolEntry))

    def add_tool(self, call: ToolCallData) -> ToolEntry:
        """A tool call this answer made (while it runs): a collapsed row under the text."""
        self.data.tools.append(call)
        entry = ToolEntry(call)
        notices = self.query(".notice")
        if notices:
            self.mount(entry, before=notices.first())
        else:
            self.mount(entry)
        return entry

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

    def focus(self, scroll_visible: bool = True) -> "MessageView":
        """Focus this message now, not after the messages already queued.

        Textual's ``focus()`` defers the change to the app's queue. A key is bound to an
        action on whatever has the focus when the key reaches the app, so keys that
        arrive in a burst (held down, or sent together by a terminal multiplexer) would
        all act on the message focused before the first of them: k pressed five times
        would move one message. A mounted message takes the focus at once; one being
        mounted takes it the usual way."""
        if not self.is_mounted or not self.is_attached:
            return super().focus(scroll_visible)
        self.screen.set_focus(self, scroll_visible=scroll_visible)
        return self

    def action_neighbour(self, step: int) -> None:
        move = getattr(self.parent, "step_focus", None)
        if move is not None and not move(self, step):  # past the newest message
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

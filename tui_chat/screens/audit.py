"""The tool audit: every tool call, newest first, with who decided it and how it ended.

Filters (tool, status, conversation, since) go into the storage query
(``storage.tools.audit``), which returns one page at a time: the next page loads when
the cursor reaches the last row (or with ``m``). The pane below the table shows the
highlighted call in full: arguments as requested and as approved, the result or the
error, its timings and cost. ``r`` turns the highlighted decision into a rule through
:func:`tui_chat.tools.rules.rule_from_execution`, the same rules the approval prompt's
"always" stores. Every database call runs in a worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, time
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

PAGE = 100
MAX_SHOWN_CHARS = 20_000
STATUSES = ("pending", "approved", "denied", "executing", "completed", "failed", "cancelled")
#: The list's columns and their widths (0: the arguments, which take the rest).
COLUMNS = (("time", 11), ("conversation", 14), ("tool", 14), ("arguments", 0), ("status", 9),
           ("decided by", 14), ("took", 7), ("cost", 7))
SCOPES = [("This conversation", "conversation"), ("This project (the conversation's folder)", "project"),
          ("Everywhere", "global")]


@dataclass(frozen=True)
class AuditFilters:
    tool: str = ""
    status: str | None = None
    conversation: str = ""
    since: str = ""


@dataclass(frozen=True)
class RuleChoice:
    action: str
    scope: str
    expires_in: int | None
    argument_pattern: str | None


def short_arguments(arguments: dict[str, Any], width: int = 48) -> str:
    """One line: the value of a one-argument call, else ``name=value`` pairs."""
    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    if len(arguments) == 1:
        line = text(next(iter(arguments.values())))
    else:
        line = ", ".join(f"{key}={text(value)}" for key, value in arguments.items())
    line = " ".join(line.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def duration(ms: int | None) -> str:
    if ms is None:
        return "–"
    return f"{ms:,} ms" if ms < 1000 else f"{ms / 1000:,.1f} s"


def rule_text(action: str | None, tool_pattern: str | None, argument_pattern: str | None) -> str:
    if tool_pattern is None:
        return ""
    pattern = tool_pattern if argument_pattern is None else f"{tool_pattern}({argument_pattern})"
    return f"{action} {pattern}" if action else pattern


def decided_text(entry: Any) -> str:
    if entry.decided_by is None:
        return "–"
    if entry.decided_by == "rule" and entry.rule_tool_pattern is not None:
        return f"rule {rule_text(None, entry.rule_tool_pattern, entry.rule_argument_pattern)}"
    return entry.decided_by


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return "–" if value is None else value.astimezone().strftime(fmt)


def pretty(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False, indent=2) if not isinstance(value, str) else value
    if len(shown) > MAX_SHOWN_CHARS:
        shown = shown[:MAX_SHOWN_CHARS] + f"\n… ({len(shown) - MAX_SHOWN_CHARS:,} more characters)"
    return shown


class AuditScreen(Screen[None]):
    CSS_PATH = "audit.tcss"
    AUTO_FOCUS = "#audit-table"
    BINDINGS = [
        Binding("escape", "close", "Back", id="audit.close"),
        Binding("r", "make_rule", "Make a rule", id="audit.rule"),
        Binding("m", "more", "More", id="audit.more"),
        Binding("f5", "reload", "Refresh", id="audit.refresh"),
        Binding("ctrl+l", "focus_filters", "Filters", id="audit.filters"),
    ]

    def __init__(self, filters: AuditFilters | None = None) -> None:
        super().__init__()
        self.filters = filters or AuditFilters()
        self.entries: list[Any] = []
        self.has_more = False
        self.detail: Any = None
        self._loading_more = False
        self.arguments_width = 24

    def compose(self) -> ComposeResult:
        f = self.filters
        with Horizontal(id="audit-filters"):
            yield Label("Tool audit", id="audit-title")
            yield Input(f.tool, placeholder="tool", id="audit-tool", compact=True)
            yield Select([(status, status) for status in STATUSES], value=f.status or Select.NULL,
                         prompt="any status", id="audit-status", compact=True)
            yield Input(f.conversation, placeholder="conversation (title or id)", id="audit-conversation",
                        compact=True)
            yield Input(f.since, placeholder="since (YYYY-MM-DD, 7d)", id="audit-since", compact=True)
        with Vertical(id="audit-main"):
            yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            yield Label("loading…", id="audit-count")
            with VerticalScroll(id="audit-detail"):
                yield Static("", id="audit-detail-text")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        # The arguments take what the other columns leave (each column pads 1 a side).
        fixed = sum(width for _, width in COLUMNS if width) + 2 * len(COLUMNS)
        self.arguments_width = max(16, self.app.size.width - 4 - fixed)
        for name, width in COLUMNS:
            table.add_column(name, key=name, width=width or self.arguments_width)
        self.reload()

    # --- loading -----------------------------------------------------------------------

    def _query(self) -> dict[str, Any]:
        """The storage filters from the inputs (ValueError for a date it cannot read).
        ``since`` is a local day, like the times in the list."""
        from ..stats import parse_day

        f = self.filters
        app: Any = self.app
        since = None
        if f.since.strip():
            day = parse_day(f.since, app.clock().astimezone().date())
            since = datetime.combine(day, time(0)).astimezone()
        return {"tool": f.tool.strip() or None, "status": f.status, "conversation": f.conversation.strip() or None,
                "since": since}

    def reload(self) -> None:
        try:
            query = self._query()
        except ValueError as exc:
            self.query_one("#audit-count", Label).update(Content.styled(f"since: {exc}", "$text-error"))
            return
        self.run_worker(self._load(query, None), name="load the tool audit", group="audit", exclusive=True,
                        exit_on_error=False)

    async def _load(self, query: dict[str, Any], before_id: str | None) -> None:
        app: Any = self.app
        services = app.services
        page = await app.io(services.storage.tools.audit, services.user_id, limit=PAGE, before_id=before_id, **query)
        table = self.query_one("#audit-table", DataTable)
        if before_id is None:
            self.entries = []
            table.clear()
        for entry in page.entries:
            table.add_row(*self._cells(entry), key=entry.id)
        self.entries += page.entries
        self.has_more = page.has_more
        self._loading_more = False
        self._show_count()
        self.refresh_bindings()
        if before_id is None:
            if self.entries:
                table.move_cursor(row=0)
                self.show_detail(self.entries[0].id)
            else:
                self.detail = None
                self.query_one("#audit-detail-text", Static).update(
                    Content.styled("No tool calls match these filters.", "$text-muted"))

    def _cells(self, entry: Any) -> list[Text]:
        arguments = entry.approved_parameters if entry.approved_parameters is not None else entry.parameters
        edited = "✎ " if entry.approved_parameters is not None else ""
        app: Any = self.app
        this_year = entry.created_at.astimezone().year == app.clock().astimezone().year
        return [
            Text(local_time(entry.created_at, "%m-%d %H:%M" if this_year else "%Y-%m-%d")),
            Text(entry.conversation_title or "(untitled)", overflow="ellipsis", no_wrap=True),
            Text(entry.tool_name, overflow="ellipsis", no_wrap=True),
            Text(edited + short_arguments(arguments, self.arguments_width - len(edited))),
            Text(entry.status + (" !" if entry.has_error and entry.status != "failed" else "")),
            Text(decided_text(entry), overflow="ellipsis", no_wrap=True),
            Text(duration(entry.execution_time_ms), justify="right"),
            Text("–" if entry.cost is None else _usd(entry.cost), justify="right"),
        ]

    def _show_count(self) -> None:
        count = len(self.entries)
        if count == 0:
            text = "no tool calls"
        elif self.has_more:
            text = f"the newest {count:,} calls; more load at the end of the list (m)"
        else:
            text = f"{count:,} call{'s' if count != 1 else ''}"
        self.query_one("#audit-count", Label).update(text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self._loading_more = False
            self.app.on_worker_state_changed(event)  # type: ignore[attr-defined]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "more":
            return self.has_more
        if action == "make_rule":
            return self.detail is not None
        return True

    def action_more(self) -> None:
        if not self.has_more or self._loading_more or not self.entries or self._loading():
            return
        try:
            query = self._query()
        except ValueError:
            return
        self._loading_more = True
        self.run_worker(self._load(query, self.entries[-1].id), name="load more of the tool audit",
                        group="audit", exclusive=True, exit_on_error=False)

    def _loading(self) -> bool:
        """A page is on its way (a new page must not cancel a reload with new filters)."""
        return any(worker.node is self and worker.group == "audit" and not worker.is_finished
                   for worker in self.app.workers)

    def action_reload(self) -> None:
        self.reload()

    def action_focus_filters(self) -> None:
        self.query_one("#audit-tool", Input).focus()

    def action_close(self) -> None:
        if self.focused is not None and self.focused.id in ("audit-tool", "audit-conversation", "audit-since"):
            self.query_one("#audit-table", DataTable).focus()
            return
        self.dismiss(None)

    # --- filters -----------------------------------------------------------------------

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        names = {"audit-tool": "tool", "audit-conversation": "conversation", "audit-since": "since"}
        name = names.get(event.input.id or "")
        if name is None or getattr(self.filters, name) == event.value:
            return
        self.filters = replace(self.filters, **{name: event.value})
        # Typing narrows as it goes; a short pause first so each key is not a query.
        self.set_timer(0.25, lambda filters=self.filters: self._reload_if(filters), name="audit filter")

    def _reload_if(self, filters: AuditFilters) -> None:
        if filters == self.filters:
            self.reload()

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        self.reload()
        self.query_one("#audit-table", DataTable).focus()

    @on(Select.Changed, "#audit-status")
    def _status_changed(self, event: Select.Changed) -> None:
        status = None if event.value is Select.NULL else str(event.value)
        if status != self.filters.status:
            self.filters = replace(self.filters, status=status)
            self.reload()

    # --- the detail pane ---------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#audit-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        self.show_detail(event.row_key.value)
        if event.cursor_row >= len(self.entries) - 1:
            self.action_more()

    def show_detail(self, execution_id: str) -> None:
        self.run_worker(self._load_detail(execution_id), name="read the tool call", group="audit-detail",
                        exclusive=True, exit_on_error=False)

    async def _load_detail(self, execution_id: str) -> None:
        app: Any = self.app
        services = app.services
        record = await app.io(services.storage.tools.get, services.user_id, execution_id)
        entry = next((e for e in self.entries if e.id == execution_id), None)
        self.detail = record
        self.query_one("#audit-detail-text", Static).update(self._describe(record, entry))
        self.refresh_bindings()

    def _describe(self, record: Any, entry: Any) -> Content:
        muted = "$text-muted"
        title = entry.conversation_title if entry is not None else None
        decided = decided_text(entry) if entry is not None else (record.decided_by or "–")
        head = Content.assemble(
            (record.tool_name, "bold"), (f"  {record.tool_source} · risk {record.risk_level} · ", muted),
            (record.status, "bold"),
        )
        rows: list[tuple[str, str]] = [
            ("conversation", title or "(untitled)"),
            ("requested", local_time(record.approval_requested_at or record.created_at)),
            ("decided", "not yet" if record.approved_at is None else
                        f"{local_time(record.approved_at)} by {decided}"
                        + (f": {record.decision_reason}" if record.decision_reason else "")),
        ]
        if record.executed_at is not None:
            rows.append(("ran", f"{local_time(record.executed_at)} → {local_time(record.completed_at)}, "
                                f"took {duration(record.execution_time_ms)}"))
        elif record.completed_at is not None and record.approved_at != record.completed_at:
            rows.append(("ended", local_time(record.completed_at)))
        rows.append(("cost", "–" if record.cost is None else _usd(record.cost)))
        if record.denial_note:
            rows.append(("told the model", record.denial_note))
        lines = [head]
        lines += [Content.assemble((f"{name:<15}", muted), value) for name, value in rows]
        lines.append(Content.styled("arguments as requested", "bold $text-primary"))
        lines.append(Content(pretty(record.parameters)))
        if record.approved_parameters is not None:
            lines.append(Content.styled("arguments as approved (edited)", "bold $text-primary"))
            lines.append(Content(pretty(record.approved_parameters)))
        if record.error_message:
            lines.append(Content.styled("error", "bold $text-error"))
            lines.append(Content(pretty(record.error_message)))
        if record.result is not None:
            lines.append(Content.styled("result", "bold $text-primary"))
            lines.append(Content(pretty(record.result)))
        return Content("\n").join(lines)

    # --- rules from decisions ----------------------------------------------------------

    def action_make_rule(self) -> None:
        record = self.detail
        if record is None:
            return
        self.app.push_screen(RuleFromDecisionScreen(record), lambda choice: self._rule_chosen(record, choice))

    def _rule_chosen(self, record: Any, choice: RuleChoice | None) -> None:
        if choice is not None:
            self.run_worker(self._make_rule(record, choice), name="make the rule", group="audit-rule",
                            exit_on_error=False)

    async def _make_rule(self, record: Any, choice: RuleChoice) -> None:
        from ..tools.rules import rule_from_execution, rule_row

        app: Any = self.app
        services = app.services
        rules = await app.io(rule_from_execution, services.storage, services.user_id, record.id,
                             action=choice.action, scope=choice.scope, expires_in=choice.expires_in,
                             argument_pattern=choice.argument_pattern)
        if not rules:
            app.notify("This call cannot be judged part by part, so no rule matches it exactly: "
                       "give an argument pattern instead.", title="No rule made", severity="warning", timeout=8)
            return
        shown = "; ".join(f"{row['action']} {row['pattern']} [{row['where']}]" for row in map(rule_row, rules))
        app.notify(shown, title="Rule added" if len(rules) == 1 else f"{len(rules)} rules added")


def _usd(amount: Any) -> str:
    from ..stats import usd

    return usd(amount)


class RuleFromDecisionScreen(ModalScreen["RuleChoice | None"]):
    """Allow or deny calls like this one from now on: where, for how long, and which
    arguments (exactly these, or a pattern)."""

    CSS_PATH = ["dialogs.tcss", "audit.tcss"]
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="audit-rule.cancel"),
        Binding("ctrl+s", "save", "Make the rule", id="audit-rule.save", priority=True),
    ]

    def __init__(self, record: Any) -> None:
        super().__init__(classes="dialog-screen")
        self.record = record

    def compose(self) -> ComposeResult:
        record = self.record
        arguments = record.effective_parameters
        action = "deny" if record.status == "denied" else "allow"
        with Vertical(classes="dialog -wide", id="rule-dialog"):
            yield Label(f"A rule from this decision: {record.tool_name}", classes="dialog-title")
            yield Static(Content(short_arguments(arguments, 100)), id="rule-arguments")
            with Horizontal(classes="rule-row"):
                yield Label("Decision", classes="rule-label")
                yield Select([("Allow", "allow"), ("Deny", "deny")], value=action, allow_blank=False,
                             id="rule-action", compact=True)
            with Horizontal(classes="rule-row"):
                yield Label("Applies to", classes="rule-label")
                yield Select(SCOPES, value="conversation", allow_blank=False, id="rule-scope", compact=True)
            with Horizontal(classes="rule-row"):
                yield Label("Arguments", classes="rule-label")
                yield Input(placeholder="exactly these (or a pattern, e.g. git *)", id="rule-pattern",
                            compact=True)
            with Horizontal(classes="rule-row"):
                yield Label("Expires after", classes="rule-label")
                yield Input(placeholder="never (or 30m, 12h, 7d, 2w)", id="rule-expires", compact=True)
            yield Label("", id="rule-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Make the rule (Ctrl+S)", variant="primary", id="rule-save", compact=True)
                yield Button("Cancel (Esc)", id="rule-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#rule-action", Select).focus()

    @on(Button.Pressed, "#rule-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#rule-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        from ..tools.patterns import PatternError, parse_rule
        from ..tools.rules import parse_duration

        expires = self.query_one("#rule-expires", Input).value.strip()
        pattern = self.query_one("#rule-pattern", Input).value.strip() or None
        try:
            seconds = parse_duration(expires) if expires else None
            if pattern is not None:
                parse_rule(f"{self.record.tool_name}({pattern})")
        except (ValueError, PatternError) as exc:
            self.query_one("#rule-error", Label).update(str(exc))
            return
        self.dismiss(RuleChoice(action=str(self.query_one("#rule-action", Select).value),
                                scope=str(self.query_one("#rule-scope", Select).value),
                                expires_in=seconds, argument_pattern=pattern))

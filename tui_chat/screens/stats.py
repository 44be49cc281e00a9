"""Usage statistics: what ``tui-chat stats`` prints, drawn.

A period (last 7 days, last 30 days, everything) and a grouping (day, model, provider)
choose the report; :func:`tui_chat.stats.build_report` computes it in a thread worker,
the same computation as the command. The screen shows the totals, response-time and
time-to-first-token percentiles, errors and the thumbs up/down ratio, columns of tokens
and cost per day, and the grouped table.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Select, Static
from textual.worker import Worker, WorkerState

from ..widgets.column_chart import ColumnChart

PERIOD_CHOICES = [("Last 7 days", "7d"), ("Last 30 days", "30d"), ("All time", "all")]
GROUP_CHOICES = [("By day", "day"), ("By model", "model"), ("By provider", "provider")]


def compact(value: float) -> str:
    """12, 3.4k, 1.2M: short enough for a chart axis."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:,.0f}"


def millis(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


class StatsScreen(Screen[None]):
    CSS_PATH = "stats.tcss"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="stats.close"),
        Binding("p", "next_period", "Period", id="stats.period"),
        Binding("g", "next_group", "Group by", id="stats.group"),
        Binding("f5", "reload", "Refresh", id="stats.refresh"),
    ]

    def __init__(self, period: str = "30d", group: str = "day") -> None:
        super().__init__()
        self.period = period
        self.group = group
        self.report: Any = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="stats-bar"):
            yield Label("Usage", id="stats-title")
            yield Select(PERIOD_CHOICES, value=self.period, allow_blank=False, id="stats-period", compact=True)
            yield Select(GROUP_CHOICES, value=self.group, allow_blank=False, id="stats-group", compact=True)
            yield Label("loading…", id="stats-range")
        yield Static("", id="stats-summary")
        with Horizontal(id="stats-charts"):
            yield ColumnChart("Tokens per day (input + output)", describe=compact, id="stats-tokens")
            yield ColumnChart("Cost per day (USD)", describe=lambda v: f"${v:,.2f}" if v >= 1 or v == 0
                              else f"${v:.4f}", id="stats-cost")
        yield DataTable(id="stats-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    # --- loading -----------------------------------------------------------------------

    def load(self) -> None:
        self.query_one("#stats-range", Label).update("loading…")
        self.run_worker(self._load(self.period, self.group), name="load the usage stats", group="stats",
                        exclusive=True, exit_on_error=False)

    async def _load(self, period: str, group: str) -> None:
        app: Any = self.app
        services = app.services
        today = app.clock().date()

        def compute() -> Any:
            from ..stats import build_report, period_range

            first, last = period_range(services.storage, services.user_id, period, today)
            return build_report(services.storage, services.user_id, first, last, group=group, today=today)

        report = await app.io(compute)
        if (period, group) == (self.period, self.group):
            self.show(report)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.on_worker_state_changed(event)  # type: ignore[attr-defined]

    # --- showing -----------------------------------------------------------------------

    def show(self, report: Any) -> None:
        from ..stats import cost_text

        self.report = report
        totals = report.totals
        days = (report.last - report.first).days + 1
        self.query_one("#stats-range", Label).update(
            f"{report.first} to {report.last} (UTC), {days} day{'s' if days != 1 else ''}")
        ratio = report.up_ratio
        rows = [
            ("calls", f"{totals.calls:,}  ·  tokens in {totals.input_tokens:,} (cached {totals.cached_input_tokens:,})"
                      f"  out {totals.output_tokens:,}  ·  cost {cost_text(totals)}"),
            ("response time", f"p50 {millis(report.response_p50)}   p95 {millis(report.response_p95)}"),
            ("first token", f"p50 {millis(report.first_token_p50)}   p95 {millis(report.first_token_p95)}"),
            ("errors", f"{report.errors:,} of {totals.calls:,} call(s)"),
            ("ratings", f"{report.ratings_up} up / {report.ratings_down} down"
                        + (f"  ({ratio:.0%} up)" if ratio is not None else "")),
        ]
        lines = [Content.assemble((f"{name:<15}", "$text-muted"), value) for name, value in rows]
        if totals.unpriced_calls:
            lines.append(Content.styled(f"price unknown for {totals.unpriced_calls} call(s): their tokens are "
                                        "counted, their cost is not", "$text-warning"))
        self.query_one("#stats-summary", Static).update(Content("\n").join(lines))
        self.query_one("#stats-tokens", ColumnChart).set_points(
            [(d.day.strftime("%b %d"), float(d.input_tokens + d.output_tokens)) for d in report.days])
        self.query_one("#stats-cost", ColumnChart).set_points(
            [(d.day.strftime("%b %d"), float(d.cost)) for d in report.days])
        self._fill_table(report)

    def _fill_table(self, report: Any) -> None:
        from ..stats import cost_text

        table = self.query_one("#stats-table", DataTable)
        table.clear(columns=True)
        table.add_column(report.group, key="key")
        for name in ("calls", "input", "cached", "output", "errors", "cost"):
            table.add_column(name, key=name)
        def cells(label: Text, t: Any) -> list[Text]:
            numbers = (t.calls, t.input_tokens, t.cached_input_tokens, t.output_tokens, t.errors)
            return [label, *(Text(f"{n:,}", justify="right") for n in numbers),
                    Text(cost_text(t))]

        for group in report.groups:
            table.add_row(*cells(Text((group.label or group.key or "(none)")[:40]), group.totals))
        if report.groups:
            table.add_row(*cells(Text("total", style="bold"), report.totals), key="total")

    # --- choices -----------------------------------------------------------------------

    @on(Select.Changed, "#stats-period")
    def _period_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.period:
            self.period = str(event.value)
            self.load()

    @on(Select.Changed, "#stats-group")
    def _group_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.group:
            self.group = str(event.value)
            self.load()

    def action_next_period(self) -> None:
        values = [value for _, value in PERIOD_CHOICES]
        self.query_one("#stats-period", Select).value = values[(values.index(self.period) + 1) % len(values)]

    def action_next_group(self) -> None:
        values = [value for _, value in GROUP_CHOICES]
        self.query_one("#stats-group", Select).value = values[(values.index(self.group) + 1) % len(values)]

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)

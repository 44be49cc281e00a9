"""The status line: provider, model, context use, cost, spend against the tightest budget
cap, and what the app is doing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from textual.content import Content
from textual.widgets import Static


def compact_number(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 1_000:
        return f"{value / 1_000:.1f}k".replace(".0k", "k")
    return str(value)


def format_cost(cost: Decimal | float | None) -> str:
    if cost is None:
        return "cost n/a"
    cost = Decimal(str(cost))
    if cost == 0:
        return "$0"
    if cost < Decimal("0.01"):
        return f"${cost:.4f}"
    return f"${cost:.2f}"


@dataclass(frozen=True)
class SpendGauge:
    """What was spent in the period of the tightest budget that applies, against its cap."""

    period: str  # day | month
    spent: Decimal | int
    cap: Decimal | int
    tokens: bool = False  # a token cap (else US dollars)

    @property
    def ratio(self) -> float:
        if not self.cap:
            return 1.0  # a cap of 0 blocks every call
        return float(Decimal(self.spent) / Decimal(self.cap))

    @property
    def style(self) -> str:
        """Muted, amber from 80% of the cap, red at the cap."""
        ratio = self.ratio
        return "$text-error" if ratio >= 1 else "$text-warning" if ratio >= 0.8 else "$foreground-muted"

    def label(self) -> str:
        when = "today" if self.period == "day" else "month"
        if self.tokens:
            return f"{when} {compact_number(int(self.spent))}/{compact_number(int(self.cap))} tok"
        return f"{when} {format_cost(self.spent)}/{format_cost(self.cap)}"


@dataclass(frozen=True)
class StatusState:
    provider: str = ""
    model: str = ""
    context_tokens: int | None = None
    context_window: int | None = None
    cost: Decimal | None = Decimal(0)
    spend: SpendGauge | None = None  # None: no budget applies
    activity: str = "idle"  # idle | starting | streaming | retrying | cancelled | error | loading
    detail: str = ""


class StatusLine(Static):
    """One line at the bottom of the chat; ``update_state(field=value, ...)`` changes it."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.state = StatusState(activity="loading")

    def on_mount(self) -> None:
        self._show()

    def update_state(self, **changes: Any) -> None:
        state = replace(self.state, **changes)
        if state != self.state:
            self.state = state
            self._show()

    def _show(self) -> None:
        s = self.state
        parts: list[Content | str] = []
        if s.provider or s.model:
            parts.append(Content.styled(f"{s.provider or '?'} · {s.model or '?'}", "$text-primary"))
        else:
            parts.append(Content.styled("no model yet", "$foreground-muted"))
        if s.context_window:
            used = s.context_tokens or 0
            ratio = used / s.context_window
            style = "$text-error" if ratio > 0.9 else "$text-warning" if ratio > 0.7 else "$foreground-muted"
            parts.append(Content.styled(
                f"ctx {compact_number(used)}/{compact_number(s.context_window)} ({ratio:.0%})", style))
        elif s.context_tokens:
            parts.append(Content.styled(f"ctx {compact_number(s.context_tokens)}", "$foreground-muted"))
        parts.append(Content.styled(format_cost(s.cost), "$foreground-muted"))
        if s.spend is not None:
            reached = " (cap reached)" if s.spend.ratio >= 1 else ""
            parts.append(Content.styled(s.spend.label() + reached, s.spend.style))
        marker = {
            "idle": ("○ ready", "$foreground-muted"),
            "loading": ("… loading", "$foreground-muted"),
            "starting": ("◌ waiting for the model", "$text-accent"),
            "streaming": ("● streaming", "$text-success"),
            "retrying": ("↻ retrying", "$text-warning"),
            "cancelled": ("■ cancelled", "$text-warning"),
            "error": ("✖ error", "$text-error"),
        }.get(s.activity, (s.activity, "$foreground-muted"))
        activity = marker[0] + (f" {s.detail}" if s.detail else "")
        parts.append(Content.styled(activity, marker[1]))
        # One line whatever it says: no layout pass (which would re-arrange the whole
        # screen twice a second while an answer streams), just a repaint.
        self.update(Content(" │ ").join(parts), layout=False)

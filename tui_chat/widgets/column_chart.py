"""A column chart drawn with block characters: one column per point, from zero, in
eighths of a cell, with the peak on the left axis and the first and last labels below.
More points than columns are summed into buckets, so every value still counts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widget import Widget

LEVELS = " ▁▂▃▄▅▆▇█"


def buckets(values: Sequence[float], count: int) -> list[tuple[int, int]]:
    """Split ``len(values)`` points into at most ``count`` contiguous [start, end) runs."""
    total = len(values)
    if total <= count:
        return [(i, i + 1) for i in range(total)]
    return [(total * i // count, total * (i + 1) // count) for i in range(count)]


class ColumnChart(Widget):
    """Columns for ``points`` ((label, value) pairs, in order). ``describe`` formats the
    peak for the axis (a token count, dollars)."""

    DEFAULT_CSS = """
    ColumnChart {
        height: 10;
    }
    ColumnChart > .column-chart--title {
        text-style: bold;
    }
    ColumnChart > .column-chart--bar {
        color: $primary;
    }
    ColumnChart > .column-chart--axis {
        color: $text-muted;
    }
    """
    COMPONENT_CLASSES = {"column-chart--title", "column-chart--bar", "column-chart--axis"}

    def __init__(self, title: str = "", *, describe: Callable[[float], str] = lambda v: f"{v:,.0f}",
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.describe = describe
        self.points: list[tuple[str, float]] = []

    def set_points(self, points: Sequence[tuple[str, float]]) -> None:
        self.points = list(points)
        self.refresh()

    def render(self) -> Text:
        title_style = self.get_component_rich_style("column-chart--title")
        bar_style = self.get_component_rich_style("column-chart--bar")
        axis_style = self.get_component_rich_style("column-chart--axis")
        width, height = self.size.width, self.size.height
        text = Text(no_wrap=True, overflow="crop")
        text.append(self.title, title_style)
        rows = height - 3  # title, axis line, labels
        values = [max(0.0, value) for _, value in self.points]
        peak = max(values, default=0.0)
        if rows < 1 or width < 8:
            return text
        if not values or peak <= 0:
            text.append("\n" + "nothing in this period", axis_style)
            return text
        peak_text = self.describe(peak)
        zero_text = self.describe(0)
        axis = max(len(peak_text), len(zero_text))
        plot = width - axis - 1
        spans = buckets(values, plot)
        sums = [sum(values[a:b]) for a, b in spans]
        peak = max(sums)
        column = max(1, min(6, plot // len(spans)))
        bar_width = column - 1 if column >= 3 else column
        eighths = [round(v / peak * rows * 8) if v > 0 else 0 for v in sums]
        eighths = [max(1, e) if v > 0 else 0 for e, v in zip(eighths, sums)]
        for row in range(rows - 1, -1, -1):
            label = peak_text if row == rows - 1 else zero_text if row == 0 else ""
            text.append("\n" + label.rjust(axis) + ("┤" if label else "│"), axis_style)
            line = []
            for level in eighths:
                part = min(8, max(0, level - row * 8))
                line.append(LEVELS[part] * bar_width + " " * (column - bar_width))
            text.append("".join(line), bar_style)
        used = column * len(spans)
        text.append("\n" + " " * axis + "└" + "─" * used, axis_style)
        first, last = self.points[0][0], self.points[-1][0]
        labels = first if len(self.points) == 1 else first + last.rjust(max(1, used - len(first)))
        text.append("\n" + " " * (axis + 1) + labels, axis_style)
        return text

"""Usage statistics over a range of UTC days: one computation for ``tui-chat stats`` and
the TUI's stats screen.

:func:`build_report` gathers the grouped usage (day, model, provider or conversation),
the totals, the daily aggregates from chat_analytics (days not yet final are recomputed
first, which is idempotent), response-time and time-to-first-token percentiles, errors
and ratings. Cost is what the price catalog said when each call was made; calls to a
model whose price is unknown count their tokens and show "unknown", never a made-up
number. No UI here: the command prints a report, the screen draws it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage import Storage
    from storage.services.analytics import DayRecord
    from storage.services.usage import UsageGroup, UsageTotals

DEFAULT_DAYS = 30
#: Periods offered by the stats screen: the last N days (today included), or everything.
PERIODS = {"7d": 7, "30d": 30, "all": None}
AGO = re.compile(r"^(\d+)d$")
EIGHTHS = "▏▎▍▌▋▊▉"


def parse_day(value: str, today: date) -> date:
    """YYYY-MM-DD, ``today``, ``yesterday`` or ``Nd`` (N days ago); UTC. ValueError otherwise."""
    text = value.strip().lower()
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    match = AGO.match(text)
    if match:
        return today - timedelta(days=int(match.group(1)))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r}: use YYYY-MM-DD, today, yesterday or Nd (days ago)") from None


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def usd(amount: Decimal) -> str:
    """Dollars with enough digits to tell small spends apart: $0.0032, $12.50."""
    if amount == 0:
        return "$0.00"
    return f"${amount:,.4f}" if abs(amount) < 1 else f"${amount:,.2f}"


def cost_text(totals: Any) -> str:
    """Dollars, "unknown" when no call had a known price, or "$x + unknown" when some did not."""
    if totals.calls and totals.unpriced_calls == totals.calls:
        return "unknown"
    if totals.unpriced_calls:
        return f"{usd(totals.cost)} + unknown"
    return usd(totals.cost)


def bar(value: float, peak: float, width: int) -> str:
    """A horizontal bar in eighths of a character; anything above zero shows."""
    if value <= 0 or peak <= 0:
        return ""
    eighths = max(1, round(value / peak * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[rest - 1] if rest else "")


def daily(storage: "Storage", user_id: str, since: date, until: date, today: date, force: bool) -> list["DayRecord"]:
    """chat_analytics rows for every day in range, recomputing those not final."""
    stored = {row.day: row for row in storage.analytics.days(user_id, since, until)}
    day, stale = since, []
    while day <= until:
        row = stored.get(day)
        if force or row is None or day >= today or row.computed_at < day_start(day + timedelta(days=1)):
            stale.append(day)
        day += timedelta(days=1)
    # Recompute contiguous runs of stale days, one unit of work each.
    runs: list[tuple[date, date]] = []
    for day in stale:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    for first, last in runs:
        for row in storage.analytics.recompute(user_id, first, last):
            stored[row.day] = row
    return [stored[d] for d in sorted(stored) if since <= d <= until]


@dataclass(frozen=True)
class StatsReport:
    first: date
    last: date
    group: str
    #: Usage grouped by ``group``: by day oldest first, otherwise most expensive first.
    groups: list["UsageGroup"]
    totals: "UsageTotals"
    #: Usage totals by day ('YYYY-MM-DD'), for the cost of each day with unknown prices.
    per_day: dict[str, "UsageTotals"]
    #: chat_analytics rows, one per day in range, oldest first.
    days: list["DayRecord"]
    response_p50: float | None
    response_p95: float | None
    first_token_p50: float | None
    first_token_p95: float | None
    ratings_up: int
    ratings_down: int

    @property
    def errors(self) -> int:
        return self.totals.errors

    @property
    def up_ratio(self) -> float | None:
        rated = self.ratings_up + self.ratings_down
        return self.ratings_up / rated if rated else None

    def day_cost_text(self, day: "DayRecord") -> str:
        """A day's cost in words: dollars, or with "+ unknown" when some calls had no price."""
        totals = self.per_day.get(day.day.isoformat())
        return cost_text(totals) if totals is not None else usd(day.cost)


def build_report(storage: "Storage", user_id: str, first: date, last: date, *, group: str = "day",
                 today: date, recompute: bool = False) -> StatsReport:
    """Everything ``tui-chat stats`` shows for the UTC days ``first``..``last`` (both included)."""
    from storage.services.analytics import percentile

    if first > last:
        raise ValueError(f"the first day {first} is after the last day {last}")
    start, end = day_start(first), day_start(last + timedelta(days=1))
    groups = storage.usage.by(user_id, group, start, end)  # type: ignore[arg-type]
    by_day = groups if group == "day" else storage.usage.by(user_id, "day", start, end)
    totals = storage.usage.totals(user_id, since=start, until=end)
    days = daily(storage, user_id, first, last, today, recompute)
    responses, first_tokens = storage.usage.timings(user_id, start, end)
    return StatsReport(
        first=first, last=last, group=group, groups=groups, totals=totals,
        per_day={g.key: g.totals for g in by_day if g.key is not None}, days=days,
        response_p50=percentile(responses, 0.5), response_p95=percentile(responses, 0.95),
        first_token_p50=percentile(first_tokens, 0.5), first_token_p95=percentile(first_tokens, 0.95),
        ratings_up=sum(d.ratings_up for d in days), ratings_down=sum(d.ratings_down for d in days),
    )


def period_range(storage: "Storage", user_id: str, period: str, today: date) -> tuple[date, date]:
    """The days of a period: ``7d`` and ``30d`` end today; ``all`` starts at the first
    recorded call (at most the longest range the daily aggregates cover)."""
    from storage.services.analytics import MAX_RANGE_DAYS

    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; the periods are {', '.join(PERIODS)}")
    count = PERIODS[period]
    if count is not None:
        return today - timedelta(days=count - 1), today
    first_at = storage.usage.first_at(user_id)
    first = min(first_at.astimezone(timezone.utc).date(), today) if first_at is not None else today
    return max(first, today - timedelta(days=MAX_RANGE_DAYS - 1)), today

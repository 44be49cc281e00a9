"""``tui-chat stats``: tokens, cost, speed, errors and ratings over a range of UTC days.

The table groups usage by day, model, provider or conversation. Cost is what the price
catalog said when each call was made; calls to a model whose price is unknown show their
tokens and "unknown", never a made-up number. In a terminal (or with ``--chart``) a bar
chart of tokens and cost per day follows. Daily aggregates come from chat_analytics:
days not yet final (today, days computed before they ended, or all with
``--recompute``) are recomputed first, which is idempotent.
"""

from __future__ import annotations

import re
import shutil
import sys
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import click

from . import app_context, print_json

DEFAULT_DAYS = 30
CHART_DAYS = 90
AGO = re.compile(r"^(\d+)d$")
EIGHTHS = "▏▎▍▌▋▊▉"


def parse_day(value: str, today: date, option: str) -> date:
    """YYYY-MM-DD, ``today``, ``yesterday`` or ``Nd`` (N days ago); UTC."""
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
        raise click.BadParameter(f"{value!r}: use YYYY-MM-DD, today, yesterday or Nd (days ago)",
                                 param_hint=option) from None


def _start(day: date) -> datetime:
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


def chart(title: str, rows: list[tuple[str, float, str]], width: int) -> list[str]:
    peak = max((value for _, value, _ in rows), default=0)
    lines = [title]
    for label, value, shown in rows:
        lines.append(f"{label} │{bar(value, peak, width):<{width}} {shown}")
    return lines


def timings(storage: Any, user_id: str, since: datetime, until: datetime) -> tuple[list[int], list[int]]:
    """Every call's response and first-token times in [since, until)."""
    from sqlalchemy import select

    from storage.models import UsageLog

    with storage.db.read() as session:
        rows = session.execute(
            select(UsageLog.response_ms, UsageLog.first_token_ms).where(
                UsageLog.user_id == user_id, UsageLog.created_at >= since, UsageLog.created_at < until)
        ).all()
    return [r[0] for r in rows if r[0] is not None], [r[1] for r in rows if r[1] is not None]


def daily(storage: Any, user_id: str, since: date, until: date, today: date, force: bool) -> list[Any]:
    """chat_analytics rows for every day in range, recomputing those not final."""
    stored = {row.day: row for row in storage.analytics.days(user_id, since, until)}
    day, stale = since, []
    while day <= until:
        row = stored.get(day)
        if force or row is None or day >= today or row.computed_at < _start(day + timedelta(days=1)):
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


def _group_json(group: Any) -> dict[str, Any]:
    t = group.totals
    return {"key": group.key, "label": group.label, **_totals_json(t)}


def _totals_json(t: Any) -> dict[str, Any]:
    known = not (t.calls and t.unpriced_calls == t.calls)
    return {"calls": t.calls, "input_tokens": t.input_tokens, "cached_input_tokens": t.cached_input_tokens,
            "output_tokens": t.output_tokens, "reasoning_tokens": t.reasoning_tokens,
            "cost_usd": float(t.cost) if known else None, "unpriced_calls": t.unpriced_calls, "errors": t.errors}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


@click.command()
@click.option("--since", metavar="DATE", help=f"First UTC day (YYYY-MM-DD, yesterday or Nd; default: {DEFAULT_DAYS - 1}d).")
@click.option("--until", metavar="DATE", help="Last UTC day, included (default: today).")
@click.option("--by", "group", type=click.Choice(["day", "model", "provider", "conversation"]), default="day",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--chart/--no-chart", "chart_flag", default=None, help="Bar chart of tokens and cost per day (default: in a terminal).")
@click.option("--recompute", is_flag=True, help="Recompute every day's aggregates, not just the unfinished ones.")
@click.pass_context
def stats(ctx: click.Context, since: str | None, until: str | None, group: str, as_json: bool,
          chart_flag: bool | None, recompute: bool) -> None:
    """Usage and cost: calls, tokens, cost, response-time percentiles, errors, ratings."""
    from storage.services.analytics import percentile

    today = datetime.now(timezone.utc).date()
    last = parse_day(until, today, "--until") if until else today
    first = parse_day(since, today, "--since") if since else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise click.UsageError(f"--since {first} is after --until {last}")
    start, end = _start(first), _start(last + timedelta(days=1))
    with app_context(ctx) as app:
        uid = app.user.id
        groups = app.storage.usage.by(uid, group, start, end)
        per_day = {g.key: g.totals for g in (groups if group == "day" else app.storage.usage.by(uid, "day", start, end))}
        totals = app.storage.usage.totals(uid, since=start, until=end)
        days = daily(app.storage, uid, first, last, today, recompute)
        responses, first_tokens = timings(app.storage, uid, start, end)
    up, down = sum(d.ratings_up for d in days), sum(d.ratings_down for d in days)
    summary = {
        "response_ms": {"p50": percentile(responses, 0.5), "p95": percentile(responses, 0.95)},
        "first_token_ms": {"p50": percentile(first_tokens, 0.5), "p95": percentile(first_tokens, 0.95)},
        "errors": totals.errors,
        "ratings": {"up": up, "down": down, "up_ratio": up / (up + down) if up + down else None},
    }
    if as_json:
        print_json({
            "since": first.isoformat(), "until": last.isoformat(), "by": group,
            "groups": [_group_json(g) for g in groups], "total": _totals_json(totals), **summary,
            "days": [{
                "day": d.day.isoformat(), "input_tokens": d.input_tokens, "output_tokens": d.output_tokens,
                "cost_usd": float(d.cost), "unpriced_calls": per_day[d.day.isoformat()].unpriced_calls
                if d.day.isoformat() in per_day else 0, "messages": d.messages, "conversations": d.conversations,
                "errors": d.errors, "ratings_up": d.ratings_up, "ratings_down": d.ratings_down,
                "avg_response_ms": d.avg_response_ms, "p50_first_token_ms": d.p50_first_token_ms,
                "p95_first_token_ms": d.p95_first_token_ms, "tool_calls": d.tool_calls,
            } for d in days],
        })
        return
    out = click.echo
    out(f"Usage {first} to {last} (UTC), by {group}")
    if not groups:
        out("no provider calls in this range")
    else:
        labels = [(g.label or g.key or "(none)")[:40] for g in groups]
        width = max(len(group), *(len(label) for label in labels), len("total"))
        out(f"{group:<{width}}  {'calls':>6} {'input':>12} {'cached':>11} {'output':>11}  cost")
        for label, g in zip(labels, groups):
            t = g.totals
            out(f"{label:<{width}}  {t.calls:>6,} {t.input_tokens:>12,} {t.cached_input_tokens:>11,} "
                f"{t.output_tokens:>11,}  {cost_text(t)}")
        out(f"{'total':<{width}}  {totals.calls:>6,} {totals.input_tokens:>12,} {totals.cached_input_tokens:>11,} "
            f"{totals.output_tokens:>11,}  {cost_text(totals)}")
        if totals.unpriced_calls:
            out(f"price unknown for {totals.unpriced_calls} call(s): their tokens are counted, their cost is not "
                "(add prices with: tui-chat models --load FILE)")
    r, f = summary["response_ms"], summary["first_token_ms"]
    out(f"response time   p50 {_ms(r['p50'])}  p95 {_ms(r['p95'])}")
    out(f"first token     p50 {_ms(f['p50'])}  p95 {_ms(f['p95'])}")
    out(f"errors          {totals.errors} of {totals.calls} call(s)")
    ratio = summary["ratings"]["up_ratio"]
    out(f"ratings         {up} up / {down} down" + (f" ({ratio:.0%} up)" if ratio is not None else ""))
    show_chart = sys.stdout.isatty() if chart_flag is None else chart_flag
    if show_chart and days:
        shown = days[-CHART_DAYS:]
        width = max(10, min(60, shutil.get_terminal_size((80, 24)).columns - 30))
        token_rows = [(d.day.isoformat(), float(d.input_tokens + d.output_tokens),
                       f"{d.input_tokens + d.output_tokens:,}") for d in shown]
        cost_rows = []
        for d in shown:
            t = per_day.get(d.day.isoformat())
            cost_rows.append((d.day.isoformat(), float(d.cost), cost_text(t) if t is not None else usd(d.cost)))
        note = f" (last {CHART_DAYS} days)" if len(days) > CHART_DAYS else ""
        out("")
        for line in chart(f"tokens per day (input + output){note}", token_rows, width):
            out(line)
        out("")
        for line in chart(f"cost per day{note}", cost_rows, width):
            out(line)

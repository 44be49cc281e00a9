"""``tui-chat stats``: tokens, cost, speed, errors and ratings over a range of UTC days.

The table groups usage by day, model, provider or conversation. Cost is what the price
catalog said when each call was made; calls to a model whose price is unknown show their
tokens and "unknown", never a made-up number. In a terminal (or with ``--chart``) a bar
chart of tokens and cost per day follows. Daily aggregates come from chat_analytics:
days not yet final (today, days computed before they ended, or all with
``--recompute``) are recomputed first, which is idempotent.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date, datetime, timedelta, timezone
from typing import Any

import click

from ..stats import DEFAULT_DAYS, bar, cost_text
from . import app_context, print_json

CHART_DAYS = 90


def parse_day(value: str, today: date, option: str) -> date:
    """YYYY-MM-DD, ``today``, ``yesterday`` or ``Nd`` (N days ago); UTC."""
    from ..stats import parse_day as parse

    try:
        return parse(value, today)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def chart(title: str, rows: list[tuple[str, float, str]], width: int) -> list[str]:
    peak = max((value for _, value, _ in rows), default=0)
    lines = [title]
    for label, value, shown in rows:
        lines.append(f"{label} │{bar(value, peak, width):<{width}} {shown}")
    return lines


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
    from ..stats import build_report

    today = datetime.now(timezone.utc).date()
    last = parse_day(until, today, "--until") if until else today
    first = parse_day(since, today, "--since") if since else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise click.UsageError(f"--since {first} is after --until {last}")
    with app_context(ctx) as app:
        report = build_report(app.storage, app.user.id, first, last, group=group, today=today, recompute=recompute)
    groups, totals, per_day, days = report.groups, report.totals, report.per_day, report.days
    up, down = report.ratings_up, report.ratings_down
    summary = {
        "response_ms": {"p50": report.response_p50, "p95": report.response_p95},
        "first_token_ms": {"p50": report.first_token_p50, "p95": report.first_token_p95},
        "errors": report.errors,
        "ratings": {"up": up, "down": down, "up_ratio": report.up_ratio},
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
        cost_rows = [(d.day.isoformat(), float(d.cost), report.day_cost_text(d)) for d in shown]
        note = f" (last {CHART_DAYS} days)" if len(days) > CHART_DAYS else ""
        out("")
        for line in chart(f"tokens per day (input + output){note}", token_rows, width):
            out(line)
        out("")
        for line in chart(f"cost per day{note}", cost_rows, width):
            out(line)

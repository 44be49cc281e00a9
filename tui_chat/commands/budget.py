"""``tui-chat budget set|list|remove``: spending and token caps per UTC day or month.

A turn that would go over a cap is refused before it starts (exit code 5 in scripted
mode). Calls to a model whose price is unknown count towards token caps but cannot
count towards spending caps; ``budget list`` says how many there were.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from . import app_context, print_json


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip().lstrip("$"))
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount of money", param_hint="--max-cost") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--max-cost")
    return amount


@click.group()
def budget() -> None:
    """Spending and token caps per day or month, for every provider or one."""


@budget.command("set")
@click.argument("period", type=click.Choice(["day", "month"]))
@click.option("--max-cost", metavar="USD", help="Spending cap in US dollars.")
@click.option("--max-tokens", type=click.IntRange(0), metavar="N", help="Token cap (input + output).")
@click.option("--provider", metavar="NAME", help="Only calls to this provider (default: all providers).")
@click.pass_context
def set_budget(ctx: click.Context, period: str, max_cost: str | None, max_tokens: int | None,
               provider: str | None) -> None:
    """Set the cap for a period (replacing the one already set for it)."""
    cost = _amount(max_cost)
    if cost is None and max_tokens is None:
        raise click.UsageError("give --max-cost USD, --max-tokens N or both")
    with app_context(ctx) as app:
        record = app.storage.budgets.set(app.user.id, period, max_cost=cost, max_tokens=max_tokens,
                                         provider=provider)
    click.echo(record.id)
    click.echo(f"{_name(record)}: {_caps(record)}", err=True)


@budget.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_budgets(ctx: click.Context, as_json: bool) -> None:
    """Budgets with what was spent so far this day or month."""
    with app_context(ctx) as app:
        rows = [(b, app.storage.usage.spend(app.user.id, b.period, b.provider)) for b in app.storage.budgets.list(app.user.id)]
    if as_json:
        print_json([{**dataclasses.asdict(b), "max_cost": _num(b.max_cost), "spent": _spent(b, s)} for b, s in rows])
        return
    if not rows:
        click.echo("no budgets; set one with: tui-chat budget set day|month --max-cost USD", err=True)
        return
    click.echo(f"{'id':<36}  {'period':<6} {'provider':<14} {'cap':<28} spent this {'period'}")
    for b, s in rows:
        used = []
        if b.max_cost is not None:
            used.append(f"{_usd(s.cost)} of {_usd(b.max_cost)}{_percent(s.cost, b.max_cost)}")
        if b.max_tokens is not None:
            used.append(f"{s.tokens:,} of {b.max_tokens:,} tokens{_percent(Decimal(s.tokens), Decimal(b.max_tokens))}")
        if s.unpriced_calls and b.max_cost is not None:
            used.append(f"+{s.unpriced_calls} call(s) with unknown price")
        click.echo(f"{b.id:<36}  {b.period:<6} {b.provider or '(all)':<14} {_caps(b):<28} {'; '.join(used)}")


@budget.command("remove")
@click.argument("budget_id")
@click.pass_context
def remove_budget(ctx: click.Context, budget_id: str) -> None:
    """Remove a budget."""
    with app_context(ctx) as app:
        app.storage.budgets.remove(app.user.id, budget_id)
    click.echo(f"removed budget {budget_id}", err=True)


def _usd(amount: Decimal) -> str:
    from storage.services.budgets import usd

    return usd(amount)


def _num(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


def _percent(spent: Decimal, cap: Decimal) -> str:
    return f" ({spent / cap:.0%})" if cap else ""


def _name(record: Any) -> str:
    period = "daily" if record.period == "day" else "monthly"
    return f"{period} budget" + (f" for {record.provider}" if record.provider else " (all providers)")


def _caps(record: Any) -> str:
    caps = []
    if record.max_cost is not None:
        caps.append(_usd(record.max_cost))
    if record.max_tokens is not None:
        caps.append(f"{record.max_tokens:,} tokens")
    return " and ".join(caps)


def _spent(record: Any, spend: Any) -> dict[str, Any]:
    return {"since": spend.since.isoformat(), "until": spend.until.isoformat(), "cost_usd": float(spend.cost),
            "tokens": spend.tokens, "calls": spend.calls, "unpriced_calls": spend.unpriced_calls}

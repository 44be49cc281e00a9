"""The budgets section of the settings: spend and token caps per UTC day or month, for
every provider or one. The same service as ``tui-chat budget set|list|remove``; each
change is saved at once (not with the rest of the settings)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static

from ..widgets.status import SpendGauge, format_cost

PERIODS = [("daily", "day"), ("monthly", "month")]
KINDS = [("spend (USD)", "cost"), ("tokens", "tokens")]


def parse_cap(kind: str, text: str) -> Decimal | int:
    """A cap typed by the user: dollars (``$5``, ``0.50``) or a whole number of tokens."""
    text = text.strip().lstrip("$").replace(",", "").replace("_", "")
    if not text:
        raise ValueError("Type the cap: an amount in US dollars, or a number of tokens.")
    if kind == "tokens":
        multiplier = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
        number = text[:-1] if multiplier > 1 else text
        try:
            value = Decimal(number) * multiplier
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number of tokens.") from None
        if value < 0 or value != value.to_integral_value():
            raise ValueError("A token cap is a whole number, 0 or more.")
        return int(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount of money.") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("A spending cap is 0 or more US dollars.")
    return amount


def describe(budget: Any, spend: Any, kind: str) -> Content:
    period = "Daily" if budget.period == "day" else "Monthly"
    scope = budget.provider or "all providers"
    when = "today" if budget.period == "day" else "this month"
    if kind == "cost":
        cap, spent = format_cost(budget.max_cost), format_cost(spend.cost)
        gauge = SpendGauge(budget.period, spend.cost, budget.max_cost)
    else:
        cap, spent = f"{budget.max_tokens:,} tokens", f"{spend.tokens:,}"
        gauge = SpendGauge(budget.period, spend.tokens, budget.max_tokens, tokens=True)
    return Content.assemble((f"{period} · {scope} · ", ""), (cap, "bold"), (f"  {spent} {when}", gauge.style))


class BudgetEditor(Vertical):
    """Lists the caps with a Remove button each, and a row to add one."""

    DEFAULT_CSS = """
    BudgetEditor { height: auto; }
    BudgetEditor #budget-list { height: auto; }
    BudgetEditor .budget-row { height: 1; margin-top: 1; }
    BudgetEditor .budget-row > Static { width: 1fr; }
    BudgetEditor #budget-new { height: 1; margin-top: 1; }
    BudgetEditor #budget-new > Select { width: 14; margin-right: 1; }
    BudgetEditor #budget-new > Input { width: 1fr; margin-right: 1; }
    BudgetEditor #budget-empty { margin-top: 1; color: $text-muted; }
    BudgetEditor #budget-error { color: $text-error; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Vertical(id="budget-list")
        with Horizontal(id="budget-new"):
            yield Select(PERIODS, value="day", id="budget-period", allow_blank=False, compact=True)
            yield Select(KINDS, value="cost", id="budget-kind", allow_blank=False, compact=True)
            yield Input(placeholder="cap: $ or tokens", id="budget-amount", compact=True)
            yield Input(placeholder="all providers", id="budget-provider", compact=True)
            yield Button("Add cap", id="budget-add", compact=True)
        yield Label("", id="budget-error")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        app: Any = self.app
        app.spawn(self._load(), name="list the budgets", group="settings-budgets", exclusive=True)

    async def _load(self) -> None:
        app: Any = self.app
        services = app.services
        storage, uid = services.storage, services.user_id

        def read() -> list[tuple[Any, Any]]:
            return [(b, storage.usage.spend(uid, b.period, b.provider)) for b in storage.budgets.list(uid)]

        rows = await app.io(read)
        listing = self.query_one("#budget-list", Vertical)
        await listing.remove_children()
        widgets: list[Any] = []
        for budget, spend in rows:
            for kind in ("cost", "tokens"):
                if (budget.max_cost if kind == "cost" else budget.max_tokens) is None:
                    continue
                widgets.append(Horizontal(
                    Static(describe(budget, spend, kind), markup=False),
                    Button("Remove", name=f"{budget.id}:{kind}", classes="budget-remove", compact=True),
                    classes="budget-row",
                ))
        if not widgets:
            widgets.append(Label("No caps: nothing limits spending.", id="budget-empty"))
        await listing.mount_all(widgets)

    # --- adding and removing -------------------------------------------------------------

    @on(Button.Pressed, "#budget-add")
    @on(Input.Submitted, "#budget-amount, #budget-provider")
    def _add(self, event: Any) -> None:
        event.stop()
        kind = str(self.query_one("#budget-kind", Select).value)
        period = str(self.query_one("#budget-period", Select).value)
        try:
            cap = parse_cap(kind, self.query_one("#budget-amount", Input).value)
        except ValueError as exc:
            self._error(str(exc))
            return
        provider = self.query_one("#budget-provider", Input).value.strip() or None
        app: Any = self.app
        app.spawn(self._save(period, kind, cap, provider), name="save the budget", group="settings-budgets-save")

    async def _save(self, period: str, kind: str, cap: Decimal | int, provider: str | None) -> None:
        app: Any = self.app
        services = app.services
        storage, uid = services.storage, services.user_id

        def save() -> Any:
            current = next((b for b in storage.budgets.list(uid) if b.period == period and b.provider == provider),
                           None)
            max_cost = cap if kind == "cost" else (current.max_cost if current else None)
            max_tokens = cap if kind == "tokens" else (current.max_tokens if current else None)
            return storage.budgets.set(uid, period, max_cost=max_cost, max_tokens=max_tokens, provider=provider)

        try:
            await app.io(save)
        except ValueError as exc:  # storage's ValidationError
            self._error(str(exc))
            return
        self._error("")
        self.query_one("#budget-amount", Input).value = ""
        app.notify("Budget saved.")
        await self._load()

    @on(Button.Pressed, ".budget-remove")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        budget_id, kind = str(event.button.name).rsplit(":", 1)
        app: Any = self.app
        app.spawn(self._drop(budget_id, kind), name="remove the budget", group="settings-budgets-save")

    async def _drop(self, budget_id: str, kind: str) -> None:
        app: Any = self.app
        services = app.services
        storage, uid = services.storage, services.user_id

        def drop() -> None:
            budget = next((b for b in storage.budgets.list(uid) if b.id == budget_id), None)
            if budget is None:
                return
            other = budget.max_tokens if kind == "cost" else budget.max_cost
            if other is None:
                storage.budgets.remove(uid, budget_id)
            else:  # keep the budget's other cap
                storage.budgets.set(uid, budget.period, provider=budget.provider,
                                    max_cost=None if kind == "cost" else budget.max_cost,
                                    max_tokens=None if kind == "tokens" else budget.max_tokens)

        await app.io(drop)
        app.notify("Budget cap removed.")
        await self._load()

    def _error(self, text: str) -> None:
        self.query_one("#budget-error", Label).update(text)

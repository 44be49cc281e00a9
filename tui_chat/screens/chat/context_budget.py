"""Context and budgets on the chat screen: the context view, /compact, and the spend
against the tightest budget cap on the status line."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...widgets.status import SpendGauge

if TYPE_CHECKING:
    from ...app import ChatApp
    from .screen import ChatScreen

COMPACT = re.compile(r"^\s*/compact(?:\s+(\d{1,4}))?\s*$")
KEEP_RECENT = 4


def spend_gauge(check: Any) -> SpendGauge | None:
    """The gauge for a budget check: the cap (spend or tokens) with the least room left."""
    budget = check.budget
    if budget is None:
        return None
    gauges = []
    if budget.max_cost is not None:
        gauges.append(SpendGauge(budget.period, check.spent, budget.max_cost))
    if budget.max_tokens is not None:
        gauges.append(SpendGauge(budget.period, check.spent_tokens, budget.max_tokens, tokens=True))
    return max(gauges, key=lambda g: g.ratio) if gauges else None


def budget_refusal(message: str) -> str:
    """What a turn refused by a budget says in the conversation."""
    return (f"Not sent: {message}. Raise or remove the cap in Settings (F2) or with `tui-chat budget`, "
            f"or wait for the next UTC day or month; Retry sends it again.")


class ContextBudgetController:
    def __init__(self, screen: "ChatScreen") -> None:
        self.screen = screen

    @property
    def app(self) -> "ChatApp":
        return self.screen.app  # type: ignore[return-value]

    # --- the context view ------------------------------------------------------------

    def open_view(self) -> None:
        from ..context import ContextScreen

        screen = self.screen
        conversation_id = screen.conversation.id if screen.conversation is not None else None
        draft = screen.prompt.expanded_text()
        overrides = {} if conversation_id else dict(screen.draft)
        self.app.push_screen(ContextScreen(conversation_id, draft, overrides), self._view_closed)

    def _view_closed(self, record: Any) -> None:
        if record is not None:
            self.screen.conversation_changed(record)

    # --- /compact --------------------------------------------------------------------

    def handle_command(self, text: str) -> bool:
        """Run a slash command typed in the prompt; False when ``text`` is not one."""
        match = COMPACT.match(text)
        if match is None:
            return False
        self.compact(int(match.group(1)) if match.group(1) else KEEP_RECENT)
        return True

    def compact(self, keep_recent: int = KEEP_RECENT) -> None:
        screen = self.screen
        if screen.turns.running:
            self.app.notify("Wait for the answer to finish (or press Escape) before compacting.", severity="warning")
            return
        if screen.conversation is None:
            self.app.notify("Nothing to compact: no conversation is open.", severity="warning")
            return
        self.app.spawn(self._compact(screen.conversation.id, keep_recent), name="compact the conversation",
                       group="compact", exclusive=True)

    async def _compact(self, conversation_id: str, keep_recent: int) -> None:
        app, screen = self.app, self.screen
        services = app.services
        status = screen.status
        status.update_state(activity="starting", detail="summarising older turns")
        engine = await app.io(services.engine, app.approve_tool)
        try:
            built, optimization = await engine.compact(conversation_id, keep_recent=keep_recent)
        except Exception as exc:  # noqa: BLE001 - a provider error: shown where the user looks
            status.update_state(activity="error", detail="")
            screen.chat.add_error(f"Could not compact: {exc}", None)
            app.notify(str(exc), title="Could not compact", severity="error", timeout=10)
            return
        status.update_state(activity="idle", detail="", context_tokens=built.tokens, context_window=built.window)
        if optimization is None:
            text = f"Nothing to compact: the conversation already fits in {keep_recent} recent messages."
            app.notify(text)
            screen.chat.add_notice(text)
            return
        rows = await app.io(services.storage.context.list, services.user_id, conversation_id)
        row = rows[-1]
        text = (f"Compacted: {len(row.affected_message_ids):,} older messages summarised; context "
                f"{row.tokens_before:,} → {row.tokens_after:,} tokens ({len(built.messages)} messages kept).")
        app.notify(text, title="Conversation compacted")
        screen.chat.add_notice(text)
        record = await app.io(services.storage.conversations.get, services.user_id, conversation_id)
        screen.conversation_changed(record)
        self.refresh_spend()

    # --- spend against the budget ----------------------------------------------------

    def refresh_spend(self) -> None:
        self.app.spawn(self._refresh_spend(), name="read the budgets", group="spend", exclusive=True)

    async def _refresh_spend(self) -> None:
        app, screen = self.app, self.screen
        services = app.services
        if not services.ready:
            return
        provider = screen.status.state.provider
        if not provider and screen.conversation is not None:
            provider = screen.conversation.provider or ""
        check = await app.io(services.storage.budgets.check, services.user_id, provider or "")
        screen.status.update_state(spend=spend_gauge(check))

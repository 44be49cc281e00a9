"""Turns: one exclusive worker iterates the engine's events and renders them.

The engine stores everything as it goes; this module only shows it. Escape cancels
the worker's task, which makes the engine mark the answer cancelled and keep its text.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...widgets.message import MessageData, MessageView

if TYPE_CHECKING:
    from textual.worker import Worker

    from ...app import ChatApp
    from .screen import ChatScreen


@dataclass
class TurnPlan:
    """What to ask the engine for, and how the screen already shows it."""

    prompt: str
    conversation_id: str | None
    regenerate_from: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # provider, model, system, settings
    user_view: MessageView | None = None
    cleanup: Any = None  # blocking callable run after the turn (edit placeholder removal)


class TurnController:
    def __init__(self, screen: "ChatScreen") -> None:
        self.screen = screen
        self.worker: "Worker[None] | None" = None
        self.current: MessageView | None = None

    @property
    def app(self) -> "ChatApp":
        return self.screen.app  # type: ignore[return-value]

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def start(self, plan: TurnPlan) -> bool:
        if self.running:
            self.app.notify("An answer is still being written: wait, or press Escape to stop it.",
                            severity="warning")
            return False
        self.worker = self.app.spawn(self._run(plan), name="answer", group="turn", exclusive=True)
        return True

    def cancel(self) -> bool:
        if self.running and self.worker is not None:
            self.worker.cancel()
            return True
        return False

    # --- the worker --------------------------------------------------------------------

    async def _run(self, plan: TurnPlan) -> None:
        app, screen = self.app, self.screen
        status = screen.status
        status.update_state(activity="starting", detail="")
        services = app.services
        await app.io(services.open)
        engine = await app.io(services.engine, app.approve_tool)
        from ...engine.turn import TurnRequest

        request = TurnRequest(
            prompt=plan.prompt, conversation_id=plan.conversation_id, regenerate_from=plan.regenerate_from,
            session_id=services.session_id, window_id=services.window_id, source="tui", **plan.overrides,
        )
        started = time.monotonic()
        conversation_id = plan.conversation_id
        self.current = None
        chars = 0
        last_rate = started
        cost = status.state.cost
        model = ""
        finished_ok = False
        try:
            async with aclosing(engine.run(request)) as events:
                async for event in events:
                    kind = event.type
                    if kind == "text":
                        if self.current is None:
                            self.current = screen.chat.add_message(
                                MessageData(None, "assistant", model=model, created_at=app.clock()), streaming=True)
                        self.current.append(event.text)
                        chars += len(event.text)
                        now = time.monotonic()
                        if now - last_rate > 0.5:
                            last_rate = now
                            status.update_state(activity="streaming",
                                                detail=f"{chars / 4 / max(now - started, 0.001):.0f} tok/s")
                    elif kind == "reasoning":
                        if self.current is not None:
                            self.current.append_reasoning(event.text)
                    elif kind == "turn_started":
                        conversation_id = event.conversation_id
                        model = event.model
                        if plan.user_view is not None and event.user_message_id:
                            plan.user_view.set_id(event.user_message_id)
                        status.update_state(provider=event.provider, model=event.model)
                        if event.new_conversation:
                            screen.conversation_created(event.conversation_id)
                    elif kind == "context":
                        status.update_state(context_tokens=event.tokens, context_window=event.window)
                    elif kind == "response_started":
                        if plan.cleanup is not None:
                            cleanup, plan.cleanup = plan.cleanup, None
                            await app.io(cleanup)
                        self.current = screen.chat.add_message(
                            MessageData(event.message_id, "assistant", model=model, created_at=app.clock()),
                            streaming=True)
                        status.update_state(activity="streaming", detail="")
                    elif kind == "retrying":
                        status.update_state(activity="retrying",
                                            detail=f"attempt {event.attempt + 1} in {event.delay:.0f} s: {event.reason}")
                    elif kind == "tool_call":
                        self._tool_line(f"⚙ {event.name} {_short(event.arguments)} (risk: {event.risk})")
                    elif kind == "tool_decision":
                        verdict = "approved" if event.approved else "denied"
                        self._tool_line(f"  {verdict} by {event.decided_by}: {event.reason}",
                                        "$text-success" if event.approved else "$text-warning")
                    elif kind == "tool_result":
                        self._tool_line(f"  → {_short(event.output, 200)}",
                                        "$text-error" if event.is_error else "$foreground-muted")
                    elif kind == "usage":
                        if event.cost_usd is not None and cost is not None:
                            cost = cost + Decimal(str(event.cost_usd))
                            status.update_state(cost=cost)
                    elif kind == "response_finished":
                        if self.current is not None:
                            self.current.finish(event.status)
                    elif kind == "error":
                        self._show_error(event, plan)
                    elif kind == "turn_finished":
                        finished_ok = event.status in ("done", "stopped")
                        if event.stop_reason:
                            app.notify(f"Stopped: {event.stop_reason.replace('_', ' ')}", severity="warning")
            status.update_state(activity="idle" if finished_ok else "error", detail="")
        except asyncio.CancelledError:
            if self.current is not None and self.current.streaming:
                self.current.finish("cancelled")
            status.update_state(activity="cancelled", detail="")
            raise
        finally:
            if plan.cleanup is not None:
                app.spawn(app.io(plan.cleanup), name="tidy up the edit", group="tidy")
            self.current = None
            if conversation_id is not None:
                screen.turn_finished(conversation_id, time.monotonic() - started)

    def _tool_line(self, text: str, style: str = "$foreground-muted") -> None:
        if self.current is not None:
            self.current.add_tool_line(text, style)

    def _show_error(self, event: Any, plan: TurnPlan) -> None:
        view = self.current
        if view is not None and (event.message_id in (None, view.data.id)):
            view.finish("error", event.message)
        elif event.message_id is not None and (found := self.screen.chat.find(event.message_id)) is not None:
            found.finish("error", event.message)
        else:
            retry = plan.prompt if plan.regenerate_from is None else None
            self.screen.chat.add_error(event.message, retry)


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

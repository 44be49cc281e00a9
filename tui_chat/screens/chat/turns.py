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

from ...widgets.message import MessageData, MessageView, ToolCallData, ToolEntry

#: How a stopped turn is described in its notification.
STOP_REASONS = {"budget": "a budget cap was reached", "max_turns": "too many tool steps",
                "max_cost": "the cost limit was reached", "policy": "the tool policy stopped the run",
                "context": "the conversation no longer fits the model's window"}

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
        self.tool_entries: dict[str, ToolEntry] = {}  # by execution id, for the running turn

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
        app.streaming_started()
        # A steady cursor while the answer streams: every blink repaints the prompt.
        prompt = screen.prompt
        blink, prompt.cursor_blink = prompt.cursor_blink, False
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
                        self._tool_requested(event)
                    elif kind == "approval_needed":
                        self._tool_update(event.execution_id, status="waiting", reason=event.reason)
                    elif kind == "tool_decision":
                        self._tool_update(event.execution_id, status="running" if event.approved else "denied",
                                          decided_by=event.decided_by, reason=event.reason)
                    elif kind == "tool_result":
                        await self._tool_finished(event)
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
                            reason = STOP_REASONS.get(event.stop_reason, event.stop_reason.replace("_", " "))
                            app.notify(f"Stopped: {reason}", severity="warning")
            status.update_state(activity="idle" if finished_ok else "error", detail="")
        except asyncio.CancelledError:
            if self.current is not None and self.current.streaming:
                self.current.finish("cancelled")
            for entry in self.tool_entries.values():
                if entry.call.status in ("requested", "waiting", "running"):
                    entry.update_call(status="cancelled")
            status.update_state(activity="cancelled", detail="")
            raise
        finally:
            app.streaming_stopped()
            prompt.cursor_blink = blink
            if plan.cleanup is not None:
                app.spawn(app.io(plan.cleanup), name="tidy up the edit", group="tidy")
            self.current = None
            self.tool_entries = {}
            if conversation_id is not None:
                screen.turn_finished(conversation_id, time.monotonic() - started)

    # --- tool calls: one collapsed entry each, under the answer that made them ------------

    def _tool_requested(self, event: Any) -> None:
        if self.current is None:
            return
        call = ToolCallData(event.call_id, event.name, event.arguments, execution_id=event.execution_id,
                            risk=event.risk)
        self.tool_entries[event.execution_id] = self.current.add_tool(call)

    def _tool_update(self, execution_id: str, **changes: Any) -> None:
        entry = self.tool_entries.get(execution_id)
        if entry is not None:
            entry.update_call(**changes)

    async def _tool_finished(self, event: Any) -> None:
        entry = self.tool_entries.get(event.execution_id)
        if entry is None:
            return
        status = "denied" if entry.call.status == "denied" else "error" if event.is_error else "done"
        entry.update_call(status=status, result=event.output, is_error=event.is_error)
        from storage import StorageError

        services = self.app.services
        try:  # the stored row also knows the arguments as edited in the prompt and the note
            execution = await self.app.io(services.storage.tools.get, services.user_id, event.execution_id)
        except StorageError:  # the entry already shows what the events said
            return
        entry.call.apply_execution(execution)
        entry.refresh_call(status)

    def _show_error(self, event: Any, plan: TurnPlan) -> None:
        if event.kind == "budget":
            self._show_budget_refusal(event, plan)
            return
        view = self.current
        if view is not None and (event.message_id in (None, view.data.id)):
            view.finish("error", event.message)
        elif event.message_id is not None and (found := self.screen.chat.find(event.message_id)) is not None:
            found.finish("error", event.message)
        else:
            retry = plan.prompt if plan.regenerate_from is None else None
            self.screen.chat.add_error(event.message, retry)

    def _show_budget_refusal(self, event: Any, plan: TurnPlan) -> None:
        """A budget cap stopped the turn: before it began (nothing was sent or stored),
        or between the steps of a tool loop (what was answered is kept)."""
        from .context_budget import budget_refusal

        if self.current is None:
            retry = plan.prompt if plan.regenerate_from is None else None
            self.screen.chat.add_error(budget_refusal(event.message), retry)
        else:
            self.screen.chat.add_error(f"Stopped before the next step: {event.message}. What was answered is kept; "
                                       f"raise or remove the cap in Settings (F2) to go on.", None)


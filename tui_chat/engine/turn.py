"""One engine runs every turn, for the TUI and scripted mode alike.

``ChatEngine.run(request)`` is an async iterator of :mod:`events`: it prepares the
conversation, stores the user message, builds the context, streams the answer (stored
as it streams), runs the tool loop through the policy and the approval function,
records usage and cost, and finishes. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

from ..providers.base import (
    ChatMessage,
    ChatRequest,
    ProviderError,
    ReasoningDelta as PReasoning,
    StreamFinished,
    TextDelta as PText,
    ToolCall,
    ToolCallReady,
    UsageReport,
)
from . import events as ev
from .context import ContextBuilder, ContextFull, ContextLimits, ContextTooLarge
from .tokens import estimate_tokens
from .tooling import ApprovalDecision, ApprovalRequest, ApproveFn, ToolContext, ToolRuntime, deny_all
from .writer import StreamWriter

if TYPE_CHECKING:
    from storage import Storage

    from .directory import ProviderDirectory

log = logging.getLogger(__name__)

#: After summarising, the newest turns fill at most this share of the budget.
SUMMARY_HEADROOM = 0.6
#: Once the answer had to be waited for, wait this much longer before reading on (see
#: :func:`batched_reads`). Far below what a reader notices; the TUI paints every 75 ms.
READ_WINDOW = 0.06
#: A wait for the next event longer than this is a wait on the network (or the loop)...
_NETWORK_WAIT = 0.002
#: ...and when at most this many events came since the previous one, the answer arrives
#: at its own pace. A backlog read in 64 KB gulps brings hundreds of events per wait.
_PACED_RUN = 32
REMEMBER = re.compile(r"^\s*remember that\s+(.{3,2000})$", re.IGNORECASE | re.DOTALL)
TITLE_PROMPT = (
    "Write a short title (at most 6 words, no quotes, no trailing punctuation) for a conversation "
    "that starts with this message:\n\n"
)


@dataclass
class TurnRequest:
    prompt: str
    conversation_id: str | None = None
    provider: str | None = None
    model: str | None = None
    system: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, ...
    parts: list[dict[str, Any]] = field(default_factory=list)  # attachments etc.
    regenerate_from: str | None = None  # an assistant message to answer again (a sibling)
    max_turns: int = 10
    max_cost: Decimal | None = None
    source: str = "tui"  # tui | cli
    workspace: str = "."
    session_id: str | None = None
    window_id: str | None = None


_T = TypeVar("_T")


async def batched_reads(events: AsyncIterator[_T], window: float) -> AsyncIterator[_T]:
    """``events``, but when they come at their own pace, wait ``window`` seconds after
    one that had to be waited for before asking for the next.

    A model answering at reading pace sends a token every few milliseconds, each in its
    own network packet: reading them one by one wakes the process up for every token, and
    each wake-up (event loop, HTTP client, SSE parser) costs far more than the token. The
    pause lets the tokens that arrive meanwhile pile up in the socket and be read in one
    go. An answer that comes faster than it is read (a fast model, a burst, a backlog)
    arrives in long runs of events between waits, and is read without pauses. ``window``
    0 turns this off.
    """
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        if window <= 0:
            async for event in events:
                yield event
            return
        clock = time.monotonic
        iterator = aiter(events)
        run = 0  # events since the last wait on the network
        while True:
            asked = clock()
            try:
                event = await anext(iterator)
            except StopAsyncIteration:
                return
            waited = clock() - asked
            run += 1
            yield event
            if waited > _NETWORK_WAIT:
                paced = run <= _PACED_RUN
                run = 0
                if paced:
                    await asyncio.sleep(window)


@dataclass
class RetryPolicy:
    attempts: int = 4  # tries in all, before the first token
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return min(self.base_delay * 2 ** (attempt - 1) * (1 + random.random() * 0.25), self.max_delay)


class ChatEngine:
    def __init__(
        self,
        storage: "Storage",
        user_id: str,
        providers: "ProviderDirectory",
        *,
        tools: ToolRuntime | None = None,
        approve: ApproveFn = deny_all,
        retry: RetryPolicy | None = None,
        flush_interval: float = 0.5,
        interactive: bool = True,
        read_window: float = READ_WINDOW,
    ) -> None:
        self.storage = storage
        self.user_id = user_id
        self.providers = providers
        self.tools = tools
        self.approve = approve
        self.retry = retry or RetryPolicy()
        self.flush_interval = flush_interval
        self.interactive = interactive
        self.read_window = read_window

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # --- the turn --------------------------------------------------------------------

    async def run(self, request: TurnRequest) -> AsyncIterator[ev.EngineEvent]:
        storage, uid = self.storage, self.user_id
        try:
            if not request.conversation_id:
                # A new conversation is created only for a turn the budget allows: a
                # refused first prompt leaves nothing behind.
                refused = await self._over_budget(request.provider or await self._db(self.providers.default_name))
                if refused:
                    for event in _stopped("budget", refused, None):
                        yield event
                    return
            conversation, new = await self._db(self._prepare_conversation, request)
            provider_name = request.provider or conversation.provider
            model = request.model or conversation.model
            settings = await self._db(self.providers.settings, provider_name)
            provider = self.providers.get(provider_name)
            limits = await self._db(self._limits, settings.kind, model, conversation)
        except ProviderError as exc:
            yield ev.TurnError(exc.kind, str(exc))
            return
        if (conversation.meta.get("shared") or {}).get("read_only") or conversation.context.get("read_only"):
            for event in _stopped("policy", "this conversation was shared with you read-only; start a new "
                                            "conversation or ask the owner for a writable share", conversation.id):
                yield event
            return
        refused = None if new else await self._over_budget(provider_name)  # a new one was checked above
        if refused:
            for event in _stopped("budget", refused, conversation.id):
                yield event
            return

        user_message_id = None
        self._last_optimization = None
        remembered = REMEMBER.match(request.prompt) if request.regenerate_from is None else None
        if remembered:
            await self._db(storage.memories.add, uid, remembered.group(1).strip(), source_conversation_id=conversation.id)
        if request.regenerate_from is None:
            user_parts = [{"type": "text", "text": request.prompt}, *request.parts]
            user_message = await self._db(
                storage.messages.add, uid, conversation.id, role="user", content=request.prompt,
                parts=user_parts,
            )
            user_message_id = user_message.id
            parent_id = user_message.id
        else:
            regenerated = await self._db(storage.messages.get, uid, request.regenerate_from)
            parent_id = regenerated.parent_id
        yield ev.TurnStarted(conversation.id, user_message_id, provider_name, model, new)
        if new and request.source == "cli":
            await self._db(storage.conversations.set_generated_title, uid, conversation.id, heuristic_title(request.prompt))

        tool_context = ToolContext(uid, conversation.id, request.workspace, self.interactive)
        generation = {**conversation.settings, **request.settings}
        totals = {"input": 0, "output": 0, "cached": 0}
        cost_total: Decimal | None = Decimal(0)
        tool_log: list[dict[str, Any]] = []
        text = ""
        finish_reason = "stop"
        last_message_id: str | None = None
        context_info: dict[str, Any] = {}
        steps = 0
        stop_reason: str | None = None
        while True:
            if steps >= request.max_turns:
                stop_reason = "max_turns"
                break
            steps += 1
            try:
                built = await self._context(conversation.id, parent_id, model, limits, generation, request.prompt,
                                            provider_name, "token_limit")
            except (ContextTooLarge, ContextFull) as exc:
                yield ev.TurnError("context", str(exc))
                yield ev.TurnFinished(conversation.id, None, "", "error", "stopped" if isinstance(exc, ContextFull)
                                      else "error", steps=steps, stop_reason="context" if isinstance(exc, ContextFull)
                                      else None)
                return
            yield ev.ContextBuilt(built.tokens, built.window, len(built.messages), built.dropped,
                                  self._last_optimization, list(built.memory_ids), built.exact)
            context_info = {"tokens": built.tokens, "window": built.window, "messages": len(built.messages),
                            "dropped": built.dropped, "optimization": self._last_optimization}
            chat_request = ChatRequest(
                model=model, messages=built.messages, system=built.system,
                tools=tuple(self.tools.specs()) if self.tools else (),
                temperature=generation.get("temperature"), max_tokens=generation.get("max_tokens"),
                top_p=generation.get("top_p"), frequency_penalty=generation.get("frequency_penalty"),
                presence_penalty=generation.get("presence_penalty"), stop=tuple(generation.get("stop") or ()),
                reasoning_effort=generation.get("reasoning_effort"),
            )
            assistant = await self._db(
                storage.messages.add, uid, conversation.id, role="assistant", status="pending",
                parent_id=parent_id, provider=provider_name, model=model,
                meta={"generation": generation, "context": context_info},
            )
            last_message_id = assistant.id
            yield ev.ResponseStarted(assistant.id, steps)
            outcome = _Outcome()
            writer = StreamWriter(storage, uid, assistant.id, interval=self.flush_interval)
            writer.start()
            try:
                async for event in self._stream(provider, chat_request, outcome, writer):
                    yield event
            except ProviderError as exc:
                await writer.stop()
                await self._db(self._finish_failed, assistant.id, writer, outcome, exc, provider_name, model,
                               settings.kind, conversation.id)
                yield ev.TurnError(exc.kind, str(exc), assistant.id)
                yield ev.TurnFinished(conversation.id, assistant.id, writer.text, "error", "error",
                                      steps=steps, tool_calls=tool_log)
                return
            except (asyncio.CancelledError, GeneratorExit):
                await _quietly(writer.stop())
                self._finish_cancelled(assistant.id, writer, outcome)
                raise
            await writer.stop()
            cost = await self._db(self._finish_ok, assistant.id, writer, outcome, provider_name, model,
                                  settings.kind, conversation.id)
            text = writer.text
            finish_reason = outcome.finish_reason
            for key, value in (("input", outcome.usage.input_tokens), ("output", outcome.usage.output_tokens),
                               ("cached", outcome.usage.cached_input_tokens)):
                totals[key] += value
            cost_total = None if cost is None or cost_total is None else cost_total + cost
            yield ev.Usage(assistant.id, outcome.usage.input_tokens, outcome.usage.output_tokens,
                           outcome.usage.cached_input_tokens, outcome.usage.reasoning_tokens, cost)
            yield ev.ResponseFinished(assistant.id, finish_reason, "done")
            parent_id = assistant.id
            if not outcome.tool_calls:
                break
            for call in outcome.tool_calls:
                async for event in self._run_tool(call, assistant.id, tool_context, tool_log):
                    yield event
            parent_id = await self._db(self._tip, conversation.id)
            if self.tools is not None and getattr(self.tools, "stop_reason", None):
                stop_reason = "policy"  # repeated denials: the runtime asked to stop the run
                break
            if request.max_cost is not None and cost_total is not None and cost_total > request.max_cost:
                stop_reason = "max_cost"
                break
            refused = await self._over_budget(provider_name)
            if refused:
                stop_reason = "budget"
                yield ev.TurnError("budget", refused)
                break
        if request.max_cost is not None and cost_total is not None and cost_total > request.max_cost:
            stop_reason = stop_reason or "max_cost"
        yield ev.TurnFinished(
            conversation.id, last_message_id, text, finish_reason, "stopped" if stop_reason else "done",
            input_tokens=totals["input"], output_tokens=totals["output"], cached_input_tokens=totals["cached"],
            cost_usd=cost_total, tool_calls=tool_log, steps=steps, stop_reason=stop_reason,
            context=context_info,
        )

    # --- streaming -------------------------------------------------------------------

    async def _stream(self, provider: Any, request: ChatRequest, outcome: "_Outcome",
                      writer: StreamWriter) -> AsyncIterator[ev.EngineEvent]:
        attempt = 0
        while True:
            attempt += 1
            outcome.started = time.monotonic()
            try:
                async for event in batched_reads(provider.stream(request), self.read_window):
                    if isinstance(event, PText):
                        if outcome.first_token is None:
                            outcome.first_token = time.monotonic()
                        writer.add(event.text)
                        yield ev.TextDelta(event.text)
                    elif isinstance(event, PReasoning):
                        if outcome.first_token is None:
                            outcome.first_token = time.monotonic()
                        if event.signature:
                            outcome.reasoning_signature = event.signature
                        if event.text:
                            outcome.reasoning.append(event.text)
                            yield ev.ReasoningDelta(event.text)
                    elif isinstance(event, ToolCallReady):
                        if outcome.first_token is None:
                            outcome.first_token = time.monotonic()
                        outcome.tool_calls.append(event.call)
                    elif isinstance(event, UsageReport):
                        outcome.usage = event
                    elif isinstance(event, StreamFinished):
                        outcome.finish_reason = event.finish_reason
                outcome.ended = time.monotonic()
                return
            except ProviderError as exc:
                if outcome.first_token is not None or not exc.retryable or attempt >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt, exc.retry_after)
                yield ev.Retrying(attempt, delay, str(exc))
                await asyncio.sleep(delay)

    # --- tools -----------------------------------------------------------------------

    async def _run_tool(self, call: ToolCall, message_id: str, context: ToolContext,
                        tool_log: list[dict[str, Any]]) -> AsyncIterator[ev.EngineEvent]:
        storage, uid = self.storage, self.user_id
        try:
            arguments = json.loads(call.arguments or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("arguments must be a JSON object")
            bad_arguments = None
        except ValueError as exc:
            arguments, bad_arguments = {}, f"the arguments are not valid JSON: {exc}"
        known = self.tools is not None and any(s.name == call.name for s in self.tools.specs())
        source = self.tools.source_of(call.name) if known and self.tools else "unknown"
        if known and self.tools and bad_arguments is None:
            outcome = await self.tools.evaluate(call.name, arguments, context)
        else:
            from .tooling import PolicyOutcome

            reason = bad_arguments or f"no tool named {call.name!r} is available"
            outcome = PolicyOutcome("deny", "high", reason, decided_by="policy")
        name = self.tools.display_name(call.name) if known and self.tools else call.name
        execution = await self._db(storage.tools.request, uid, context.conversation_id, message_id, call.id,
                                   name, source, arguments, outcome.risk)
        yield ev.ToolCallRequested(execution.id, call.id, name, arguments, outcome.risk)
        decision: ApprovalDecision
        if outcome.action == "allow":
            decision = ApprovalDecision(True, decided_by=outcome.decided_by)
        elif outcome.action == "deny":
            decision = ApprovalDecision(False, note=outcome.reason, decided_by=outcome.decided_by)
        else:
            yield ev.ApprovalNeeded(execution.id, call.name, outcome.reason)
            decision = await self.approve(ApprovalRequest(execution.id, call.name, arguments, outcome))
            edited = decision.edited_arguments
            if decision.approved and edited is not None and edited != arguments and self.tools is not None:
                # The user approved what they wrote: the policy's refusals still hold for it
                # (a deny rule, a path outside the workspace), its questions are answered.
                recheck = await self.tools.evaluate(call.name, edited, context)
                if recheck.action == "deny":
                    shown = json.dumps(edited, ensure_ascii=False)
                    shown = shown if len(shown) <= 200 else shown[:199] + "…"
                    outcome = replace(recheck, reason=f"the edited arguments {shown}: {recheck.reason}")
                    decision = ApprovalDecision(False, decided_by=recheck.decided_by)
        run_arguments = decision.edited_arguments if decision.edited_arguments is not None else arguments
        await self._db(storage.tools.decide, uid, execution.id, approved=decision.approved,
                       decided_by=decision.decided_by, rule_id=outcome.rule_id,
                       reason=outcome.reason,  # for the user's decisions: why they were asked
                       approved_parameters=decision.edited_arguments, denial_note=decision.note)
        yield ev.ToolDecided(execution.id, name, decision.approved, decision.decided_by, outcome.reason)
        if decision.approved and decision.remember is not None and self.tools is not None:
            await self.tools.remember(call.name, run_arguments, decision.remember, context)
        if not decision.approved:
            text = f"The tool call was denied ({outcome.reason})."
            if decision.note:
                text += f" Note from the user: {decision.note}"
            output_text, is_error = text, True
        else:
            assert self.tools is not None
            await self._db(storage.tools.start, uid, execution.id)
            try:
                output = await self.tools.execute(call.name, run_arguments, context)
            except Exception as exc:  # a tool's failure is reported to the model, never a crash
                await self._db(storage.tools.fail, uid, execution.id, f"{type(exc).__name__}: {exc}")
                output_text, is_error = f"The tool failed: {type(exc).__name__}: {exc}", True
            else:
                if output.is_error:
                    await self._db(storage.tools.fail, uid, execution.id, output.text)
                else:
                    await self._db(storage.tools.complete, uid, execution.id,
                                   output.data if output.data is not None else output.text,
                                   cost=Decimal(str(output.cost)) if output.cost is not None else None)
                output_text, is_error = output.text, output.is_error
        await self._db(
            storage.messages.add, uid, context.conversation_id, role="tool", content=output_text,
            content_type="tool_result",
            parts=[{"type": "tool_result", "tool_call_id": call.id, "name": call.name, "content": output_text,
                    "is_error": is_error, "execution_id": execution.id}],
        )
        tool_log.append({"id": call.id, "name": name, "arguments": run_arguments,
                         "approved": decision.approved, "is_error": is_error})
        yield ev.ToolResult(execution.id, call.id, name, output_text, is_error)

    # --- storage steps (run in a worker thread) --------------------------------------

    async def _over_budget(self, provider_name: str) -> str | None:
        """Why a turn with ``provider_name`` would exceed a budget cap, or None."""
        check = await self._db(self.storage.budgets.check, self.user_id, provider_name)
        return None if check.allowed else check.message

    def _prepare_conversation(self, request: TurnRequest) -> tuple[Any, bool]:
        storage, uid = self.storage, self.user_id
        if request.conversation_id:
            conversation = storage.conversations.get(uid, request.conversation_id)
            changes: dict[str, Any] = {}
            if request.provider and request.provider != conversation.provider:
                changes["provider"] = request.provider
            if request.model and request.model != conversation.model:
                changes["model"] = request.model
            if request.system is not None and request.system != conversation.system_prompt:
                changes["system_prompt"] = request.system
            if changes:
                conversation = storage.conversations.update(uid, conversation.id, **changes)
            if not conversation.provider or not conversation.model:
                provider = conversation.provider or self.providers.default_name()
                model = conversation.model or self.providers.default_model(provider)
                conversation = storage.conversations.update(uid, conversation.id, provider=provider, model=model)
            return conversation, False
        provider = request.provider or self.providers.default_name()
        model = request.model or self.providers.default_model(provider)
        conversation = storage.conversations.create(
            uid, provider=provider, model=model, system_prompt=request.system, settings=request.settings,
            session_id=request.session_id, window_id=request.window_id,
            context={"cwd": request.workspace, "source": request.source},
        )
        return conversation, True

    def _tool_schema_tokens(self) -> int:
        """About how many tokens the schemas of the tools offered to the model take."""
        return estimate_tokens(json.dumps([s.parameters for s in self.tools.specs()])) if self.tools else 0

    def _limits(self, kind: str, model: str, conversation: Any) -> ContextLimits:
        entry = self.storage.catalog.get(kind, model)
        window = conversation.context_window or (entry.context_window if entry else None) or ContextLimits.window
        return ContextLimits(window=window, max_output=entry.max_output_tokens if entry else None)

    def _tip(self, conversation_id: str) -> str | None:
        return self.storage.conversations.get(self.user_id, conversation_id).current_message_id

    def _final_parts(self, writer: StreamWriter, outcome: "_Outcome") -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if outcome.reasoning:
            reasoning: dict[str, Any] = {"type": "reasoning", "text": "".join(outcome.reasoning)}
            if outcome.reasoning_signature:
                reasoning["signature"] = outcome.reasoning_signature
            parts.append(reasoning)
        if writer.text:
            parts.append({"type": "text", "text": writer.text})
        parts += [{"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments} for c in outcome.tool_calls]
        return parts

    def _timings(self, outcome: "_Outcome") -> dict[str, int | None]:
        end = outcome.ended or time.monotonic()
        first = outcome.first_token
        return {
            "response_ms": int((end - outcome.started) * 1000),
            "first_token_ms": int((first - outcome.started) * 1000) if first else None,
            "streaming_ms": int((end - first) * 1000) if first else None,
        }

    def _finish_ok(self, message_id: str, writer: StreamWriter, outcome: "_Outcome", provider: str, model: str,
                   kind: str, conversation_id: str) -> Decimal | None:
        usage = outcome.usage
        output_tokens = usage.output_tokens or estimate_tokens(writer.text)
        timings = self._timings(outcome)
        quote = self.storage.catalog.cost(kind, model, usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
        self.storage.messages.finish(
            self.user_id, message_id, status="done", content=writer.text, parts=self._final_parts(writer, outcome),
            token_count=output_tokens, finish_reason=outcome.finish_reason,
            meta={"usage": _usage_dict(usage), **timings, "cost_usd": str(quote.cost) if quote.cost is not None else None},
        )
        self.storage.usage.record(
            self.user_id, provider=provider, model=model, operation="chat", input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, cached_input_tokens=usage.cached_input_tokens,
            reasoning_tokens=usage.reasoning_tokens, cost=quote.cost, prices=quote.prices,
            success=True, conversation_id=conversation_id, message_id=message_id, **timings,
        )
        if quote.cost:
            self.storage.conversations.add_cost(self.user_id, conversation_id, quote.cost)
        return quote.cost

    def _finish_failed(self, message_id: str, writer: StreamWriter, outcome: "_Outcome", error: ProviderError,
                       provider: str, model: str, kind: str, conversation_id: str) -> None:
        timings = self._timings(outcome)
        self.storage.messages.finish(
            self.user_id, message_id, status="error", content=writer.text, parts=self._final_parts(writer, outcome),
            finish_reason="error", meta={"error": {"kind": error.kind, "message": str(error), "status": error.status},
                                         **timings},
        )
        usage = outcome.usage
        quote = self.storage.catalog.cost(kind, model, usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
        self.storage.usage.record(
            self.user_id, provider=provider, model=model, operation="chat", input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, cached_input_tokens=usage.cached_input_tokens,
            reasoning_tokens=usage.reasoning_tokens, cost=quote.cost, prices=quote.prices, success=False,
            error_kind=error.kind, conversation_id=conversation_id, message_id=message_id, **timings,
        )

    def _finish_cancelled(self, message_id: str, writer: StreamWriter, outcome: "_Outcome") -> None:
        try:
            self.storage.messages.finish(
                self.user_id, message_id, status="cancelled", content=writer.text,
                parts=self._final_parts(writer, outcome), finish_reason="cancelled", meta=self._timings(outcome),
            )
        except Exception:
            log.exception("could not mark message %s cancelled", message_id)

    # --- context ---------------------------------------------------------------------

    async def _context(self, conversation_id: str, tip: str | None, model: str, limits: ContextLimits,
                       generation: dict[str, Any], query: str, provider_name: str, trigger: str,
                       keep_recent: int | None = None) -> Any:
        """Plan the context; apply the conversation's strategy when turns fall out of it."""
        builder = ContextBuilder(self.storage, self.user_id)
        reserve = limits.reserve(generation.get("max_tokens"))
        tool_tokens = self._tool_schema_tokens()

        def plan(scale: float = 1.0) -> tuple[Any, Any]:
            conversation = self.storage.conversations.get(self.user_id, conversation_id)
            built = builder.build(conversation, tip, model=model, window=limits.window, reserve=reserve, query=query,
                                  tool_schema_tokens=tool_tokens, load_image=self._load_image,
                                  keep_recent=keep_recent, budget_scale=scale)
            return conversation, built

        conversation, built = await self._db(plan)
        strategy = conversation.context_strategy if keep_recent is None else "summarize"
        if built.dropped and strategy == "manual" and built.newly_dropped:
            raise ContextFull(
                "the conversation no longer fits the model's window and its context strategy is manual: "
                "compact it (/compact, or `tui-chat compact ID`) or switch the strategy to truncate or summarize"
            )
        if built.dropped and strategy == "summarize" and built.to_summarize and (built.newly_dropped or keep_recent):
            if keep_recent is None:  # fold in enough that the next turns fit without another summary
                conversation, built = await self._db(plan, SUMMARY_HEADROOM)
            summary = await self._summarize(conversation, built.to_summarize, model, provider_name)
            await self._db(self._store_summary, conversation, summary, built, trigger)
            conversation, built = await self._db(plan)  # again, with the summary in place
            self._last_optimization = "summarization"
        elif built.newly_dropped:
            def record_truncation() -> None:
                self.storage.context.record(
                    self.user_id, conversation_id, trigger_reason=trigger, optimization_type="truncation",
                    tokens_before=built.tokens + len(built.newly_dropped) * 4,
                    tokens_after=built.tokens, affected_message_ids=list(built.newly_dropped))
                self.storage.conversations.update(
                    self.user_id, conversation_id, context={**conversation.context, "context_boundary": built.boundary_id})
            await self._db(record_truncation)
            self._last_optimization = "truncation"
        if built.memory_ids:
            await self._db(self.storage.memories.mark_used, self.user_id, list(built.memory_ids))
        return built

    async def _summarize(self, conversation: Any, records: tuple[Any, ...], model: str, provider_name: str) -> str:
        """Ask the model to fold ``records`` (and the previous summary) into one summary."""
        budget_chars = 60_000
        lines = []
        for record in reversed(records):  # newest first until the input budget is spent
            line = f"{record.role}: {record.content}"
            if sum(len(x) for x in lines) + len(line) > budget_chars:
                break
            lines.insert(0, line)
        previous = f"Summary so far:\n{conversation.summary}\n\n" if conversation.summary else ""
        prompt = (f"{previous}Summarise the conversation below for your own future reference: keep facts, "
                  f"decisions, names, numbers and open questions; be concise.\n\n" + "\n\n".join(lines))
        summary = await self._complete(provider_name, model, prompt, 1024, "summary", conversation.id)
        if not summary:
            raise ProviderError("protocol", "the model returned an empty summary", provider=provider_name)
        return summary

    def _store_summary(self, conversation: Any, summary: str, built: Any, trigger: str) -> None:
        newest = built.to_summarize[-1].id
        self.storage.conversations.update(
            self.user_id, conversation.id, summary=summary,
            context={**conversation.context, "summary_upto": newest, "context_boundary": built.boundary_id})
        self.storage.context.record(
            self.user_id, conversation.id, trigger_reason=trigger, optimization_type="summarization",
            tokens_before=built.tokens + sum(estimate_tokens(r.content) + 4 for r in built.to_summarize),
            tokens_after=built.tokens, summary=summary,
            affected_message_ids=[r.id for r in built.to_summarize][:10_000])

    def _load_image(self, attachment_id: str) -> bytes | None:
        try:
            return self.storage.attachments.read_bytes(self.user_id, attachment_id)
        except Exception:  # a missing file is reported by the provider as a missing image
            log.warning("attachment %s could not be read", attachment_id)
            return None

    def preview_context(self, conversation_id: str | None, draft: str = "", *, provider: str | None = None,
                        model: str | None = None, system: str | None = None,
                        settings: dict[str, Any] | None = None) -> Any:
        """What the next turn would send with ``draft`` as its prompt, message by message,
        without sending or recording anything (blocking: run it in a thread). With no
        conversation, ``provider``/``model``/``system``/``settings`` describe the new one."""
        from .preview import preview_context

        conversation = self.storage.conversations.get(self.user_id, conversation_id) if conversation_id else None
        provider_name = (conversation.provider if conversation else None) or provider or self.providers.default_name()
        model_name = (conversation.model if conversation else None) or model or \
            self.providers.default_model(provider_name)
        kind = self.providers.settings(provider_name).kind
        limits = self._limits(kind, model_name, conversation or SimpleNamespace(context_window=None))
        generation = {**(settings or {}), **(conversation.settings if conversation else {})}
        return preview_context(self.storage, self.user_id, conversation, provider=provider_name,
                               model=model_name, window=limits.window,
                               reserve=limits.reserve(generation.get("max_tokens")), draft=draft,
                               tool_tokens=self._tool_schema_tokens(), summary_headroom=SUMMARY_HEADROOM,
                               system=system)

    async def compact(self, conversation_id: str, *, keep_recent: int = 4) -> Any:
        """Summarise all but the newest ``keep_recent`` messages now (/compact)."""
        conversation = await self._db(self.storage.conversations.get, self.user_id, conversation_id)
        settings = await self._db(self.providers.settings, conversation.provider)
        limits = await self._db(self._limits, settings.kind, conversation.model, conversation)
        self._last_optimization = None
        built = await self._context(conversation_id, conversation.current_message_id, conversation.model, limits,
                                    conversation.settings, "", conversation.provider, "user_request",
                                    keep_recent=keep_recent)
        return built, self._last_optimization

    async def _complete(self, provider_name: str, model: str, prompt: str, max_tokens: int, operation: str,
                        conversation_id: str) -> str:
        """A short, non-streamed side request (a title, a summary), its usage recorded."""
        provider = self.providers.get(provider_name)
        request = ChatRequest(model=model, messages=(ChatMessage(role="user", text=prompt),), max_tokens=max_tokens)
        pieces: list[str] = []
        usage = UsageReport()
        async for event in provider.stream(request):
            if isinstance(event, PText):
                pieces.append(event.text)
            elif isinstance(event, UsageReport):
                usage = event
        kind = (await self._db(self.providers.settings, provider_name)).kind
        quote = await self._db(self.storage.catalog.cost, kind, model, usage.input_tokens, usage.output_tokens,
                               usage.cached_input_tokens)
        await self._db(self.storage.usage.record, self.user_id, provider=provider_name, model=model,
                       operation=operation, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                       cached_input_tokens=usage.cached_input_tokens, cost=quote.cost, prices=quote.prices,
                       conversation_id=conversation_id)
        return "".join(pieces).strip()

    # --- titles ----------------------------------------------------------------------

    async def generate_title(self, conversation_id: str) -> str | None:
        """Ask the conversation's model for a short title (the TUI does this in the background)."""
        conversation = await self._db(self.storage.conversations.get, self.user_id, conversation_id)
        if conversation.title_is_custom:
            return conversation.title
        branch = await self._db(self.storage.messages.branch, self.user_id, conversation_id, limit=2)
        first = next((m for m in branch.items if m.role == "user"), None)
        if first is None:
            return None
        text = await self._complete(conversation.provider, conversation.model, TITLE_PROMPT + first.content[:2000],
                                    24, "title", conversation_id)
        title = heuristic_title(text.strip('"').strip("'")) or heuristic_title(first.content)
        await self._db(self.storage.conversations.set_generated_title, self.user_id, conversation_id, title)
        return title


@dataclass
class _Outcome:
    started: float = 0.0
    first_token: float | None = None
    ended: float | None = None
    reasoning: list[str] = field(default_factory=list)
    reasoning_signature: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: UsageReport = field(default_factory=UsageReport)
    finish_reason: str = "stop"


def _usage_dict(usage: UsageReport) -> dict[str, int]:
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cached_input_tokens": usage.cached_input_tokens, "reasoning_tokens": usage.reasoning_tokens}


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except BaseException:  # noqa: BLE001 - already unwinding a cancellation
        pass


def heuristic_title(text: str, limit: int = 60) -> str:
    """A title from the first line of a prompt: trimmed at a word boundary."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = " ".join(line.split()).rstrip(".?!:;,")
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return (cut or line[:limit]) + "…"


def _stopped(reason: str, message: str, conversation_id: str | None) -> tuple[ev.EngineEvent, ...]:
    """The events of a turn stopped before anything was sent: why, and the end."""
    return (ev.TurnError(reason, message),
            ev.TurnFinished(conversation_id, None, "", reason, "stopped", stop_reason=reason))

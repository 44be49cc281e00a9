"""Anthropic Messages streaming through ``anthropic.AsyncAnthropic`` raw stream events.

``settings.options`` understood here:

* ``default_max_tokens`` (int): ``max_tokens`` when the request has none (Anthropic
  requires one); by default 8192 (4096 for the Claude 3 models that cap there).
* ``thinking`` ("adaptive" | "budget"): how ``request.reasoning_effort`` turns on
  extended thinking; by default a token budget for Claude 3 and 4.0-4.5 models,
  adaptive thinking (with ``output_config.effort``) for everything newer.
* ``headers`` (mapping): extra HTTP headers on every request.

With ``api_key=None`` the SDK finds credentials itself (``ANTHROPIC_API_KEY``,
``ANTHROPIC_AUTH_TOKEN``, profiles) and ``ANTHROPIC_BASE_URL``.

The SDK speaks API version 2026-10-21, which rejects ``temperature``, ``top_p`` and
``top_k`` (even at their defaults), so those request fields are not sent; nor are the
frequency/presence penalties, which Anthropic never had.

Usage: ``input_tokens`` is reported as the whole prompt (uncached + cache reads + cache
writes), matching OpenAI's ``prompt_tokens``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import anyio
import httpx2

from tui_chat.providers._common import (
    clean_message,
    make_error,
    normalise_finish,
    protocol_error,
    sdk_error,
)
from tui_chat.providers.base import (
    ChatMessage,
    ChatRequest,
    ModelInfo,
    ProviderError,
    ProviderEvent,
    ProviderSettings,
    ReasoningDelta,
    StreamFinished,
    TextDelta,
    ToolCall,
    ToolCallReady,
    UsageReport,
)

DEFAULT_MAX_TOKENS = 8192
THINKING_MAX_TOKENS = 32000
_SMALL_OUTPUT_MODELS = re.compile(r"claude-3-(?:opus|sonnet|haiku)")
# Models from before adaptive thinking take a token budget instead.
_BUDGET_THINKING_MODELS = re.compile(r"claude-3|claude-(?:opus|sonnet|haiku)-4(?:-[0-5])?(?:-\d{8}|-latest)?$")
_THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
_EFFORTS = {"minimal": "low"}
_TRANSPORT_ERRORS = (httpx2.TransportError, anyio.EndOfStream, anyio.BrokenResourceError, OSError)


class AnthropicProvider:
    """Streams through ``anthropic.AsyncAnthropic``; one SDK client per instance, made on first use."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._client: anthropic.AsyncAnthropic | None = None

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        if self._client is None:
            s = self.settings
            try:
                self._client = anthropic.AsyncAnthropic(
                    api_key=s.api_key,
                    base_url=s.base_url,
                    max_retries=0,  # the engine owns retries
                    timeout=httpx2.Timeout(s.timeout, connect=min(s.timeout, 15.0)),
                    default_headers=dict(s.options.get("headers") or {}) or None,
                )
            except anthropic.CredentialsError as exc:  # e.g. a broken credentials profile
                raise make_error("auth", f"no usable credentials ({clean_message(exc)})", s.name) from None
            except (anthropic.AnthropicError, ValueError) as exc:
                raise make_error("config", clean_message(exc, s.api_key), s.name) from None
        return self._client

    def prepare(self) -> None:
        self.client.messages  # noqa: B018 - loads the resource modules

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # --- streaming -------------------------------------------------------------------

    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        params = self.build_params(request)
        name = self.settings.name
        try:
            sdk_stream = await self.client.messages.create(**params)
        except Exception as exc:
            raise self._map(exc, mid_stream=False) or exc from None
        calls: dict[int, tuple[str, str, list[str], Any]] = {}  # block -> (id, name, json parts, input)
        signatures: dict[int, str] = {}
        start_usage: Any = None
        final_usage: Any = None
        stop_reason: str | None = None
        had_calls = False
        async with sdk_stream:  # closes the HTTP response however the loop ends
            try:
                async for event in sdk_stream:
                    kind = event.type
                    if kind == "content_block_delta":
                        delta = event.delta
                        dtype = delta.type
                        if dtype == "text_delta":
                            if delta.text:
                                yield TextDelta(delta.text)
                        elif dtype == "input_json_delta":
                            calls[event.index][2].append(delta.partial_json)
                        elif dtype == "thinking_delta":
                            if delta.thinking:
                                yield ReasoningDelta(delta.thinking)
                        elif dtype == "signature_delta":
                            signatures[event.index] = signatures.get(event.index, "") + delta.signature
                    elif kind == "content_block_start":
                        block = event.content_block
                        if block.type == "tool_use":
                            calls[event.index] = (block.id, block.name, [], getattr(block, "input", None))
                    elif kind == "content_block_stop":
                        call = calls.pop(event.index, None)
                        if call is not None:
                            had_calls = True
                            yield ToolCallReady(ToolCall(call[0], call[1], _arguments(call[2], call[3])))
                        signature = signatures.pop(event.index, None)
                        if signature:
                            yield ReasoningDelta("", signature=signature)
                    elif kind == "message_start":
                        start_usage = event.message.usage
                    elif kind == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        final_usage = event.usage
            except ProviderError:
                raise
            except KeyError as exc:
                raise protocol_error(f"delta for content block {exc} that never started", name) from None
            except Exception as exc:
                raise self._map(exc, mid_stream=True) or exc from None
        if stop_reason is None:
            raise make_error("connection", "the stream ended before the answer was complete", name)
        if start_usage is not None or final_usage is not None:
            yield _usage(start_usage, final_usage)
        yield StreamFinished(normalise_finish(stop_reason, had_tool_calls=had_calls), stop_reason)

    def _map(self, exc: Exception, *, mid_stream: bool) -> ProviderError | None:
        """The ProviderError for ``exc`` (see :func:`sdk_error`)."""
        name = self.settings.name
        if isinstance(exc, TypeError) and "authentication" in str(exc):
            return make_error("auth", "no API key (store one with the keys command or set ANTHROPIC_API_KEY)",
                              name)
        if isinstance(exc, anthropic.CredentialsError):
            return make_error("auth", f"no usable credentials ({clean_message(exc)})", name)
        return sdk_error(exc, anthropic, anthropic.AnthropicError, name, self.settings.api_key,
                         mid_stream=mid_stream, timeouts=(httpx2.TimeoutException,), transport=_TRANSPORT_ERRORS)

    # --- request -----------------------------------------------------------------------

    def build_params(self, request: ChatRequest) -> dict[str, Any]:
        """The keyword arguments for ``messages.create``."""
        options = self.settings.options
        model = request.model
        max_tokens = request.max_tokens or options.get("default_max_tokens") or (
            4096 if _SMALL_OUTPUT_MODELS.search(model) else DEFAULT_MAX_TOKENS)
        system_parts = [request.system] if request.system else []
        system_parts += [m.text for m in request.messages if m.role == "system" and m.text]
        params: dict[str, Any] = {"model": model, "messages": _messages(request.messages), "stream": True}
        if system_parts:
            params["system"] = "\n\n".join(system_parts)
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        effort = request.reasoning_effort
        if effort and effort != "none":
            mode = options.get("thinking") or ("budget" if _BUDGET_THINKING_MODELS.search(model) else "adaptive")
            if mode == "adaptive":
                params["thinking"] = {"type": "adaptive"}
                params["output_config"] = {"effort": _EFFORTS.get(effort, effort)}
            else:
                budget = _THINKING_BUDGETS.get(effort, _THINKING_BUDGETS["medium"])
                params["thinking"] = {"type": "enabled", "budget_tokens": budget}
                max_tokens = max(max_tokens, budget + 4096)  # the budget must stay below max_tokens
            if request.max_tokens is None:  # thinking counts against max_tokens: leave room
                max_tokens = max(max_tokens, THINKING_MAX_TOKENS)
        params["max_tokens"] = max_tokens
        if request.extra:
            params["extra_body"] = dict(request.extra)
        return params

    # --- catalog -----------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        name = self.settings.name
        try:
            return [
                ModelInfo(id=m.id, provider=name, context_window=getattr(m, "max_input_tokens", None),
                          max_output_tokens=getattr(m, "max_tokens", None))
                async for m in self.client.models.list(limit=1000)
            ]
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map(exc, mid_stream=False) or exc from None


def _messages(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    """Anthropic turns: tool results become user turns; same-role neighbours merge."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"
        blocks = _blocks(m)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _blocks(m: ChatMessage) -> list[dict[str, Any]]:
    if m.role == "tool":
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.text}
        if m.is_error:
            block["is_error"] = True
        return [block]
    blocks: list[dict[str, Any]] = []
    if m.role == "assistant" and m.reasoning and m.reasoning_signature:
        blocks.append({"type": "thinking", "thinking": m.reasoning, "signature": m.reasoning_signature})
    for image in m.images:
        data = base64.b64encode(image.data).decode("ascii")
        blocks.append({"type": "image", "source": {"type": "base64", "media_type": image.mime_type, "data": data}})
    if m.text:
        blocks.append({"type": "text", "text": m.text})
    for call in m.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _tool_input(call.arguments)})
    return blocks


def _arguments(parts: list[str], initial: Any) -> str:
    """The streamed JSON text; the block's own ``input`` if nothing streamed; else "{}"."""
    if parts:
        return "".join(parts) or "{}"
    return json.dumps(initial) if initial else "{}"


def _tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {"_raw_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def _usage(start: Any, final: Any) -> UsageReport:
    def pick(name: str) -> int:
        for usage in (final, start):  # message_delta carries the final figures when it has them
            value = getattr(usage, name, None) if usage is not None else None
            if value is not None:
                return int(value)
        return 0

    cached, created = pick("cache_read_input_tokens"), pick("cache_creation_input_tokens")
    return UsageReport(
        input_tokens=pick("input_tokens") + cached + created,
        output_tokens=pick("output_tokens"),
        cached_input_tokens=cached,
        cache_creation_input_tokens=created,
    )

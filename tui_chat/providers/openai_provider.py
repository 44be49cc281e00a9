"""OpenAI Chat Completions streaming, for OpenAI itself and any compatible endpoint.

``settings.options`` understood here:

* ``stream_usage`` (bool, default True): send ``stream_options.include_usage``; turn it
  off for compatible servers that reject it.
* ``max_tokens_param`` ("max_tokens" | "max_completion_tokens"): which name carries
  ``request.max_tokens``; by default ``max_completion_tokens`` for o-series and gpt-5 or later.
* ``send_reasoning`` (bool, default False): send earlier assistant reasoning back as
  ``reasoning_content`` (DeepSeek-style servers that want it in tool loops).
* ``headers`` (mapping): extra HTTP headers on every request (e.g. OpenRouter's).

With ``api_key=None`` the ``openai`` kind lets the SDK read ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL``; the ``openai-compatible`` kind never sends the OpenAI key to a
third-party server and uses a placeholder instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai

from tui_chat.providers._common import (
    clean_message,
    make_error,
    normalise_finish,
    protocol_error,
    sdk_error,
    SSEParser,
    stream_error,
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

NO_KEY_PLACEHOLDER = "not-needed"
_COMPLETION_TOKENS_MODELS = re.compile(r"(?:o\d|gpt-(?:[5-9]|\d\d))")
_TRANSPORT_ERRORS = (httpx2.TransportError, OSError)


class _PendingCall:
    """A tool call whose argument fragments are still arriving."""

    __slots__ = ("id", "name", "parts")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.parts: list[str] = []

    def ready(self) -> ToolCallReady:
        return ToolCallReady(ToolCall(self.id or f"call_{uuid.uuid4().hex[:24]}", self.name,
                                      "".join(self.parts) or "{}"))


class _AnswerReader:
    """One streamed answer's state, fed the SSE payloads of each network read.

    The text deltas of one read become one ``TextDelta`` (a fast server sends hundreds per
    read, a paced one a few: each event costs more on its way to the screen than its
    text), in order with the other events. A failure part-way through a read is kept in
    ``failure`` after the events before it, so the text that arrived is never lost."""

    def __init__(self, provider: str, api_key: str | None) -> None:
        self.provider, self.api_key = provider, api_key
        self.pending: dict[int, _PendingCall] = {}
        self.last_index = -1
        self.finish: str | None = None
        self.usage: Any = None
        self.had_calls = False
        self.done = False
        self.failure: Exception | None = None

    def feed(self, payloads: list[bytes]) -> list[ProviderEvent]:
        events: list[ProviderEvent] = []
        texts: list[str] = []
        try:
            for payload in payloads:
                if payload.startswith(b"[DONE]"):
                    self.done = True
                    break
                chunk = json.loads(payload)
                if chunk.get("error"):
                    raise stream_error(chunk, self.provider, self.api_key)
                if chunk.get("usage"):
                    self.usage = chunk["usage"]
                choices = chunk.get("choices")
                if not choices:
                    continue
                choice = choices[0]
                delta = choice.get("delta")
                if delta:
                    text = delta.get("content")
                    if text:
                        if text.__class__ is str:
                            texts.append(text)
                        else:  # a list of typed parts (some compatible servers)
                            for event in _content_parts(text):
                                if isinstance(event, TextDelta):
                                    texts.append(event.text)
                                else:
                                    _emit(events, texts, event)
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                    if reasoning and reasoning.__class__ is str:
                        _emit(events, texts, ReasoningDelta(reasoning))
                    calls = delta.get("tool_calls")
                    if calls:
                        self.last_index = _collect(calls, self.pending, self.last_index)
                if choice.get("finish_reason"):
                    self.finish = choice["finish_reason"]
                    self.had_calls = self.had_calls or bool(self.pending)
                    for ready in _flush(self.pending, self.provider):
                        _emit(events, texts, ready)
        except Exception as exc:  # noqa: BLE001 - raised by the caller, after the text before it
            self.failure = exc
        _flush_texts(events, texts)
        return events

    def end(self) -> list[ProviderEvent]:
        """The events after the body: the calls not flushed yet, usage, the finish."""
        if self.finish is None:
            raise make_error("connection", "the stream ended before the answer was complete", self.provider)
        had_calls = self.had_calls or bool(self.pending)
        events: list[ProviderEvent] = list(_flush(self.pending, self.provider))
        if self.usage is not None:
            events.append(_usage(self.usage))
        events.append(StreamFinished(normalise_finish(self.finish, had_tool_calls=had_calls), self.finish))
        return events


def _flush_texts(events: list[ProviderEvent], texts: list[str]) -> None:
    """Add the text deltas collected as one (and forget them)."""
    if texts:
        events.append(TextDelta(texts[0] if len(texts) == 1 else "".join(texts)))
        texts.clear()


def _emit(events: list[ProviderEvent], texts: list[str], event: ProviderEvent) -> None:
    """Add ``event`` after the text collected before it."""
    _flush_texts(events, texts)
    events.append(event)


def uses_max_completion_tokens(model: str) -> bool:
    """o-series and gpt-5 (and later) models take ``max_completion_tokens`` (``openai/o3`` too)."""
    return _COMPLETION_TOKENS_MODELS.match(model.rsplit("/", 1)[-1].lower()) is not None


class OpenAIProvider:
    """Streams through ``openai.AsyncOpenAI``; one SDK client per instance, made on first use."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._compatible = settings.kind == "openai-compatible"
        if self._compatible and not settings.base_url:
            raise make_error("config", "an openai-compatible provider needs a base URL", settings.name)
        self._client: openai.AsyncOpenAI | None = None

    # --- client ----------------------------------------------------------------------

    @property
    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            s = self.settings
            api_key = s.api_key or (NO_KEY_PLACEHOLDER if self._compatible else None)
            try:
                self._client = openai.AsyncOpenAI(
                    api_key=api_key,
                    base_url=s.base_url,
                    max_retries=0,  # the engine owns retries
                    timeout=httpx2.Timeout(s.timeout, connect=min(s.timeout, 15.0)),
                    default_headers=dict(s.options.get("headers") or {}) or None,
                )
            except openai.OpenAIError as exc:
                missing = "credentials" in str(exc).lower()
                raise make_error(
                    "auth" if missing else "config",
                    "no API key (store one with the keys command or set OPENAI_API_KEY)" if missing
                    else clean_message(exc, s.api_key),
                    s.name,
                ) from None
        return self._client

    def prepare(self) -> None:
        self.client.chat.completions.with_streaming_response  # noqa: B018 - loads the resource modules

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # --- streaming -------------------------------------------------------------------

    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        """Stream one answer. The SDK sends the request and raises for error statuses;
        the body is read as raw server-sent events and decoded to dicts, because building
        the SDK's typed chunk objects costs several times more than everything else per
        token (see ``_AnswerReader``)."""
        params = self.build_params(request)
        name = self.settings.name
        manager = self.client.chat.completions.with_streaming_response.create(**params)
        try:
            response = (await manager.__aenter__()).http_response
        except Exception as exc:
            raise self._map(exc, mid_stream=False) or exc from None
        reader = _AnswerReader(name, self.settings.api_key)
        chunks = response.aiter_bytes()
        parser = SSEParser()
        try:
            if response.headers.get("content-type", "").startswith("application/json"):
                raise protocol_error("the server answered with JSON instead of an event stream", name)
            async for chunk in chunks:
                payloads = parser.feed(chunk)
                if not payloads:
                    continue
                for event in reader.feed(payloads):
                    yield event
                if reader.failure is not None:
                    raise reader.failure
                if reader.done:
                    await _drain(chunks)
                    break
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map(exc, mid_stream=True) or exc from None
        finally:  # closes the HTTP response however the loop ends (cancel, aclose, error)
            await manager.__aexit__(None, None, None)
        for event in reader.end():
            yield event

    def _map(self, exc: Exception, *, mid_stream: bool) -> ProviderError | None:
        """The ProviderError for ``exc`` (see :func:`sdk_error`)."""
        return sdk_error(exc, openai, openai.OpenAIError, self.settings.name, self.settings.api_key,
                         mid_stream=mid_stream, timeouts=(httpx2.TimeoutException,), transport=_TRANSPORT_ERRORS)

    # --- request -----------------------------------------------------------------------

    def build_params(self, request: ChatRequest) -> dict[str, Any]:
        """The keyword arguments for ``chat.completions.create``."""
        options = self.settings.options
        params: dict[str, Any] = {
            "model": request.model,
            "messages": self._messages(request),
            "stream": True,
        }
        if options.get("stream_usage", True):
            params["stream_options"] = {"include_usage": True}
        if request.tools:
            params["tools"] = [
                {"type": "function",
                 "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}}
                for t in request.tools
            ]
        for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty", "reasoning_effort"):
            value = getattr(request, name)
            if value is not None:
                params[name] = value
        if request.stop:
            params["stop"] = list(request.stop)
        if request.max_tokens is not None:
            param = options.get("max_tokens_param") or (
                "max_completion_tokens" if uses_max_completion_tokens(request.model) else "max_tokens")
            params[param] = request.max_tokens
        if request.extra:
            params["extra_body"] = dict(request.extra)
        return params

    def _messages(self, request: ChatRequest) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if request.system:
            out.append({"role": "system", "content": request.system})
        send_reasoning = bool(self.settings.options.get("send_reasoning"))
        for m in request.messages:
            out.append(_message(m, send_reasoning))
        return out

    # --- catalog -----------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        try:
            return [ModelInfo(id=m.id, provider=self.settings.name) async for m in self.client.models.list()]
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map(exc, mid_stream=False) or exc from None


def _message(m: ChatMessage, send_reasoning: bool) -> dict[str, Any]:
    if m.role == "tool":
        text = m.text
        if m.is_error and not text.lower().startswith("error"):
            text = f"Error: {text}"
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": text}
    if m.role == "assistant":
        msg: dict[str, Any] = {"role": "assistant", "content": m.text or (None if m.tool_calls else "")}
        if m.tool_calls:
            msg["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                for c in m.tool_calls
            ]
        if send_reasoning and m.reasoning:
            msg["reasoning_content"] = m.reasoning
        return msg
    if m.images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": m.text}] if m.text else []
        for image in m.images:
            url = f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return {"role": m.role, "content": parts}
    return {"role": m.role, "content": m.text}


def _collect(calls: list[dict[str, Any]], pending: dict[int, _PendingCall], last_index: int) -> int:
    """Add tool-call fragments by index. For servers that omit the index, a new id starts
    a new call and a fragment without an id continues the last one."""
    for tc in calls:
        index = tc.get("index")
        call_id = tc.get("id")
        if index is None:
            current = pending.get(last_index)
            if call_id and (current is None or current.id != call_id):
                index = max(max(pending, default=-1), last_index) + 1
            else:
                index = max(last_index, 0)
        call = pending.get(index)
        if call is None:
            call = pending[index] = _PendingCall(call_id or "", "")
        elif call_id and not call.id:
            call.id = call_id
        fn = tc.get("function")
        if fn:
            if fn.get("name") and not call.name:
                call.name = fn["name"]
            if fn.get("arguments"):
                call.parts.append(fn["arguments"])
        last_index = index
    return last_index


def _flush(pending: dict[int, _PendingCall], provider: str) -> list[ToolCallReady]:
    ready = []
    for index in sorted(pending):
        call = pending[index]
        if not call.name:
            raise protocol_error(f"tool call {index} arrived without a name", provider)
        ready.append(call.ready())
    pending.clear()
    return ready


def _content_parts(parts: Any) -> list[ProviderEvent]:
    """Events from ``content`` sent as parts: text parts, and thinking/reasoning parts
    (whose text may itself be a list of text parts)."""
    if not isinstance(parts, list):
        raise TypeError(f"content is a {type(parts).__name__}")
    events: list[ProviderEvent] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            events.append(TextDelta(part["text"]))
        elif kind in ("thinking", "reasoning"):
            inner = part.get(kind) or part.get("text")
            if isinstance(inner, list):
                inner = "".join(p.get("text", "") for p in inner if isinstance(p, dict))
            if isinstance(inner, str) and inner:
                events.append(ReasoningDelta(inner))
    return events


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows ``[DONE]`` (normally just the end of the body) so the connection
    can be reused, giving up after a moment on servers that keep it open."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(0.1):
            async for _ in chunks:
                pass


def _usage(usage: dict[str, Any]) -> UsageReport:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return UsageReport(
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        cached_input_tokens=prompt_details.get("cached_tokens") or 0,
        reasoning_tokens=completion_details.get("reasoning_tokens") or 0,
    )

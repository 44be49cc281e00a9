"""Scenarios for the fake provider server and their rendering into the real wire formats.

A :class:`Scenario` says *what* one answer looks like (text, reasoning, tool calls,
usage, failures, timing); :func:`openai_stream` and :func:`anthropic_stream` turn it into
the exact Server-Sent Events each API sends. The server in ``provider_server.py`` only
writes what these generators yield, pausing before every content chunk.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

CUT = object()
"""Yielded by the renderers where the server must drop the connection."""


@dataclass(frozen=True, slots=True)
class Write:
    """Bytes to send; ``content`` marks a text/reasoning/argument chunk (it is paced,
    counted for ``cut_after`` and may be split across two TCP writes)."""

    data: bytes
    content: bool = False


@dataclass
class ToolCallScript:
    """One tool call the fake model makes; ``arguments`` is sent in ``chunks`` pieces."""

    name: str
    arguments: str = "{}"
    id: str | None = None
    chunks: int = 3


@dataclass
class Scenario:
    """One scripted answer. Every field has a harmless default; set only what a test needs."""

    text: str = ""
    chunks: int | None = None  # split text into N pieces; None: word-like tokens
    markdown_tokens: int = 0  # >0: replace text with N tokens of generated markdown
    reasoning: str = ""
    reasoning_field: str = "reasoning_content"  # openai-compatible name ("reasoning" for OpenRouter/Ollama)
    tool_calls: list[ToolCallScript] = field(default_factory=list)
    finish_reason: str | None = None  # OpenAI vocabulary; translated for Anthropic
    model: str | None = None  # default: echo the requested model
    # usage (None: derived from the request and the answer)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    # failures
    status: int = 200  # != 200: answer with that status and a realistic JSON error
    error_type: str | None = None  # error.type in the body (default from the status)
    error_message: str | None = None
    retry_after: str | None = None  # Retry-After header value, e.g. "7" or an HTTP date
    retry_after_ms: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    cut_after: int | None = None  # drop the connection after K content chunks
    malformed_after: int | None = None  # send a broken JSON event after K content chunks
    stream_error_after: int | None = None  # send an in-stream error event after K chunks
    # wire noise
    keepalive_comments: bool = False  # ": keep-alive" comments (and extra Anthropic pings)
    empty_deltas: bool = False  # empty deltas between chunks (and an empty-choices chunk)
    split_utf8: bool = False  # each chunk in two TCP writes, split inside a multi-byte char
    events_per_write: int = 1  # >1: that many SSE events per HTTP chunk (proxies and batching servers)
    # timing
    delay: float = 0.0  # seconds before every content chunk
    tokens_per_second: float | None = None  # alternative to delay
    first_token_delay: float = 0.0

    def chunk_delay(self) -> float:
        if self.tokens_per_second:
            return 1.0 / self.tokens_per_second
        return self.delay

    def text_chunks(self) -> list[str]:
        if self.markdown_tokens:
            return generate_markdown(self.markdown_tokens)
        return split_text(self.text, self.chunks)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown scenario fields: {sorted(unknown)}")
        values = dict(data)
        values["tool_calls"] = [ToolCallScript(**c) for c in values.get("tool_calls", ())]
        return cls(**values)


# --- text helpers -----------------------------------------------------------------------

_TOKEN = re.compile(r"\s*\S+|\s+")


def split_text(text: str, chunks: int | None = None) -> list[str]:
    """Word-like tokens (leading whitespace kept), or ``chunks`` near-equal pieces."""
    if not text:
        return []
    if chunks is None:
        return _TOKEN.findall(text)
    chunks = max(1, min(chunks, len(text)))
    size, extra = divmod(len(text), chunks)
    out, start = [], 0
    for i in range(chunks):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


_WORDS = (
    "stream render token buffer widget terminal cursor layout provider engine cache "
    "latency block parser markdown storage session message branch context window "
    "budget policy approval tool schema index query commit worker event"
).split()


def generate_markdown(n_tokens: int, seed: int = 0) -> list[str]:
    """Exactly ``n_tokens`` deterministic tokens of varied Markdown (headings, prose with
    inline code and bold, lists, fenced code, tables)."""
    rng = random.Random(seed)
    tokens: list[str] = []
    section = 0
    while len(tokens) < n_tokens:
        section += 1
        tokens += [f"## Section {section}", "\n\n"]
        for _ in range(rng.randint(2, 4)):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(12, 40))]
            words[rng.randrange(len(words))] = f"`{rng.choice(_WORDS)}()`"
            words[rng.randrange(len(words))] = f"**{rng.choice(_WORDS)}**"
            tokens += [w if i == 0 else " " + w for i, w in enumerate(words)] + [".\n\n"]
        kind = section % 3
        if kind == 0:
            for i in range(rng.randint(3, 6)):
                tokens += [f"- item {i}:", f" {rng.choice(_WORDS)}", f" {rng.choice(_WORDS)}", "\n"]
            tokens.append("\n")
        elif kind == 1:
            tokens += ["```python\n"]
            for i in range(rng.randint(3, 8)):
                tokens += [f"def {rng.choice(_WORDS)}_{i}(x):", "\n", "    return", f" x + {i}", "\n"]
            tokens += ["```", "\n\n"]
        else:
            tokens += ["| name | value |\n", "|---|---|\n"]
            for i in range(rng.randint(2, 5)):
                tokens += [f"| {rng.choice(_WORDS)} ", f"| {i * 7} |", "\n"]
            tokens.append("\n")
    return tokens[:n_tokens]


def estimate_tokens(body: Mapping[str, Any] | None) -> int:
    """A deterministic stand-in for prompt token counting: ~4 characters a token."""
    return max(1, len(json.dumps((body or {}).get("messages", ""))) // 4)


def last_user_text(body: Mapping[str, Any] | None) -> str:
    for message in reversed((body or {}).get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        texts = [p.get("text", "") for p in content or () if isinstance(p, dict) and p.get("type") == "text"]
        if texts:
            return " ".join(texts)
    return ""


# --- errors and catalogs --------------------------------------------------------------

_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("invalid_request_error", "authentication_error"),
    403: ("invalid_request_error", "permission_error"),
    404: ("invalid_request_error", "not_found_error"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "invalid_request_error"),
    429: ("rate_limit_error", "rate_limit_error"),
    529: ("server_error", "overloaded_error"),
}


def error_body(api: str, status: int, error_type: str | None, message: str | None) -> bytes:
    """A JSON error body shaped like the real API's."""
    oa_type, an_type = _ERROR_TYPES.get(status, ("server_error", "api_error"))
    message = message or f"fake provider error {status}"
    if api == "anthropic":
        payload: dict[str, Any] = {"type": "error", "error": {"type": error_type or an_type, "message": message}}
    else:
        code = "invalid_api_key" if status == 401 else None
        payload = {"error": {"message": message, "type": error_type or oa_type, "param": None, "code": code}}
    return json.dumps(payload).encode()


def masked_key(key: str) -> str:
    """How OpenAI echoes a wrong key in its 401 message: a few characters each side."""
    return key[:3] + "*" * max(4, len(key) - 7) + key[-4:] if len(key) > 8 else "****"


def models_body(api: str, models: list[str]) -> bytes:
    if api == "anthropic":
        data = [
            {
                "type": "model",
                "id": m,
                "display_name": m.replace("-", " ").title(),
                "created_at": "2025-05-14T00:00:00Z",
                "lifecycle": "active",
                "max_input_tokens": 200000,
                "max_tokens": 64000,
            }
            for m in models
        ]
        first, last = (models[0], models[-1]) if models else (None, None)
        return json.dumps({"data": data, "has_more": False, "first_id": first, "last_id": last}).encode()
    data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in models]
    return json.dumps({"object": "list", "data": data}).encode()


# --- OpenAI Chat Completions --------------------------------------------------------------


def _sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def _content_plan(sc: Scenario) -> list[tuple[str, Any]]:
    """Reasoning chunks, then text chunks, as ("reasoning" | "text", piece)."""
    plan: list[tuple[str, Any]] = [("reasoning", r) for r in split_text(sc.reasoning)]
    plan += [("text", t) for t in sc.text_chunks()]
    return plan


def _tool_id(sc: Scenario, i: int, prefix: str) -> str:
    return sc.tool_calls[i].id or f"{prefix}{i:02d}fake"


class _Injector:
    """Failures scheduled after K content chunks, each injected once."""

    def __init__(self, sc: Scenario, api: str) -> None:
        self.sc, self.api, self.done = sc, api, -1

    def __call__(self, sent: int) -> Iterator[Any]:
        if sent == self.done:
            return
        self.done = sent
        sc, api = self.sc, self.api
        if sc.cut_after is not None and sent == sc.cut_after:
            yield CUT
        if sc.malformed_after is not None and sent == sc.malformed_after:
            prefix = b"event: content_block_delta\n" if api == "anthropic" else b""
            yield Write(prefix + b'data: {"type": "content_block_delta", "choices": [{"delta": \n\n')
        if sc.stream_error_after is not None and sent == sc.stream_error_after:
            status = 529 if api == "anthropic" else 500
            payload = json.loads(error_body(api, status, sc.error_type, sc.error_message))
            if api == "openai":
                payload = {"error": payload["error"]}
            yield Write((b"event: error\n" if api == "anthropic" else b"") + _sse(payload))


def openai_stream(sc: Scenario, body: Mapping[str, Any]) -> Iterator[Write | object]:
    model = sc.model or body.get("model", "fake-model")
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
            "system_fingerprint": "fp_fake"}
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    if sc.keepalive_comments:
        yield Write(b": keep-alive\n\n")
    if sc.empty_deltas:  # Azure sends a first chunk with no choices (prompt filter results)
        yield Write(_sse({**base, "choices": [], "prompt_filter_results": []}))
    yield Write(chunk({"role": "assistant", "content": ""}))
    plan = _content_plan(sc) + [("tool_start", i) for i in range(len(sc.tool_calls))]
    frags = [split_text(c.arguments, c.chunks) for c in sc.tool_calls]
    for n in range(max((len(f) for f in frags), default=0)):  # round-robin: parallel calls interleave
        plan += [("tool", (i, f[n])) for i, f in enumerate(frags) if n < len(f)]
    inject, sent = _Injector(sc, "openai"), 0
    for kind, value in plan:
        if kind == "tool_start":
            fn = {"name": sc.tool_calls[value].name, "arguments": ""}
            tc = {"index": value, "id": _tool_id(sc, value, "call_"), "type": "function", "function": fn}
            yield Write(chunk({"tool_calls": [tc]}))
            continue
        yield from inject(sent)
        if kind == "reasoning":
            delta: dict[str, Any] = {sc.reasoning_field: value}
        elif kind == "text":
            delta = {"content": value}
        else:
            delta = {"tool_calls": [{"index": value[0], "function": {"arguments": value[1]}}]}
        yield Write(chunk(delta), content=True)
        sent += 1
        if sc.empty_deltas:
            yield Write(chunk({}))
            yield Write(chunk({"content": ""}))
        if sc.keepalive_comments:
            yield Write(b": keep-alive\n\n")
    yield from inject(sent)
    finish = sc.finish_reason or ("tool_calls" if sc.tool_calls else "stop")
    yield Write(chunk({}, finish))
    if include_usage:
        inp = sc.input_tokens if sc.input_tokens is not None else estimate_tokens(body)
        out = sc.output_tokens if sc.output_tokens is not None else sent
        usage = {
            "prompt_tokens": inp,
            "completion_tokens": out,
            "total_tokens": inp + out,
            "prompt_tokens_details": {"cached_tokens": sc.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": sc.reasoning_tokens, "audio_tokens": 0},
        }
        yield Write(_sse({**base, "choices": [], "usage": usage}))
    yield Write(b"data: [DONE]\n\n")


# --- Anthropic Messages -------------------------------------------------------------------

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def _event(name: str, payload: Mapping[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\n" + _sse(payload)


def anthropic_stream(sc: Scenario, body: Mapping[str, Any]) -> Iterator[Write | object]:
    model = sc.model or body.get("model", "claude-fake")
    inp = sc.input_tokens if sc.input_tokens is not None else estimate_tokens(body)
    usage = {"input_tokens": inp, "cache_creation_input_tokens": sc.cache_creation_tokens,
             "cache_read_input_tokens": sc.cached_tokens, "output_tokens": 1}
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage}
    yield Write(_event("message_start", {"type": "message_start", "message": message}))
    blocks: list[tuple[dict[str, Any], str, list[str]]] = []  # (start block, delta type, pieces)
    if sc.reasoning:
        blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, "thinking_delta",
                       split_text(sc.reasoning)))
    text = sc.text_chunks()
    if text or not sc.tool_calls:
        blocks.append(({"type": "text", "text": ""}, "text_delta", text))
    for i, call in enumerate(sc.tool_calls):
        start = {"type": "tool_use", "id": _tool_id(sc, i, "toolu_"), "name": call.name, "input": {}}
        blocks.append((start, "input_json_delta", [""] + split_text(call.arguments, call.chunks)))
    field_of = {"thinking_delta": "thinking", "text_delta": "text", "input_json_delta": "partial_json"}
    inject, sent = _Injector(sc, "anthropic"), 0
    for index, (start, delta_type, pieces) in enumerate(blocks):
        yield Write(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": start}))
        if index == 0:
            yield Write(_event("ping", {"type": "ping"}))
        for piece in pieces:
            yield from inject(sent)
            delta = {"type": delta_type, field_of[delta_type]: piece}
            yield Write(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": delta}), content=bool(piece))
            sent += bool(piece)
            if sc.empty_deltas and delta_type == "text_delta":
                yield Write(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                           "delta": {"type": "text_delta", "text": ""}}))
            if sc.keepalive_comments:
                yield Write(b": keep-alive\n\n" + _event("ping", {"type": "ping"}))
        if delta_type == "thinking_delta":
            yield Write(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "signature_delta", "signature": "c2ln"}}))
        yield Write(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    yield from inject(sent)
    finish = sc.finish_reason or ("tool_calls" if sc.tool_calls else "stop")
    out = sc.output_tokens if sc.output_tokens is not None else sent
    yield Write(_event("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": _STOP_REASONS.get(finish, finish),
                                                   "stop_sequence": None},
                                         "usage": {"output_tokens": out}}))
    yield Write(_event("message_stop", {"type": "message_stop"}))

"""Helpers shared by the SDK-backed providers. Imports no SDK and no UI.

The error mapping works on the SDK exceptions by duck typing (both SDKs share the same
shape: ``status_code``, ``response.headers``, ``body``) so it lives here once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from tui_chat.providers.base import ErrorKind, ProviderError

_MAX_MESSAGE = 300
_WHITESPACE = re.compile(r"\s+")
# Key-shaped text: an OpenAI/Anthropic style key, or a masked key as servers echo them.
_KEYLIKE = re.compile(r"\b(?:sk|pk|rk|key)-[A-Za-z0-9_\-]{6,}|(?<!\S)\S*\*{3,}\S*|Bearer\s+\S+", re.IGNORECASE)

_STATUS_KINDS: dict[int, ErrorKind] = {401: "auth", 403: "auth", 407: "auth", 408: "connection", 429: "rate_limit"}
_TYPE_KINDS: dict[str, ErrorKind] = {
    "authentication_error": "auth",
    "permission_error": "auth",
    "invalid_api_key": "auth",
    "rate_limit_error": "rate_limit",
    "overloaded_error": "server",
    "api_error": "server",
    "server_error": "server",
    "timeout_error": "server",
    "invalid_request_error": "bad_request",
    "not_found_error": "bad_request",
    "request_too_large": "bad_request",
}
_PREFIX: dict[ErrorKind, str] = {
    "auth": "authentication failed",
    "rate_limit": "rate limited",
    "server": "server error",
    "bad_request": "request rejected",
    "connection": "connection failed",
    "protocol": "unexpected response",
    "config": "not configured",
}


class SSEParser:
    """The data of server-sent events, fed the bytes of a stream as they arrive:
    ``feed`` returns the payloads of the events a read completes, so a caller can handle
    a run of them at once.

    Lines end with LF, CRLF or CR (also a CRLF split between two reads); nothing else
    splits a line, not even the Unicode line separators JSON may carry raw. Comments and
    the ``event``/``id``/``retry`` fields are skipped; the ``data`` lines of one event are
    joined with LF. An event the stream leaves unfinished is never returned, as the SSE
    specification says."""

    __slots__ = ("_rest", "_after_cr", "_data")

    def __init__(self) -> None:
        self._rest = b""
        self._after_cr = False  # the last read ended with CR: an LF starting the next is its pair
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._after_cr:
            self._after_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if not chunk:
            return []
        buffer = self._rest + chunk if self._rest else chunk
        if b"\r" in buffer:
            self._after_cr = buffer.endswith(b"\r")
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._rest = lines.pop()
        payloads: list[bytes] = []
        data = self._data
        for line in lines:
            if line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
            elif not line and data:
                payloads.append(data[0] if len(data) == 1 else b"\n".join(data))
                data.clear()
        return payloads


def clean_message(text: object, secret: str | None = None) -> str:
    """One line, bounded, with the key and anything key-shaped removed."""
    line = _WHITESPACE.sub(" ", str(text)[: _MAX_MESSAGE * 4]).strip()
    if secret and len(secret) >= 6:  # shorter "keys" (placeholders) would mangle ordinary words
        line = line.replace(secret, "[redacted]")
    line = _KEYLIKE.sub("[redacted]", line)
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def status_kind(status: int) -> ErrorKind:
    if status in _STATUS_KINDS:
        return _STATUS_KINDS[status]
    if status >= 500:
        return "server"
    return "bad_request"


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_fields(body: object) -> tuple[str | None, str | None]:
    """(message, type) from an error body in either API's shape (or a JSON string of it)."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body, None
    if not isinstance(body, Mapping):
        return None, None
    inner = body.get("error")
    if isinstance(inner, Mapping):
        body = inner
    elif isinstance(inner, str):
        return inner, None
    message, kind = body.get("message"), body.get("type") or body.get("code")
    return (message if isinstance(message, str) else None), (kind if isinstance(kind, str) else None)


def status_error(exc: Any, provider: str, secret: str | None) -> ProviderError:
    """Map an SDK ``APIStatusError`` (or an SDK error for an in-stream error event)."""
    response = getattr(exc, "response", None)
    return error_from(getattr(exc, "status_code", None), getattr(exc, "body", None),
                      getattr(response, "headers", None), getattr(exc, "message", ""), provider, secret)


def stream_error(body: Mapping[str, Any], provider: str, secret: str | None) -> ProviderError:
    """Map an error event that arrived inside a 200 stream (``{"error": {...}}``)."""
    return error_from(None, body, None, "", provider, secret)


def error_from(status: int | None, body: object, headers: Mapping[str, str] | None, fallback: str,
               provider: str, secret: str | None) -> ProviderError:
    message, err_type = _error_fields(body)
    if status is not None and status >= 400:
        kind = status_kind(status)
        if err_type == "overloaded_error":
            kind = "server"
        elif err_type == "insufficient_quota":  # a 429 that no retry will fix
            kind = "bad_request"
    else:  # an error event inside a 200 stream: only its type tells
        status = None
        kind = _TYPE_KINDS.get(err_type or "", "server")
    retry_after = parse_retry_after(headers) if kind in ("rate_limit", "server") else None
    detail = clean_message(message or fallback or "no details", secret)
    return ProviderError(kind, f"{_PREFIX[kind]}: {detail}", status=status, retry_after=retry_after,
                         provider=provider)


def connection_error(exc: BaseException, provider: str, *, mid_stream: bool, timed_out: bool = False) -> ProviderError:
    if timed_out:
        what = "timed out waiting for the server"
    elif mid_stream:
        what = "connection lost mid-stream"
    else:
        what = "could not connect"
    cause = exc.__cause__ or exc
    detail = clean_message(f"{type(cause).__name__}: {cause}") if str(cause) else type(cause).__name__
    return ProviderError("connection", f"{what} ({detail})", provider=provider)


def protocol_error(detail: object, provider: str) -> ProviderError:
    return ProviderError("protocol", f"{_PREFIX['protocol']}: {clean_message(detail)}", provider=provider)


def make_error(kind: ErrorKind, detail: str, provider: str) -> ProviderError:
    return ProviderError(kind, f"{_PREFIX[kind]}: {detail}", provider=provider)


def sdk_error(exc: Exception, sdk: Any, base: type[Exception], provider: str, secret: str | None, *,
              mid_stream: bool, timeouts: tuple[type[BaseException], ...],
              transport: tuple[type[BaseException], ...]) -> ProviderError | None:
    """The ProviderError for ``exc`` raised through the SDK module ``sdk`` (openai and
    anthropic name their exceptions alike; ``base`` is the SDK's root exception); None
    for a non-SDK error before any response arrived (a bug here, not a provider failure:
    let it surface as itself)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, (sdk.APITimeoutError, *timeouts)):
        return connection_error(exc, provider, mid_stream=mid_stream, timed_out=True)
    if isinstance(exc, (sdk.APIConnectionError, *transport)):
        return connection_error(exc, provider, mid_stream=mid_stream)
    if isinstance(exc, sdk.APIResponseValidationError):
        return protocol_error(exc.message, provider)
    if isinstance(exc, sdk.APIError):  # status errors and in-stream error events
        return status_error(exc, provider, secret)
    if isinstance(exc, json.JSONDecodeError):
        return protocol_error(f"malformed JSON in the event stream ({exc.msg})", provider)
    if isinstance(exc, base) or mid_stream:
        return protocol_error(f"{type(exc).__name__}: {exc}", provider)
    return None


_FINISH = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "model_context_window_exceeded": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "safety": "content_filter",
}


def normalise_finish(raw: str | None, *, had_tool_calls: bool) -> str:
    """stop | length | tool_calls | content_filter | other. A "stop" that carried tool
    calls (some compatible servers) counts as tool_calls."""
    reason = _FINISH.get(raw or "", "other")
    if reason == "stop" and had_tool_calls:
        return "tool_calls"
    return reason

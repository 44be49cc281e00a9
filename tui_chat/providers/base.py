"""The provider contract: what every LLM backend offers the engine.

A provider turns a :class:`ChatRequest` into an async stream of typed events. It never
touches the database or the UI, and its SDK is imported only when it is constructed.
Failures are raised as :class:`ProviderError` with a ``kind`` the engine can act on
(retry, report, map to an exit code); messages never contain a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]


# --- request -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image sent to a vision model: raw bytes plus their mime type."""

    data: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call as the model made it (``arguments`` is the raw JSON text)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    text: str = ""
    images: tuple[ImagePart, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that called tools
    tool_call_id: str | None = None  # tool results: which call they answer
    is_error: bool = False  # tool results: the tool failed or was denied
    reasoning: str = ""  # assistant reasoning, kept for providers that want it back
    reasoning_signature: str | None = None  # Anthropic: the thinking block's signature


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: Mapping[str, Any]  # JSON schema of the arguments object


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    system: str | None = None
    tools: tuple[ToolSpec, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stop: tuple[str, ...] = ()
    reasoning_effort: str | None = None  # "low" | "medium" | "high", where supported
    extra: Mapping[str, Any] = field(default_factory=dict)


# --- events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning text. Anthropic also sends a ``signature`` once a thinking block ends
    (with empty ``text``); keep it in ``ChatMessage.reasoning_signature`` to send the
    thinking back in a later request (needed in tool loops with thinking on)."""

    text: str
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallReady:
    """A complete tool call, its streamed argument fragments already assembled."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token usage of one call. ``input_tokens`` counts every input token, including
    the ``cached_input_tokens`` read from the prompt cache and the
    ``cache_creation_input_tokens`` written to it; ``reasoning_tokens`` are part of
    ``output_tokens``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_input_tokens: int = 0


@dataclass(frozen=True, slots=True)
class StreamFinished:
    """The provider said the answer is over. ``finish_reason`` is normalised to one of
    stop | length | tool_calls | content_filter | other."""

    finish_reason: str
    raw_finish_reason: str | None = None


ProviderEvent = TextDelta | ReasoningDelta | ToolCallReady | UsageReport | StreamFinished


# --- errors ------------------------------------------------------------------------

ErrorKind = Literal[
    "auth",  # 401/403, missing key
    "rate_limit",  # 429
    "server",  # 5xx, overloaded
    "connection",  # could not connect, timed out, cut mid-stream
    "bad_request",  # 400/404/422: the request itself is wrong (unknown model, ...)
    "protocol",  # the response could not be understood
    "config",  # the provider is not set up (no base URL, unknown kind)
]


class ProviderError(Exception):
    """A provider failure, safe to show to the user (no keys, no auth headers)."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.provider = provider

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limit", "server", "connection")

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" (HTTP {self.status})" if self.status else ""
        return f"{where}{self.message}{code}"


# --- configuration and catalog ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """Everything needed to build a provider. ``api_key`` is held only in memory."""

    name: str
    kind: str  # "openai" | "anthropic" | "openai-compatible"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    default_model: str | None = None
    timeout: float = 600.0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    provider: str
    context_window: int | None = None
    max_output_tokens: int | None = None


@runtime_checkable
class Provider(Protocol):
    settings: ProviderSettings

    def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        """Stream one answer. Raises :class:`ProviderError`; cancelling the iteration
        closes the underlying HTTP response."""
        ...

    def prepare(self) -> None:
        """Build the SDK client and load what a request needs, with no network traffic,
        so that the first answer does not wait for it (may block: call it off the UI)."""
        ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def aclose(self) -> None: ...

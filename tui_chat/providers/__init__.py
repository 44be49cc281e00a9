"""Providers: the contract (``base``) plus a registry that imports an SDK only when a
provider of its kind is created.

``import tui_chat.providers`` is cheap: it loads neither ``openai`` nor ``anthropic``.
"""

from __future__ import annotations

from importlib import import_module
from types import MappingProxyType

from tui_chat.providers.base import (
    ChatMessage,
    ChatRequest,
    ImagePart,
    ModelInfo,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderSettings,
    ReasoningDelta,
    StreamFinished,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    UsageReport,
)

__all__ = [
    "PROVIDER_KINDS",
    "ChatMessage",
    "ChatRequest",
    "ImagePart",
    "ModelInfo",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "ProviderSettings",
    "ReasoningDelta",
    "StreamFinished",
    "TextDelta",
    "ToolCall",
    "ToolCallReady",
    "ToolSpec",
    "UsageReport",
    "builtin_provider_settings",
    "create_provider",
    "provider_class",
]

PROVIDER_KINDS = MappingProxyType({
    "openai": "tui_chat.providers.openai_provider:OpenAIProvider",
    "anthropic": "tui_chat.providers.anthropic_provider:AnthropicProvider",
    "openai-compatible": "tui_chat.providers.openai_provider:OpenAIProvider",
})
"""Provider kind -> ``"module:Class"``; the module is imported on first use."""

OLLAMA_BASE_URL = "http://localhost:11434/v1"


def provider_class(kind: str) -> type[Provider]:
    """The class behind ``kind``, importing its module (and SDK) now."""
    target = PROVIDER_KINDS.get(kind)
    if target is None:
        known = ", ".join(sorted(PROVIDER_KINDS))
        raise ProviderError("config", f"unknown provider kind {kind!r} (known: {known})")
    module_name, _, class_name = target.partition(":")
    return getattr(import_module(module_name), class_name)


def create_provider(settings: ProviderSettings) -> Provider:
    """Build the provider for ``settings``. Raises ProviderError(kind="config") for an
    unknown kind or a missing required setting. The SDK client itself is made on first use."""
    return provider_class(settings.kind)(settings)


def builtin_provider_settings() -> tuple[ProviderSettings, ...]:
    """The providers that exist without any configuration. Keys are left to the SDKs'
    environment variables (or to the caller, who fills ``api_key`` from the keyring)."""
    return (
        ProviderSettings(name="openai", kind="openai", default_model="gpt-5-mini"),
        ProviderSettings(name="anthropic", kind="anthropic", default_model="claude-haiku-4-5"),
        ProviderSettings(name="ollama", kind="openai-compatible", base_url=OLLAMA_BASE_URL,
                         default_model="llama3.2"),
    )

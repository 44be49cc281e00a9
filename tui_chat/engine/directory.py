"""Which providers exist for a user, with their keys, built on demand.

Built-in ``openai``, ``anthropic`` and ``ollama`` exist without set-up; the user's
``provider_configs`` rows add more or override them. A provider's key comes from the OS
keyring, then its SDK's environment variable (see :func:`tui_chat.secrets.resolve_api_key`);
it lives only in memory, inside the provider object.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..providers import builtin_provider_settings, create_provider
from ..providers.base import Provider, ProviderError, ProviderSettings

if TYPE_CHECKING:
    from storage import Storage

    from ..secrets import KeyStore


class ProviderDirectory:
    def __init__(
        self,
        storage: "Storage",
        user_id: str,
        *,
        keystore: "KeyStore | None" = None,
        environ: Mapping[str, str] | None = None,
        use_keyring: bool = True,
    ) -> None:
        self._storage = storage
        self._user_id = user_id
        self._keystore = keystore
        self._use_keyring = use_keyring
        self._env = os.environ if environ is None else environ
        self._providers: dict[str, Provider] = {}
        self._settings: dict[str, ProviderSettings] = {}
        self._custom_endpoints: set[str] = set()

    # --- what exists -----------------------------------------------------------------

    def configured(self) -> dict[str, ProviderSettings]:
        """Every provider by name (without keys): built-ins overlaid by the user's rows."""
        found = {s.name: s for s in builtin_provider_settings()}
        self._custom_endpoints = set()
        for row in self._storage.providers.list(self._user_id, active_only=True):
            if row.base_url:
                self._custom_endpoints.add(row.name)
            found[row.name] = ProviderSettings(
                name=row.name, kind=row.kind, base_url=row.base_url, default_model=row.default_model,
                options=dict(row.options or {}),
            )
        return found

    def names(self) -> list[str]:
        return sorted(self.configured())

    def default_name(self) -> str:
        """The provider to use when none is named: the user's default, else the first
        one that has a key in the environment, else openai."""
        preferences = self._storage.users.get(self._user_id).preferences
        if preferences.get("default_provider"):
            return str(preferences["default_provider"])
        default = self._storage.providers.get_default(self._user_id)
        if default is not None:
            return default.name
        for name, var in (("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")):
            if self._env.get(var):
                return name
        return "openai"

    def default_model(self, name: str) -> str:
        preferences = self._storage.users.get(self._user_id).preferences
        if preferences.get("default_model") and (preferences.get("default_provider") in (None, name)):
            return str(preferences["default_model"])
        model = self.settings(name).default_model
        if not model:
            raise ProviderError("config", f"provider {name!r} has no default model; pass --model", provider=name)
        return model

    # --- building --------------------------------------------------------------------

    def settings(self, name: str | None) -> ProviderSettings:
        """Settings for ``name``, with its key resolved (cached for this directory)."""
        if not name:
            name = self.default_name()
        if name in self._settings:
            return self._settings[name]
        configured = self.configured()
        base = configured.get(name)
        if base is None:
            known = ", ".join(sorted(configured))
            raise ProviderError("config", f"unknown provider {name!r} (known: {known}); add one with "
                                          "`tui-chat providers add`", provider=name)
        custom = name in self._custom_endpoints
        key = self._resolve_key(base, custom)
        if key is None and custom and base.kind in ("openai", "anthropic"):
            # Without this the SDK would pick up OPENAI_API_KEY/ANTHROPIC_API_KEY and send
            # it to this provider's own host.
            raise ProviderError("config", f"no key for provider {name!r}: run `tui-chat keys set {name}`, or name "
                                          "an environment variable with `providers add ... --api-key-env VAR`",
                                provider=name)
        settings = replace(base, api_key=key)
        self._settings[name] = settings
        return settings

    def get(self, name: str | None) -> Provider:
        settings = self.settings(name)
        provider = self._providers.get(settings.name)
        if provider is None:
            provider = create_provider(settings)
            self._providers[settings.name] = provider
        return provider

    def _resolve_key(self, settings: ProviderSettings, custom_endpoint: bool) -> str | None:
        """The keyring entry named after the provider, else an environment variable: the
        one the provider names (``--api-key-env``) first; the SDK's own variable
        (``OPENAI_API_KEY``...) only for the official endpoints, so a key meant for
        OpenAI is never sent to another host."""
        from ..secrets import KeyringUnavailable, KeyStore, resolve_api_key

        store = self._keystore
        if store is None and self._use_keyring:
            store = self._keystore = KeyStore()
        named = str(settings.options.get("api_key_env") or "") or None
        env = self._env
        if custom_endpoint and named is None:
            env = {}  # no SDK variable for a third-party base URL
        try:
            resolved = resolve_api_key(settings.name, settings.kind, store, env, env_var=named,
                                       required=False if custom_endpoint else None)
        except KeyringUnavailable as exc:
            raise ProviderError("config", str(exc), provider=settings.name) from exc
        return resolved.value if resolved else None

    async def aclose(self) -> None:
        for provider in self._providers.values():
            try:
                await provider.aclose()
            except Exception:  # closing is best effort
                pass
        self._providers.clear()

    def __repr__(self) -> str:  # never show keys
        return f"ProviderDirectory(user={self._user_id!r}, providers={sorted(self._providers)!r})"


def describe(settings: ProviderSettings) -> dict[str, Any]:
    """A provider for display: everything but the key."""
    return {"name": settings.name, "kind": settings.kind, "base_url": settings.base_url,
            "default_model": settings.default_model, "has_key": bool(settings.api_key)}

"""MCP server configuration: credentials in the keyring, the environment a stdio server
gets, and Claude-Desktop-style ``{"mcpServers": {...}}`` files.

A server's credentials (environment variables such as ``GITHUB_TOKEN``, HTTP headers such
as ``Authorization``) are one keyring entry, ``keyring:tui-chat-mcp/NAME``; the database
holds only that reference. A stdio server is started with an explicit environment:
``PATH``, ``HOME``, the locale, the variables configured for it and its credentials --
never the rest of the user's environment (API keys included).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any

MCP_KEY_SERVICE = "tui-chat-mcp"
#: Variables of the user's environment a stdio server gets (the SDK adds TERM, SHELL, USER, LOGNAME).
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


class McpConfigError(ValueError):
    pass


@dataclass
class Credentials:
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.env or self.headers)

    def __repr__(self) -> str:  # never the values
        return f"Credentials(env={sorted(self.env)}, headers={sorted(self.headers)})"

    def encode(self) -> str:
        raw = json.dumps({"env": self.env, "headers": self.headers}, separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def decode(cls, value: str) -> "Credentials":
        data = json.loads(base64.urlsafe_b64decode(value.encode()).decode())
        return cls(dict(data.get("env") or {}), dict(data.get("headers") or {}))


def key_store(store: Any = None) -> Any:
    if store is not None:
        return store
    from ..secrets import KeyStore

    return KeyStore(MCP_KEY_SERVICE)


def save_credentials(name: str, credentials: Credentials, store: Any = None) -> str:
    """Store ``credentials`` for server ``name``; returns the reference for the database."""
    record = key_store(store).set(name, credentials.encode())
    return record.ref


def load_credentials(ref: str | None, store: Any = None) -> Credentials:
    if not ref:
        return Credentials()
    value = key_store(store).get_ref(ref)
    if not value:
        raise McpConfigError(f"the credentials of this server are missing from the keyring ({ref}); "
                             "add them again with `tui-chat mcp add ... --env-secret/--header-secret`")
    return Credentials.decode(value)


def delete_credentials(ref: str | None, store: Any = None) -> None:
    if not ref:
        return
    from ..secrets import parse_ref

    service, name = parse_ref(ref)
    store = key_store(store)
    if service == getattr(store, "service", service):
        store.delete(name)


def server_environment(configured: dict[str, str], secret: dict[str, str],
                       environ: dict[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    env = {name: source[name] for name in PASSED_ENV if source.get(name)}
    env.update(configured)
    env.update(secret)
    return env


def config_hash(kind: str, config: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps([kind, config], sort_keys=True).encode()).hexdigest()[:16]


# --- building configurations ------------------------------------------------------

@dataclass
class ServerSpec:
    """One server to add: its kind, the configuration for the database, its credentials."""

    name: str
    kind: str
    config: dict[str, Any]
    credentials: Credentials = field(default_factory=Credentials)
    notes: list[str] = field(default_factory=list)


def _split_secrets(values: dict[str, str], what: str, notes: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Plain values and the ones that look like secrets (moved to the keyring)."""
    from storage.services.providers import find_secrets, looks_secret_name

    plain, secret = {}, {}
    for key, value in values.items():
        if not isinstance(value, str):
            raise McpConfigError(f"{what} {key!r} must be text")
        if looks_secret_name(key) or find_secrets({"v": value}) or key.lower() in ("authorization", "cookie"):
            secret[key] = value
            notes.append(f"{what} {key} looks like a secret: it goes to the keyring, not the database")
        else:
            plain[key] = value
    return plain, secret


def stdio_spec(name: str, command: list[str], env: dict[str, str] | None = None, *, cwd: str | None = None,
               timeout: float | None = None, secret_env: dict[str, str] | None = None) -> ServerSpec:
    if not command or not command[0].strip():
        raise McpConfigError("give the command that starts the server after --, e.g. -- npx -y server")
    notes: list[str] = []
    plain, secret = _split_secrets(dict(env or {}), "environment variable", notes)
    secret.update(secret_env or {})
    config: dict[str, Any] = {"command": list(command), "env": plain}
    if cwd:
        config["cwd"] = cwd
    if timeout:
        config["timeout"] = timeout
    return ServerSpec(name, "mcp-stdio", config, Credentials(env=secret), notes)


def http_spec(name: str, url: str, headers: dict[str, str] | None = None, *, timeout: float | None = None,
              secret_headers: dict[str, str] | None = None) -> ServerSpec:
    notes: list[str] = []
    plain, secret = _split_secrets(dict(headers or {}), "header", notes)
    secret.update(secret_headers or {})
    config: dict[str, Any] = {"url": url}
    if plain:
        config["headers"] = plain
    if timeout:
        config["timeout"] = timeout
    return ServerSpec(name, "mcp-http", config, Credentials(headers=secret), notes)


def parse_desktop_config(data: Any) -> tuple[list[ServerSpec], list[str]]:
    """Servers from a Claude-Desktop-shaped file; returns them and what was skipped."""
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise McpConfigError('the file must be a JSON object with an "mcpServers" object')
    specs, skipped = [], []
    for raw_name, entry in data["mcpServers"].items():
        name = str(raw_name).strip().lower().replace(".", "-").replace(" ", "-")
        if not isinstance(entry, dict):
            skipped.append(f"{raw_name}: not an object")
            continue
        if entry.get("disabled"):
            skipped.append(f"{raw_name}: disabled in the file")
            continue
        kind = str(entry.get("type") or entry.get("transport") or "").lower()
        try:
            if "command" in entry:
                args = entry.get("args") or []
                if not isinstance(entry["command"], str) or not all(isinstance(a, str) for a in args):
                    raise McpConfigError("command must be text and args a list of text")
                specs.append(stdio_spec(name, [entry["command"], *args], entry.get("env") or {}, cwd=entry.get("cwd")))
            elif "url" in entry or "serverUrl" in entry:
                if kind == "sse":
                    skipped.append(f"{raw_name}: SSE servers are not supported; use its streamable HTTP URL")
                    continue
                specs.append(http_spec(name, entry.get("url") or entry["serverUrl"], entry.get("headers") or {}))
            else:
                skipped.append(f"{raw_name}: neither a command nor a url")
        except McpConfigError as exc:
            skipped.append(f"{raw_name}: {exc}")
    return specs, skipped

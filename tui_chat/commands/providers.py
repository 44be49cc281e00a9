"""``tui-chat providers``: the built-in providers and the endpoints the user adds.

Built-in ``openai``, ``anthropic`` and ``ollama`` exist without set-up and cannot be
removed. An added provider is a ``provider_configs`` row: kind, base URL, default model
and, optionally, the name of an environment variable holding its key
(``--api-key-env``). Its key goes in the keyring under the provider's name
(``tui-chat keys set NAME``); removing the provider removes that key too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import click

from ..errors import AppError, ExitCode
from . import app_context, print_json
from .keys import builtin_names, keyring_error, open_store, refuse_key_shaped

if TYPE_CHECKING:
    from ..context import AppContext

KINDS = ("openai", "anthropic", "openai-compatible")
_ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: Where the SDK sends requests when a provider has no base URL, and the variable that
#: moves it.
_SDK_BASE_URLS = {
    "openai": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
}


# --- describing providers ----------------------------------------------------------------


def _without_credentials(url: str) -> str:
    try:
        parts = urlsplit(url)
        if parts.username or parts.password:
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
            return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "(unparseable URL)"
    return url


def effective_base_url(kind: str, base_url: str | None, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """(URL, where it comes from: "config", "env VAR", "default" or "none")."""
    if base_url:
        return base_url, "config"
    if kind in _SDK_BASE_URLS:
        var, default = _SDK_BASE_URLS[kind]
        value = (environ.get(var) or "").strip()
        if value:
            return _without_credentials(value), f"env {var}"
        return default, "default"
    return None, "none"


def key_status(
    name: str,
    kind: str,
    options: Mapping[str, Any],
    row: Any,
    index: Mapping[str, str] | None,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """Where a request to this provider would take its key from, without the key.

    Mirrors the order of resolution: the keyring entry named after the provider, then
    the SDK's environment variable, then the ``api_key_env`` variable. ``index`` is the
    keyring's names and fingerprints, or ``None`` when the keyring cannot be read.
    """
    from ..secrets import ENV_KEY_VARS

    if index is not None and name in index:
        fp = index[name]
        return {"source": "keyring", "fingerprint": fp, "env_var": None, "status": f"keyring {fp}"}
    for var in (ENV_KEY_VARS.get(kind), options.get("api_key_env")):
        if var and (environ.get(str(var)) or "").strip():
            return {"source": "env", "fingerprint": None, "env_var": str(var), "status": f"env {var}"}
    if index is None:
        fp = getattr(row, "key_fingerprint", None)
        status = f"keyring {fp} (keyring unavailable)" if fp else "unknown (keyring unavailable)"
        return {"source": "keyring" if fp else None, "fingerprint": fp, "env_var": None, "status": status}
    status = "none (keyring entry missing)" if getattr(row, "key_ref", None) else "none"
    return {"source": None, "fingerprint": None, "env_var": None, "status": status}


def describe_providers(
    app: "AppContext", index: Mapping[str, str] | None, environ: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every provider (built-ins, overlaid by the user's rows) for display: never a key."""
    from ..engine.directory import ProviderDirectory
    from ..providers import builtin_provider_settings

    entries: dict[str, dict[str, Any]] = {}
    builtins = set()
    for s in builtin_provider_settings():
        builtins.add(s.name)
        entries[s.name] = {"name": s.name, "kind": s.kind, "base_url": s.base_url, "default_model": s.default_model,
                           "options": dict(s.options), "row": None, "active": True}
    for row in app.storage.providers.list(app.user.id):
        entries[row.name] = {"name": row.name, "kind": row.kind, "base_url": row.base_url,
                             "default_model": row.default_model, "options": dict(row.options or {}), "row": row,
                             "active": row.is_active}
    try:
        default = ProviderDirectory(app.storage, app.user.id, use_keyring=False, environ=environ).default_name()
    except Exception:  # noqa: BLE001 - the marker is cosmetic; the list must still show
        default = None
    described = []
    for name in sorted(entries):
        e = entries[name]
        url, url_source = effective_base_url(e["kind"], e["base_url"], environ)
        described.append({
            "name": name,
            "kind": e["kind"],
            "base_url": url,
            "base_url_source": url_source,
            "default_model": e["default_model"],
            "api_key_env": e["options"].get("api_key_env"),
            "builtin": name in builtins,
            "added": e["row"] is not None,
            "active": e["active"],
            "default": name == default,
            "key": key_status(name, e["kind"], e["options"], e["row"], index, environ),
        })
    return described


def _keyring_index(timeout: float | None = None) -> tuple[dict[str, str] | None, Exception | None]:
    from ..secrets import KeyStoreError

    try:
        return {r.name: r.fingerprint for r in open_store(timeout).list()}, None
    except KeyStoreError as exc:
        return None, exc


# --- commands --------------------------------------------------------------------------


@click.group()
def providers() -> None:
    """LLM providers: the built-in openai, anthropic and ollama, and those you add.

    \b
    Keys are kept in the OS keyring under the provider's name:
      tui-chat providers add work --kind openai-compatible --base-url URL
      tui-chat keys set work
    """


@providers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_providers(ctx: click.Context, as_json: bool) -> None:
    """List providers with kind, base URL, default model and where the key comes from.

    The KEY column says "keyring sha256:…" (the fingerprint of the key in the keyring),
    "env VAR" (taken from the environment variable VAR) or "none".
    """
    index, problem = _keyring_index()
    with app_context(ctx) as app:
        entries = describe_providers(app, index, os.environ)
    if problem is not None:
        cause = getattr(problem, "cause", None) or str(problem)
        click.echo(f"tui-chat: warning: cannot read keys from the keyring ({cause}); "
                   "`tui-chat keys list` says how to fix it", err=True)
    if as_json:
        print_json(entries)
        return
    rows = [("", "NAME", "KIND", "BASE URL", "DEFAULT MODEL", "KEY")]
    for e in entries:
        name = e["name"] + ("" if e["active"] else " (inactive)")
        url = e["base_url"] or "-"
        if e["base_url_source"].startswith("env "):
            url += f" ({e['base_url_source'][4:]})"
        rows.append(("*" if e["default"] else "", name, e["kind"], url, e["default_model"] or "-",
                     e["key"]["status"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip())
    click.echo("* default provider", err=True)


@providers.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(KINDS), help="Which API the endpoint speaks.")
@click.option("--base-url", metavar="URL", help="Base URL of the API (required for openai-compatible).")
@click.option("--default-model", metavar="MODEL", help="Model to use when none is given.")
@click.option("--api-key-env", metavar="VAR",
              help="Name of an environment variable holding the key (used when the keyring has none).")
@click.option("--default", "make_default", is_flag=True, help="Make it the default provider.")
@click.pass_context
def add_provider(ctx: click.Context, name: str, kind: str, base_url: str | None, default_model: str | None,
                 api_key_env: str | None, make_default: bool) -> None:
    """Add provider NAME. Its key: `tui-chat keys set NAME` (never an option here).

    The first provider you add becomes the default; --default makes any one the default.
    """
    from storage import Conflict

    refuse_key_shaped("NAME", name)
    if name in builtin_names():
        raise AppError(
            f"{name!r} is a built-in provider and exists already; store its key with `tui-chat keys set "
            f"{name}`, or add your endpoint under another name",
            ExitCode.USAGE,
        )
    if api_key_env is not None and not _ENV_VAR_RE.match(api_key_env):
        raise AppError(
            "--api-key-env takes the NAME of an environment variable (such as GROQ_API_KEY), not a key; "
            "store keys with `tui-chat keys set NAME`",
            ExitCode.USAGE,
        )
    if base_url is not None:
        refuse_key_shaped("--base-url", base_url)
        if not re.match(r"(?i)^https?://", base_url.strip()):
            raise AppError("--base-url must be an http:// or https:// URL", ExitCode.USAGE)
    refuse_key_shaped("--default-model", default_model)
    options = {"api_key_env": api_key_env} if api_key_env else {}
    index, _ = _keyring_index(timeout=2.0)  # a key stored before the provider was added
    with app_context(ctx) as app:
        try:
            record = app.storage.providers.add(app.user.id, name, kind, base_url=base_url,
                                               default_model=default_model, options=options,
                                               make_default=make_default)
        except Conflict:
            raise AppError(f"a provider named {name!r} already exists; remove it first "
                           f"(`tui-chat providers remove {name}`) or choose another name", ExitCode.USAGE) from None
        if index is not None and name in index:
            store = open_store()
            record = app.storage.providers.set_key_reference(app.user.id, name, store.ref(name), index[name])
        status = key_status(name, kind, options, record, index, os.environ)["status"]
    url, _ = effective_base_url(kind, record.base_url, os.environ)
    details = ", ".join(p for p in (kind, url, record.default_model, "default" if record.is_default else None) if p)
    click.echo(f"added provider {name} ({details}); key: {status}")
    if status.startswith("none") and kind != "openai-compatible":
        click.echo(f"tui-chat: store its key with `tui-chat keys set {name}`", err=True)


@providers.command("remove")
@click.argument("name")
@click.option("--keep-key", is_flag=True, help="Remove only the provider's settings; leave its key in the keyring.")
@click.pass_context
def remove_provider(ctx: click.Context, name: str, keep_key: bool) -> None:
    """Remove provider NAME and its key in the keyring. Built-ins cannot be removed."""
    from ..secrets import KeyStoreError, parse_ref

    refuse_key_shaped("NAME", name)
    builtins = builtin_names()
    with app_context(ctx) as app:
        rows = {row.name: row for row in app.storage.providers.list(app.user.id)}
        row = rows.get(name)
        if row is None:
            if name in builtins:
                raise AppError(
                    f"{name!r} is a built-in provider and cannot be removed; to forget its key use "
                    f"`tui-chat keys remove {name}`",
                    ExitCode.USAGE,
                )
            raise AppError(f"there is no provider named {name!r} (see `tui-chat providers list`)", ExitCode.USAGE)
        overrides_builtin = name in builtins
        removed_keys: list[str] = []
        if not keep_key and not overrides_builtin:
            store = open_store()
            key_names = {name}
            if row.key_ref:
                try:
                    service, key_name = parse_ref(row.key_ref)
                except KeyStoreError:
                    service, key_name = "", ""
                # A key another provider is named after stays: it is that provider's key.
                if service == store.service and key_name not in builtins and key_name not in rows:
                    key_names.add(key_name)
            try:
                removed_keys = [key for key in sorted(key_names) if store.delete(key)]
            except KeyStoreError as exc:
                raise keyring_error(
                    exc, " Nothing was removed; to remove only the provider's settings, pass --keep-key."
                ) from None
        app.storage.providers.remove(app.user.id, name)
    if overrides_builtin:
        click.echo(f"removed your settings for {name}; the built-in {name} provider remains, with its key")
    elif removed_keys:
        click.echo(f"removed provider {name} and its key from the keyring")
    else:
        click.echo(f"removed provider {name}" + (" (its key stays in the keyring)" if keep_key else ""))

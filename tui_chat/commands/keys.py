"""``tui-chat keys``: provider keys in the OS keyring.

How a provider finds its key: **the keyring entry named after the provider.** ``keys set
openai`` is the key of the built-in ``openai`` provider; ``keys set work`` is the key of a
provider added as ``work``. Built-in providers need no database row for this (none is
created); for a provider you added, its ``provider_configs`` row also records a reference
to the entry and the key's fingerprint, for display. Neither the database nor any output
ever holds the key itself.

When a request is made the keyring entry wins; without one, the SDK's environment variable
(``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``) or the variable named by ``--api-key-env`` is
used, and never stored.

A key is read from a hidden prompt or from piped standard input, never from the command
line (where it would land in the shell history and the process list).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from ..errors import AppError, ExitCode
from . import app_context, print_json

if TYPE_CHECKING:
    from ..context import AppContext
    from ..secrets import KeyStore

#: Refusal for anything that tries to pass the key on the command line.
KEY_ARGUMENT_REFUSED = (
    "the key is not accepted on the command line, where it would be kept in your shell "
    "history: type it at the hidden prompt, or pipe it on standard input "
    "(e.g. `pass show openai | tui-chat keys set openai`); if you just typed a real key "
    "as an argument, consider rotating it"
)
_LONG_RANDOM_RE = re.compile(r"(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{24,}")


# --- helpers shared with ``tui-chat providers`` --------------------------------------


def looks_like_key(value: str) -> bool:
    """Whether ``value`` (a name, a URL, a model) looks like an API key: one that must not
    be stored as that, nor echoed back in an error message."""
    from ..logs import redact

    return redact(value) != value or bool(_LONG_RANDOM_RE.search(value))


def refuse_key_shaped(what: str, value: str | None) -> None:
    """Refuse a command-line value that looks like a key, without repeating it."""
    if value and looks_like_key(value):
        raise AppError(
            f"{what} looks like an API key; keys are never given on the command line "
            "(store one with `tui-chat keys set NAME`, which prompts for it or reads it "
            "from standard input)",
            ExitCode.USAGE,
        )


def keyring_error(exc: Exception, suffix: str = "") -> AppError:
    """A key-store failure as a one-line error: the keyring unavailable is exit 3, a bad
    name or key is a usage error (exit 2). Messages never hold the key."""
    from ..secrets import KeyringUnavailable

    code = ExitCode.CONFIG if isinstance(exc, KeyringUnavailable) else ExitCode.USAGE
    return AppError(f"{exc}{suffix}", code)


def open_store(timeout: float | None = None) -> "KeyStore":
    from ..secrets import DEFAULT_TIMEOUT, KeyStore

    return KeyStore(timeout=DEFAULT_TIMEOUT if timeout is None else timeout)


def builtin_names() -> list[str]:
    from ..providers import builtin_provider_settings

    return [s.name for s in builtin_provider_settings()]


def provider_names(app: "AppContext") -> list[str]:
    """Every provider name: built-ins and the user's rows."""
    names = set(builtin_names())
    names.update(row.name for row in app.storage.providers.list(app.user.id))
    return sorted(names)


def key_users(app: "AppContext", store: "KeyStore") -> dict[str, list[str]]:
    """Key name -> the providers that use it (the provider of that name, plus any row
    whose reference points at the entry)."""
    from ..secrets import KeyStoreError, parse_ref

    used: dict[str, set[str]] = {}
    for name in builtin_names():
        used.setdefault(name, set()).add(name)
    for row in app.storage.providers.list(app.user.id):
        used.setdefault(row.name, set()).add(row.name)
        if row.key_ref:
            try:
                service, key_name = parse_ref(row.key_ref)
            except KeyStoreError:
                continue
            if service == store.service:
                used.setdefault(key_name, set()).add(row.name)
    return {name: sorted(users) for name, users in used.items()}


def _check_name(name: str) -> None:
    from ..secrets import KeyStoreError, validate_name

    refuse_key_shaped("NAME", name)
    try:
        validate_name(name)
    except KeyStoreError as exc:
        raise keyring_error(exc) from None


def _reject_extra_arguments(extra: Iterable[str]) -> None:
    if list(extra):
        raise AppError(KEY_ARGUMENT_REFUSED, ExitCode.USAGE)


def _read_secret(name: str) -> str:
    """The key, from a hidden prompt on a terminal or from piped standard input."""
    from ..secrets import MAX_SECRET_LENGTH

    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise AppError("there is no standard input to read the key from", ExitCode.USAGE)
    if stdin.isatty():
        return click.prompt(f"Key for {name} (input hidden)", hide_input=True, err=True)
    try:
        return stdin.read(MAX_SECRET_LENGTH * 2)
    except UnicodeDecodeError:
        raise AppError("standard input is not valid UTF-8 text; pipe the key as text", ExitCode.USAGE) from None


def _rows_named(app: "AppContext", name: str) -> list[Any]:
    return [row for row in app.storage.providers.list(app.user.id) if row.name == name]


# --- commands --------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """Provider keys in the OS keyring (never in files, never on the command line).

    \b
    A provider uses the keyring entry with its own name:
      tui-chat keys set openai      the key of the built-in openai provider
      tui-chat keys set work        the key of the provider you added as `work`
    The keyring entry is preferred over OPENAI_API_KEY / ANTHROPIC_API_KEY,
    which are used (never stored) when there is no entry.
    """


@keys.command("set", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("name")
@click.pass_context
def set_key(ctx: click.Context, name: str) -> None:
    """Store the key for provider NAME in the OS keyring.

    The key is read from a hidden prompt, or from standard input when it is piped
    (`pass show openai | tui-chat keys set openai`). It is never accepted as an
    argument or option, where it would be kept in your shell history.

    NAME is the provider's name: `openai`, `anthropic`, `ollama` or one you added with
    `tui-chat providers add`. A built-in provider uses the entry of its name directly;
    for an added provider the database also records a reference to the entry and the
    key's fingerprint (never the key). Prints the fingerprint, never the key.
    """
    from ..secrets import KeyStoreError

    _reject_extra_arguments(ctx.args)
    _check_name(name)
    store = open_store()
    try:
        store.check()  # before asking for a key the keyring could not keep
    except KeyStoreError as exc:
        raise keyring_error(exc) from None
    secret = _read_secret(name)
    try:
        record = store.set(name, secret)
    except KeyStoreError as exc:
        raise keyring_error(exc) from None
    finally:
        del secret
    with app_context(ctx) as app:
        for row in _rows_named(app, name):
            app.storage.providers.set_key_reference(app.user.id, row.name, record.ref, record.fingerprint)
        known = provider_names(app)
    click.echo(f"stored the key for {name} in the keyring: {record.fingerprint}")
    if name not in known:
        click.echo(
            f"tui-chat: note: no provider is named {name!r} yet ({', '.join(known)}); the key "
            f"will be used by a provider added as {name!r}",
            err=True,
        )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_keys(ctx: click.Context, as_json: bool) -> None:
    """List the stored keys: names, fingerprints and the providers using them."""
    from ..secrets import KeyStoreError

    store = open_store()
    try:
        records = store.list()
    except KeyStoreError as exc:
        raise keyring_error(exc) from None
    with app_context(ctx) as app:
        users = key_users(app, store)
    entries = [
        {"name": r.name, "fingerprint": r.fingerprint, "ref": r.ref, "providers": users.get(r.name, [])}
        for r in records
    ]
    if as_json:
        print_json(entries)
        return
    if not entries:
        click.echo("tui-chat: no keys in the keyring yet; add one with `tui-chat keys set NAME`", err=True)
        return
    width = max(4, *(len(e["name"]) for e in entries))
    click.echo(f"{'NAME':<{width}}  {'FINGERPRINT':<15}  USED BY")
    for e in entries:
        click.echo(f"{e['name']:<{width}}  {e['fingerprint']:<15}  {', '.join(e['providers']) or '(no provider)'}")


@keys.command("remove", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("name")
@click.pass_context
def remove_key(ctx: click.Context, name: str) -> None:
    """Remove the key NAME from the OS keyring (and its reference from the database)."""
    from ..secrets import KeyStoreError

    _reject_extra_arguments(ctx.args)
    _check_name(name)
    store = open_store()
    try:
        existed = store.delete(name)
    except KeyStoreError as exc:
        raise keyring_error(exc) from None
    ref = store.ref(name)
    cleared = []
    with app_context(ctx) as app:
        for row in app.storage.providers.list(app.user.id):
            if row.key_ref is not None and (row.name == name or row.key_ref == ref):
                app.storage.providers.set_key_reference(app.user.id, row.name, None, None)
                cleared.append(row.name)
    if not existed and not cleared:
        raise AppError(f"there is no key named {name!r} in the keyring (see `tui-chat keys list`)", ExitCode.USAGE)
    click.echo(f"removed the key for {name} from the keyring")

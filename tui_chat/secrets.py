"""Provider keys in the OS keyring.

Keys live in the system keyring (Secret Service, macOS Keychain, Windows Credential
Locker) through :mod:`keyring`. The database only ever holds a *reference* (``ref``) to
find a key again and a short *fingerprint* to show which key it is; neither reveals any
part of the key.

Every keyring call runs in a worker thread with a timeout, and a keyring that cannot
serve without a password prompt (a locked collection, an encrypted file backend asking
on stdin) is refused up front: a broken or locked keyring never hangs the app and never
shows a traceback. It raises :class:`KeyringUnavailable`, whose one-line message names
the cause and how to fix it.

``keyring`` is imported lazily, inside the functions that need it: importing this module
costs nothing on the TUI's first paint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SERVICE = "tui-chat"
#: Seconds a single keyring operation may take before it is abandoned.
DEFAULT_TIMEOUT = 5.0
#: Longest key accepted. Real API keys are well under 300 characters.
MAX_SECRET_LENGTH = 4096
#: Username of the non-secret index entry (names and fingerprints only).
INDEX_USERNAME = "__index__"
REF_PREFIX = "keyring:"

#: The environment variable each provider kind's SDK reads for its key.
ENV_KEY_VARS: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}
#: Kinds whose endpoint always needs a key (an openai-compatible one may not: Ollama).
KINDS_REQUIRING_KEY = frozenset(ENV_KEY_VARS)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_BAD_CHARS_RE = re.compile(r"[\s\x00-\x1f\x7f]")

FIX_INSTALL = (
    "install and unlock a Secret Service such as gnome-keyring (or enable KeePassXC's "
    "Secret Service integration)"
)
FIX_BACKEND = (
    "choose a keyring backend with PYTHON_KEYRING_BACKEND "
    "(for example keyring.backends.SecretService.Keyring)"
)
FIX_ENV = (
    "set the key in the environment instead (OPENAI_API_KEY, ANTHROPIC_API_KEY), "
    "which tui-chat uses without storing it"
)
FIXES = "; or ".join((FIX_INSTALL, FIX_BACKEND, FIX_ENV))


# --- errors ------------------------------------------------------------------------


class KeyStoreError(Exception):
    """A key could not be stored, read or removed. The message never holds the key."""


class KeyringUnavailable(KeyStoreError):
    """The system keyring cannot serve right now.

    ``reason`` is one of ``no-backend``, ``locked``, ``prompting-backend``,
    ``insecure-backend``, ``timeout`` or ``error``; ``cause`` says what happened and
    ``fixes`` how to fix it. ``str()`` is one line suitable for stderr or a status bar.
    """

    def __init__(self, cause: str, reason: str = "error", fixes: str = FIXES) -> None:
        self.cause = cause
        self.reason = reason
        self.fixes = fixes
        super().__init__(f"The system keyring cannot be used: {cause}. To fix it: {fixes}.")


# --- values ------------------------------------------------------------------------


def fingerprint(secret: str) -> str:
    """A short display form of a key that reveals nothing of it.

    Unlike the common ``sk-…abcd`` form it holds no character taken from the key: it is
    the first 8 hex digits of the key's SHA-256 (32 bits: enough to tell keys apart on
    screen, far too little to confirm a guess offline of a high-entropy key).
    """
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key as the database and the UI see it: never the key itself."""

    name: str
    ref: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """A key found for a provider, and where it came from.

    ``source`` is ``"keyring"`` or ``"env"``; ``origin`` is the keyring ref or the name
    of the environment variable. The value is hidden from ``repr``.
    """

    value: str = field(repr=False)
    source: Literal["keyring", "env"]
    origin: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)

    def __repr__(self) -> str:
        return (
            f"ResolvedKey(source={self.source!r}, origin={self.origin!r}, "
            f"fingerprint={self.fingerprint!r})"
        )


def make_ref(service: str, name: str) -> str:
    return f"{REF_PREFIX}{service}/{name}"


def parse_ref(ref: str) -> tuple[str, str]:
    """``"keyring:tui-chat/openai"`` -> ``("tui-chat", "openai")``."""
    if not ref.startswith(REF_PREFIX) or "/" not in ref:
        raise KeyStoreError(f"not a keyring reference: {ref[:80]!r}")
    service, _, name = ref[len(REF_PREFIX) :].rpartition("/")
    if not service or not name:
        raise KeyStoreError(f"not a keyring reference: {ref[:80]!r}")
    return service, name


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise KeyStoreError(
            f"invalid key name {str(name)[:70]!r}: use 1-64 letters, digits, '.', '_', "
            "'-' or '@', starting with a letter or digit"
        )
    return name


def clean_secret(secret: str) -> str:
    """Strip surrounding whitespace (a pasted newline) and refuse what is not a key."""
    if not isinstance(secret, str):
        raise KeyStoreError("the key must be text")
    cleaned = secret.strip()
    if not cleaned:
        raise KeyStoreError("the key is empty")
    if len(cleaned) > MAX_SECRET_LENGTH:
        raise KeyStoreError(
            f"the key is {len(cleaned)} characters long; keys longer than "
            f"{MAX_SECRET_LENGTH} are refused (was a file pasted by mistake?)"
        )
    if _BAD_CHARS_RE.search(cleaned):
        raise KeyStoreError(
            "the key contains spaces, line breaks or control characters "
            "(were two keys or extra text pasted?)"
        )
    return cleaned


# --- backend checks ----------------------------------------------------------------


def _class_path(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_prompting(backend: Any) -> bool:
    """Backends that ask for a password on stdin (keyrings.alt, keyrings.cryptfile)."""
    for cls in type(backend).__mro__:
        module = cls.__module__ or ""
        if module.startswith("keyrings.cryptfile"):
            return True
        if module.startswith("keyrings.") and "Encrypted" in cls.__name__:
            return True
    return False


def _is_secret_service(backend: Any) -> bool:
    return type(backend).__module__ in (
        "keyring.backends.SecretService",
        "keyring.backends.libsecret",
    )


def _chosen_by_user(backend: Any) -> bool:
    """Whether PYTHON_KEYRING_BACKEND or keyringrc.cfg names this backend's class."""
    path = _class_path(backend)
    if os.environ.get("PYTHON_KEYRING_BACKEND", "").strip() == path:
        return True
    try:
        import configparser

        from keyring.core import _config_path

        config = configparser.RawConfigParser()
        config.read(_config_path(), encoding="utf-8")
        return config.get("backend", "default-keyring", fallback="").strip() == path
    except Exception:  # noqa: BLE001 - an unreadable config just means "not chosen"
        return False


def _priority(backend: Any) -> float | None:
    try:
        return float(type(backend).priority)
    except Exception:  # noqa: BLE001 - keyring signals "not viable" by raising
        return None


def _check_secret_service_unlocked(backend: Any) -> None:
    """Refuse a locked collection instead of letting the backend open an unlock prompt."""
    try:
        import secretstorage
    except ImportError:
        return  # libsecret without secretstorage: the timeout still guards the call
    from contextlib import closing

    path = getattr(backend, "preferred_collection", None) or secretstorage.collection.DEFAULT_COLLECTION
    with closing(secretstorage.dbus_init()) as connection:
        try:
            collection = secretstorage.Collection(connection, path)
        except secretstorage.exceptions.ItemNotFoundException:
            raise KeyringUnavailable(
                "the Secret Service has no default collection (keyring) to store keys "
                "in, and creating one would open a password prompt",
                reason="locked",
                fixes="; or ".join(
                    ("create and unlock a default keyring (e.g. 'Login' in Seahorse)", FIX_BACKEND, FIX_ENV)
                ),
            ) from None
        if collection.is_locked():
            try:
                label = collection.get_label()
            except Exception:  # noqa: BLE001
                label = "default"
            raise KeyringUnavailable(
                f"the Secret Service collection {label!r} is locked, and tui-chat does "
                "not open an unlock prompt",
                reason="locked",
                fixes="; or ".join(
                    (
                        "unlock it (log in to your desktop session, or unlock it in "
                        "Seahorse or KeePassXC) and try again",
                        FIX_BACKEND,
                        FIX_ENV,
                    )
                ),
            )


def check_backend(backend: "KeyringBackend", *, explicit: bool = False) -> None:
    """Raise :class:`KeyringUnavailable` unless ``backend`` can serve without a prompt.

    May talk to D-Bus: call it through the store's timeout, as :class:`KeyStore` does.
    """
    from keyring.backends import chainer, fail, null

    name = _class_path(backend)
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable("no keyring backend is available on this system", "no-backend")
    if isinstance(backend, null.Keyring):
        raise KeyringUnavailable(
            "the keyring backend is the null backend, which discards keys", "no-backend"
        )
    members = [backend]
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        if not members:
            raise KeyringUnavailable("no keyring backend is available on this system", "no-backend")
    for member in members:
        if _is_prompting(member):
            raise KeyringUnavailable(
                f"the keyring backend {_class_path(member)} asks for a password on the "
                "terminal, which would freeze the app",
                "prompting-backend",
            )
    if members == [backend] and not explicit and not _chosen_by_user(backend):
        priority = _priority(backend)
        if priority is None or priority < 1:
            raise KeyringUnavailable(
                f"the only keyring backend found is {name}, a file or fallback backend "
                "that keyring does not recommend",
                "insecure-backend",
            )
    for member in members:
        if _is_secret_service(member):
            _check_secret_service_unlocked(member)


# --- the store ---------------------------------------------------------------------


class KeyStore:
    """Named provider keys in the system keyring.

    ``backend`` defaults to keyring's own choice (``keyring.get_keyring()``, which
    honours ``PYTHON_KEYRING_BACKEND``); passing one marks it as chosen on purpose.
    Besides the keys, the store keeps one non-secret entry (``__index__``) holding the
    names and fingerprints, since keyring has no way to list entries.
    """

    def __init__(
        self,
        service: str = DEFAULT_SERVICE,
        backend: "KeyringBackend | None" = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not service or "/" in service:
            raise KeyStoreError(f"invalid keyring service name {service!r}")
        self.service = service
        self.timeout = timeout
        self._backend = backend
        self._explicit = backend is not None
        self._index_lock = threading.Lock()
        self._stuck: threading.Thread | None = None

    def __repr__(self) -> str:
        backend = _class_path(self._backend) if self._backend is not None else "default"
        return f"KeyStore(service={self.service!r}, backend={backend})"

    # public API

    def ref(self, name: str) -> str:
        return make_ref(self.service, validate_name(name))

    def set(self, name: str, secret: str) -> KeyRecord:
        validate_name(name)
        value = clean_secret(secret)
        record = KeyRecord(name, make_ref(self.service, name), fingerprint(value))

        def op(backend: "KeyringBackend") -> None:
            backend.set_password(self.service, name, value)
            with self._index_lock:
                index = self._read_index(backend)
                index[name] = record.fingerprint
                self._write_index(backend, index)

        self._call("store the key", op, secret=value)
        return record

    def get(self, name: str) -> str | None:
        validate_name(name)
        return self._call("read the key", lambda b: b.get_password(self.service, name))

    def get_ref(self, ref: str) -> str | None:
        """The key a ``ref`` (as kept in the database) points to."""
        service, name = parse_ref(ref)
        if service != self.service:
            return KeyStore(service, self._backend, timeout=self.timeout).get(name)
        return self.get(name)

    def delete(self, name: str) -> bool:
        """Remove a key; ``False`` if there was none by that name."""
        validate_name(name)

        def op(backend: "KeyringBackend") -> bool:
            from keyring.errors import PasswordDeleteError

            existed = True
            try:
                backend.delete_password(self.service, name)
            except PasswordDeleteError:
                existed = False
            with self._index_lock:
                index = self._read_index(backend)
                if index.pop(name, None) is not None:
                    self._write_index(backend, index)
            return existed

        return self._call("remove the key", op)

    def list(self) -> list[KeyRecord]:
        """Names and fingerprints of the stored keys, by name."""
        index = self._call("list the keys", self._read_index)
        return [
            KeyRecord(name, make_ref(self.service, name), fp) for name, fp in sorted(index.items())
        ]

    def check(self) -> None:
        """Raise :class:`KeyringUnavailable` unless the keyring can serve right now."""
        self._call("open the keyring", lambda backend: None)

    # internals

    def _resolve_backend(self) -> "KeyringBackend":
        if self._backend is not None:
            return self._backend
        import keyring

        try:
            return keyring.get_keyring()
        except Exception as exc:  # noqa: BLE001 - e.g. a misspelled PYTHON_KEYRING_BACKEND
            chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
            what = (
                f"the keyring backend named by PYTHON_KEYRING_BACKEND ({chosen[:100]!r})"
                if chosen is not None
                else "the configured keyring backend"
            )
            raise KeyringUnavailable(
                f"{what} cannot be loaded: {type(exc).__name__}: {_one_line(exc)}", "no-backend"
            ) from None

    def _read_index(self, backend: "KeyringBackend") -> dict[str, str]:
        raw = backend.get_password(self.service, INDEX_USERNAME)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
            keys = data["keys"]
            return {str(k): str(v["fingerprint"]) for k, v in keys.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("the keyring index entry of %r is unreadable; rebuilding it", self.service)
            return {}

    def _write_index(self, backend: "KeyringBackend", index: dict[str, str]) -> None:
        payload = {"version": 1, "keys": {k: {"fingerprint": v} for k, v in sorted(index.items())}}
        backend.set_password(self.service, INDEX_USERNAME, json.dumps(payload, sort_keys=True))

    def _call(self, action: str, op: Callable[["KeyringBackend"], T], *, secret: str | None = None) -> T:
        """Run ``op`` on the backend in a worker thread, within ``self.timeout``."""
        if self._stuck is not None and self._stuck.is_alive():
            raise KeyringUnavailable(
                "an earlier keyring call has still not returned (the Secret Service or "
                "D-Bus is not answering)",
                "timeout",
            )
        self._stuck = None
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                backend = self._resolve_backend()
                check_backend(backend, explicit=self._explicit)
                outcome["value"] = op(backend)
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"keyring-{action.split()[0]}", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            self._stuck = worker
            raise KeyringUnavailable(
                f"the keyring did not answer within {self.timeout:g} s while trying to "
                f"{action} (the Secret Service or D-Bus is not responding)",
                "timeout",
            )
        if "error" in outcome:
            # Raised here, outside any ``except`` block, so no exception chain (which
            # could carry a backend's message with the key in it) is attached.
            raise _translate(outcome.pop("error"), action, secret)
        return outcome["value"]


def _translate(exc: BaseException, action: str, secret: str | None) -> KeyStoreError:
    from keyring.errors import KeyringLocked, NoKeyringError

    if isinstance(exc, KeyStoreError):
        return exc
    detail = _one_line(exc, secret)
    kind = type(exc).__name__
    if isinstance(exc, NoKeyringError):
        return KeyringUnavailable(f"no keyring backend is available ({detail})", "no-backend")
    if isinstance(exc, KeyringLocked):
        return KeyringUnavailable(f"the keyring is locked ({detail})", "locked")
    if isinstance(exc, OSError) or type(exc).__module__.startswith(("secretstorage", "jeepney")):
        return KeyringUnavailable(
            f"could not {action}: the Secret Service cannot be reached over D-Bus ({kind}: {detail})",
            "error",
        )
    return KeyringUnavailable(f"could not {action}: {kind}: {detail}", "error")


def _one_line(exc: BaseException, secret: str | None = None) -> str:
    """An exception's message on one short line, with the key (if known) redacted."""
    detail = " ".join(str(exc).split())
    if secret:
        detail = detail.replace(secret, "[redacted]")
    return detail[:200] or "no details"


# --- resolving a provider's key ----------------------------------------------------


def resolve_api_key(
    provider_name: str,
    kind: str,
    store: KeyStore | None,
    environ: Mapping[str, str] | None = None,
    *,
    env_var: str | None = None,
    required: bool | None = None,
) -> ResolvedKey | None:
    """The key to call ``provider_name`` with, or ``None`` when there is none.

    Order: the keyring entry named after the provider, then the SDK's environment
    variable for ``kind`` (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``; an
    openai-compatible endpoint has none unless ``env_var`` is configured). Keys from the
    environment are used as they are and never stored.

    If the keyring is unavailable, the environment variable is used when set; without
    one, :class:`KeyringUnavailable` is raised for kinds that always need a key
    (``required``, by default: openai and anthropic) and ``None`` returned for others
    (an endpoint like Ollama needs no key).
    """
    env = os.environ if environ is None else environ
    var = env_var or ENV_KEY_VARS.get(kind)
    unavailable: KeyringUnavailable | None = None
    if store is not None:
        try:
            value = store.get(provider_name)
        except KeyringUnavailable as exc:
            unavailable = exc
        else:
            if value:
                return ResolvedKey(value, "keyring", store.ref(provider_name))
    if var:
        value = (env.get(var) or "").strip()
        if value:
            return ResolvedKey(value, "env", var)
    if unavailable is not None:
        needs_key = (kind in KINDS_REQUIRING_KEY) if required is None else required
        if needs_key:
            raise unavailable
        log.info("keyring unavailable, using no key for %s: %s", provider_name, unavailable.cause)
    return None


__all__ = [
    "DEFAULT_SERVICE",
    "ENV_KEY_VARS",
    "KeyRecord",
    "KeyStore",
    "KeyStoreError",
    "KeyringUnavailable",
    "ResolvedKey",
    "check_backend",
    "clean_secret",
    "fingerprint",
    "make_ref",
    "parse_ref",
    "resolve_api_key",
    "validate_name",
]

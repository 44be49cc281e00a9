"""Provider configurations: named endpoints per user, never holding a key.

A configuration holds the kind (openai, anthropic, openai-compatible), an optional base
URL, a default model and non-secret options. The key itself lives in the OS keyring; the
row keeps only a reference to it (``key_ref``, e.g. ``keyring:tui-chat/openai``) and a
short fingerprint to show which key it is. As a last line of defence, anything that
looks like a secret (an option named like a key or token, credentials inside a URL, a
value shaped like an API key) is refused with a :class:`ValidationError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import enums
from ..errors import Conflict, NotFound, ValidationError
from ..models import ProviderConfig, User
from ..types import utcnow
from .base import Service, check_choice, check_json, check_length, to_record

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
KEY_REF_RE = re.compile(r"^[a-z][a-z0-9+.-]{0,30}:\S{1,260}$")
FINGERPRINT_RE = re.compile(r"^[a-z0-9]{1,16}:[0-9a-f]{4,24}$")
MAX_OPTIONS_BYTES = 64 * 1024

#: Words that make a name look like it holds a secret ("access_token", "apiKey", ...).
_SECRET_WORDS = frozenset(
    {"token", "password", "passwd", "passphrase", "secret", "authorization", "bearer",
     "credential", "credentials", "apikey", "cookie"}
)
_SECRET_JOINED = frozenset(
    {"key", "apikey", "xapikey", "authkey", "accesskey", "privatekey", "secretkey",
     "subscriptionkey", "auth", "pwd"}
)
#: Values shaped like real keys (OpenAI, Anthropic, GitHub, Slack, bearer headers).
_SECRET_VALUE_RE = re.compile(r"^(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-\S{10,}|Bearer\s+\S+)")

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class ProviderConfigRecord:
    id: str
    name: str
    kind: str
    base_url: str | None
    default_model: str | None
    options: dict[str, Any]
    key_ref: str | None
    key_fingerprint: str | None
    is_active: bool
    is_default: bool
    created_at: datetime
    updated_at: datetime

    @property
    def has_key(self) -> bool:
        return self.key_ref is not None


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]


def looks_secret_name(name: str) -> bool:
    """Whether a key name looks like it would hold a secret (``max_tokens`` does not)."""
    words = _words(name)
    return bool(_SECRET_WORDS.intersection(words)) or "".join(words) in _SECRET_JOINED or (
        len(words) >= 2 and words[-1] == "key" and words[-2] in {"api", "access", "private", "secret", "auth"}
    )


def find_secrets(value: Any, path: str = "") -> list[str]:
    """Paths of everything in ``value`` that looks like a secret: names and values."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if looks_secret_name(str(key)):
                found.append(where)
            else:
                found.extend(find_secrets(item, where))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(find_secrets(item, f"{path}[{index}]"))
    elif isinstance(value, str) and _SECRET_VALUE_RE.match(value.strip()):
        found.append(path or "value")
    return found


def refuse_secrets(field: str, value: Any, advice: str) -> None:
    """Refuse ``value`` when anything in it looks like a secret, saying where it should go."""
    secrets = find_secrets(value)
    if secrets:
        raise ValidationError(field, f"{', '.join(secrets)} looks like a secret; {advice}")


def check_url(field: str, url: str) -> str:
    """An http(s) URL with a host and no credentials in it."""
    check_length(field, url, 2048, required=True)
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise ValidationError(field, f"{url!r} is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(field, f"{url!r} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValidationError(field, "must not contain credentials; store the key in the keyring")
    secret_params = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True) if looks_secret_name(key)]
    if secret_params:
        raise ValidationError(field, f"query parameter {secret_params[0]!r} looks like a secret; "
                                     "store it in the keyring instead")
    return url.strip()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValidationError(
            "name",
            f"{str(name)[:70]!r} is not a valid provider name: use 1-64 lowercase letters, digits, "
            "'.', '_' or '-', starting with a letter or digit",
        )
    return name


def _check_options(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValidationError("options", f"must be a mapping, not {type(options).__name__}")
    check_json("options", options, MAX_OPTIONS_BYTES)
    refuse_secrets("options", options, "keys belong in the OS keyring (tui-chat keys set NAME), never in the database")
    return options


def _check_key_ref(key_ref: str | None, fingerprint: str | None) -> None:
    if (key_ref is None) != (fingerprint is None):
        raise ValidationError("key_ref", "a key reference and its fingerprint go together")
    if key_ref is None:
        return
    if _SECRET_VALUE_RE.match(key_ref) or not KEY_REF_RE.match(key_ref):
        raise ValidationError("key_ref", "must be a keyring reference such as 'keyring:tui-chat/openai', "
                                         "never the key itself")
    if not isinstance(fingerprint, str) or not FINGERPRINT_RE.match(fingerprint):
        raise ValidationError("key_fingerprint", "must be a short fingerprint such as 'sha256:1a2b3c4d'")


def _check_fields(kind: str, base_url: str | None, default_model: str | None) -> str | None:
    check_choice("kind", kind, enums.PROVIDER_KINDS)
    if base_url is not None:
        base_url = check_url("base_url", base_url)
    elif kind == "openai-compatible":
        raise ValidationError("base_url", "an openai-compatible provider needs the base URL of its API")
    check_length("default_model", default_model, 200)
    return base_url


def _record(row: ProviderConfig) -> ProviderConfigRecord:
    return to_record(ProviderConfigRecord, row, options=dict(row.options or {}))


class ProviderConfigService(Service):
    def add(
        self,
        user_id: str,
        name: str,
        kind: str,
        base_url: str | None = None,
        default_model: str | None = None,
        options: dict[str, Any] | None = None,
        key_ref: str | None = None,
        key_fingerprint: str | None = None,
        *,
        make_default: bool = False,
    ) -> ProviderConfigRecord:
        """Add a provider. The user's first provider becomes the default."""
        _check_name(name)
        base_url = _check_fields(kind, base_url, default_model)
        clean_options = _check_options(options)
        _check_key_ref(key_ref, key_fingerprint)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            if self._find(session, user_id, name) is not None:
                raise Conflict(f"a provider named {name!r} already exists; choose another name or update it")
            first = session.scalar(select(ProviderConfig.id).where(ProviderConfig.user_id == user_id).limit(1)) is None
            if make_default and not first:
                self._clear_default(session, user_id)
            row = ProviderConfig(
                user_id=user_id, name=name, kind=kind, base_url=base_url, default_model=default_model,
                options=clean_options, key_ref=key_ref, key_fingerprint=key_fingerprint,
                is_default=make_default or first,
            )
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                raise Conflict(f"a provider named {name!r} already exists") from None
            return _record(row)

    def get_by_name(self, user_id: str, name: str) -> ProviderConfigRecord:
        with self.db.read() as session:
            return _record(self._get(session, user_id, name))

    def get_default(self, user_id: str) -> ProviderConfigRecord | None:
        with self.db.read() as session:
            row = session.scalars(
                select(ProviderConfig).where(ProviderConfig.user_id == user_id, ProviderConfig.is_default.is_(True))
            ).first()
            return _record(row) if row is not None else None

    def list(self, user_id: str, *, active_only: bool = False) -> list[ProviderConfigRecord]:
        """The user's providers: the default first, then by name."""
        query = select(ProviderConfig).where(ProviderConfig.user_id == user_id)
        if active_only:
            query = query.where(ProviderConfig.is_active.is_(True))
        with self.db.read() as session:
            rows = session.scalars(query.order_by(ProviderConfig.is_default.desc(), ProviderConfig.name)).all()
            return [_record(row) for row in rows]

    def update(
        self,
        user_id: str,
        name: str,
        *,
        new_name: str = _UNSET,
        kind: str = _UNSET,
        base_url: str | None = _UNSET,
        default_model: str | None = _UNSET,
        options: dict[str, Any] = _UNSET,
        is_active: bool = _UNSET,
    ) -> ProviderConfigRecord:
        """Change some fields (omitted ones stay as they are; ``None`` clears)."""
        with self.db.write() as session:
            row = self._get(session, user_id, name)
            target_kind = row.kind if kind is _UNSET else kind
            target_url = row.base_url if base_url is _UNSET else base_url
            target_model = row.default_model if default_model is _UNSET else default_model
            row.base_url = _check_fields(target_kind, target_url, target_model)
            row.kind, row.default_model = target_kind, target_model
            if options is not _UNSET:
                row.options = _check_options(options)
            if is_active is not _UNSET:
                if not isinstance(is_active, bool):
                    raise ValidationError("is_active", "must be true or false")
                row.is_active = is_active
            if new_name is not _UNSET and new_name != name:
                _check_name(new_name)
                if self._find(session, user_id, new_name) is not None:
                    raise Conflict(f"a provider named {new_name!r} already exists")
                row.name = new_name
            row.updated_at = utcnow()
            session.flush()
            return _record(row)

    def set_key_reference(
        self, user_id: str, name: str, key_ref: str | None, fingerprint: str | None
    ) -> ProviderConfigRecord:
        """Point the provider at a key in the keyring (``None``, ``None`` forgets it)."""
        _check_key_ref(key_ref, fingerprint)
        with self.db.write() as session:
            row = self._get(session, user_id, name)
            row.key_ref, row.key_fingerprint = key_ref, fingerprint
            row.updated_at = utcnow()
            session.flush()
            return _record(row)

    def set_default(self, user_id: str, name: str) -> ProviderConfigRecord:
        with self.db.write() as session:
            row = self._get(session, user_id, name)
            self._clear_default(session, user_id)
            row.is_default = True
            session.flush()
            return _record(row)

    def remove(self, user_id: str, name: str) -> ProviderConfigRecord:
        """Delete the provider and return what it was (so its keyring entry can go too)."""
        with self.db.write() as session:
            row = self._get(session, user_id, name)
            record = _record(row)
            session.delete(row)
            return record

    @staticmethod
    def _clear_default(session: Any, user_id: str) -> None:
        session.execute(
            update(ProviderConfig)
            .where(ProviderConfig.user_id == user_id, ProviderConfig.is_default.is_(True))
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )

    @staticmethod
    def _find(session: Any, user_id: str, name: str) -> ProviderConfig | None:
        return session.scalars(
            select(ProviderConfig).where(ProviderConfig.user_id == user_id, ProviderConfig.name == name)
        ).one_or_none()

    def _get(self, session: Any, user_id: str, name: str) -> ProviderConfig:
        row = self._find(session, user_id, name)
        if row is None:
            raise NotFound("provider", name)
        return row

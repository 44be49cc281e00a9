"""Integrations (seed 004): external connections, first of all MCP servers.

Configurations are validated per kind:

- ``mcp-stdio``: ``command`` is the argument list (``["npx", "-y", "server"]``, never a
  shell string) and ``env`` an explicit mapping of the variables the server gets (it
  does not inherit the app's environment); optional ``cwd`` and ``timeout``.
- ``mcp-http``: ``url`` is an http(s) URL; optional ``headers`` and ``timeout``.
- ``other``: any JSON object.

Credentials never go in the configuration: anything named like a secret (an
``API_KEY`` or ``GITHUB_TOKEN`` variable, an ``Authorization`` header) is refused, and
the credentials are referenced in the OS keyring with ``credentials_ref``. The name is
also the prefix of the server's tools (``name.tool``), so it cannot contain a dot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import enums
from ..errors import Conflict, NotFound, ValidationError
from ..models import Integration, User
from ..types import utcnow
from .base import Service, check_choice, check_json, check_length, to_record
from .providers import KEY_REF_RE, check_url, refuse_secrets

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
MAX_CONFIG_BYTES = 64 * 1024
MAX_ERROR_LENGTH = 4000
MAX_TIMEOUT_SECONDS = 3600
_STDIO_KEYS = {"command", "env", "cwd", "timeout"}
_HTTP_KEYS = {"url", "headers", "timeout"}
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class IntegrationRecord:
    id: str
    name: str
    kind: str
    config: dict[str, Any]
    credentials_ref: str | None
    status: str
    error: str | None
    connected_at: datetime | None
    last_synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValidationError(
            "name",
            f"{str(name)[:70]!r} is not a valid integration name: use 1-64 lowercase letters, digits, "
            "'_' or '-' (no dots: tools are named server.tool)",
        )
    return name


def _check_timeout(config: dict[str, Any]) -> None:
    timeout = config.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_SECONDS
    ):
        raise ValidationError("config.timeout", f"must be a number of seconds from 0 to {MAX_TIMEOUT_SECONDS}")


def _check_strings(field: str, mapping: Any, key_re: re.Pattern[str] | None = None) -> None:
    if not isinstance(mapping, dict):
        raise ValidationError(field, "must be a mapping of names to text values")
    for key, value in mapping.items():
        if not isinstance(key, str) or (key_re is not None and not key_re.match(key)):
            raise ValidationError(field, f"{key!r} is not a valid name")
        if not isinstance(value, str):
            raise ValidationError(f"{field}.{key}", "must be text")


def check_config(kind: str, config: Any) -> dict[str, Any]:
    """``config`` validated for ``kind`` (see the module docstring)."""
    check_choice("kind", kind, enums.INTEGRATION_KINDS)
    if not isinstance(config, dict):
        raise ValidationError("config", f"must be a mapping, not {type(config).__name__}")
    check_json("config", config, MAX_CONFIG_BYTES)
    refuse_secrets("config", config, "store credentials in the OS keyring and reference them with credentials_ref")
    if kind == "mcp-stdio":
        unknown = sorted(set(config) - _STDIO_KEYS)
        if unknown:
            raise ValidationError("config", f"unknown key(s) for an MCP stdio server: {', '.join(unknown)}")
        command = config.get("command")
        if isinstance(command, str):
            raise ValidationError("config.command", 'must be a list of arguments, e.g. ["npx", "-y", "server"], '
                                                    "not a shell command line")
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command) \
                or not command[0].strip():
            raise ValidationError("config.command", "must be a non-empty list of arguments (text)")
        if "env" not in config:
            raise ValidationError("config.env", "is required: list the environment variables the server gets "
                                                "({} for none); it does not inherit the app's environment")
        _check_strings("config.env", config["env"], ENV_NAME_RE)
        cwd = config.get("cwd")
        if cwd is not None and (not isinstance(cwd, str) or not cwd.strip()):
            raise ValidationError("config.cwd", "must be a directory path")
        _check_timeout(config)
    elif kind == "mcp-http":
        unknown = sorted(set(config) - _HTTP_KEYS)
        if unknown:
            raise ValidationError("config", f"unknown key(s) for an MCP HTTP server: {', '.join(unknown)}")
        url = config.get("url")
        if not isinstance(url, str):
            raise ValidationError("config.url", "is required: the http(s) URL of the server")
        config = {**config, "url": check_url("config.url", url)}
        if "headers" in config:
            _check_strings("config.headers", config["headers"])
        _check_timeout(config)
    return config


def _check_ref(credentials_ref: str | None) -> None:
    if credentials_ref is not None and (not isinstance(credentials_ref, str) or not KEY_REF_RE.match(credentials_ref)):
        raise ValidationError("credentials_ref", "must be a keyring reference such as 'keyring:tui-chat/github', "
                                                 "never the credentials themselves")


class IntegrationService(Service):
    def add(
        self, user_id: str, name: str, kind: str, config: dict[str, Any], credentials_ref: str | None = None
    ) -> IntegrationRecord:
        _check_name(name)
        clean = check_config(kind, config)
        _check_ref(credentials_ref)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            if self._find(session, user_id, name) is not None:
                raise Conflict(f"an integration named {name!r} already exists; choose another name or update it")
            row = Integration(user_id=user_id, name=name, kind=kind, config=clean, credentials_ref=credentials_ref)
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                raise Conflict(f"an integration named {name!r} already exists") from None
            return to_record(IntegrationRecord, row)

    def get(self, user_id: str, name: str) -> IntegrationRecord:
        with self.db.read() as session:
            return to_record(IntegrationRecord, self._get(session, user_id, name))

    def list(self, user_id: str, *, kind: str | None = None) -> list[IntegrationRecord]:
        """The user's integrations by name."""
        query = select(Integration).where(Integration.user_id == user_id)
        if kind is not None:
            query = query.where(Integration.kind == check_choice("kind", kind, enums.INTEGRATION_KINDS))
        with self.db.read() as session:
            return [to_record(IntegrationRecord, row) for row in session.scalars(query.order_by(Integration.name))]

    def update(
        self, user_id: str, name: str, *, config: dict[str, Any] = _UNSET, credentials_ref: str | None = _UNSET
    ) -> IntegrationRecord:
        """Replace the configuration and/or the credentials reference."""
        if credentials_ref is not _UNSET:
            _check_ref(credentials_ref)
        with self.db.write() as session:
            row = self._get(session, user_id, name)
            if config is not _UNSET:
                row.config = check_config(row.kind, config)
            if credentials_ref is not _UNSET:
                row.credentials_ref = credentials_ref
            row.updated_at = utcnow()
            session.flush()
            return to_record(IntegrationRecord, row)

    def set_status(self, user_id: str, name: str, status: str, error: str | None = None) -> IntegrationRecord:
        """Record the connection state. ``active`` means connected and synced now (the
        first time also sets ``connected_at``) and clears the error; ``error`` needs one."""
        check_choice("status", status, enums.INTEGRATION_STATUSES)
        check_length("error", error, MAX_ERROR_LENGTH)
        if status == "active" and error is not None:
            raise ValidationError("error", "an active integration has no error")
        if status == "error" and not (error and error.strip()):
            raise ValidationError("error", "say what went wrong")
        with self.db.write() as session:
            row = self._get(session, user_id, name)
            now = utcnow()
            if status == "active":
                if row.status != "active" or row.connected_at is None:
                    row.connected_at = now
                row.last_synced_at = now
            row.status = status
            row.error = error
            row.updated_at = now
            session.flush()
            return to_record(IntegrationRecord, row)

    def remove(self, user_id: str, name: str) -> IntegrationRecord:
        """Delete the integration; returns it (so its keyring entry can be deleted too)."""
        with self.db.write() as session:
            row = self._get(session, user_id, name)
            record = to_record(IntegrationRecord, row)
            session.delete(row)
            return record

    @staticmethod
    def _find(session: Any, user_id: str, name: str) -> Integration | None:
        return session.scalars(
            select(Integration).where(Integration.user_id == user_id, Integration.name == name)
        ).one_or_none()

    def _get(self, session: Any, user_id: str, name: str) -> Integration:
        row = self._find(session, user_id, name)
        if row is None:
            raise NotFound("integration", name)
        return row

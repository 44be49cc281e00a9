"""Users: the local OS user by default, or people identified by email on a shared database."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..errors import NotFound, ValidationError
from ..models import User
from ..types import utcnow
from .base import Service, check_length, to_record

#: The preference keys the app understands, with their defaults.
DEFAULT_PREFERENCES: dict[str, Any] = {
    "theme": "textual-dark",
    "language": "en",
    "default_provider": None,
    "default_model": None,
    "notifications": True,
    "keymap": {},
}


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    identity: str
    email: str | None
    name: str | None
    avatar: str | None
    is_active: bool
    preferences: dict[str, Any]
    last_active_at: datetime | None
    created_at: datetime


def local_identity() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except Exception:  # no user name from the OS (some containers)
        return "local:user"


class UserService(Service):
    def ensure(self, identity: str | None = None, *, name: str | None = None, email: str | None = None) -> UserRecord:
        """The user with ``identity`` (default: the local OS user), created if new."""
        identity = check_length("identity", identity or local_identity(), 320, required=True)
        check_length("email", email, 320)
        if email is not None and "@" not in email:
            raise ValidationError("email", f"{email!r} is not an email address")
        with self.db.write() as session:
            user = session.scalars(select(User).where(User.identity == identity)).one_or_none()
            if user is None:
                user = User(identity=identity, name=name, email=email, preferences=dict(DEFAULT_PREFERENCES))
                session.add(user)
            user.last_active_at = utcnow()
            session.flush()
            return _record(user)

    def get(self, user_id: str) -> UserRecord:
        with self.db.read() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("user", user_id)
            return _record(user)

    def update_preferences(self, user_id: str, **changes: Any) -> UserRecord:
        unknown = set(changes) - set(DEFAULT_PREFERENCES)
        if unknown:
            raise ValidationError("preferences", f"unknown preference(s): {', '.join(sorted(unknown))}")
        with self.db.write() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("user", user_id)
            user.preferences = {**user.preferences, **changes}
            session.flush()
            return _record(user)

    def deactivate(self, user_id: str) -> None:
        with self.db.write() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("user", user_id)
            user.is_active = False


def _record(user: User) -> UserRecord:
    return to_record(UserRecord, user, preferences={**DEFAULT_PREFERENCES, **(user.preferences or {})})

"""Conversation shares (seed 001): an unguessable token granting read, write or share.

A share is either public (anyone holding the token) or for one user. Permissions are
ordered: ``read`` < ``write`` < ``share`` (share implies write, write implies read).
Resolving a token checks that the share is active, unexpired, under its access limit
and meant for the person using it, then counts the access in the same UPDATE that
re-checks those conditions, so a share limited to N uses admits exactly N even under
concurrent use. Revoking takes effect at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from .. import enums
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..models import ChatShare, Conversation, User
from ..types import utcnow
from .base import Service, check_choice, to_record

PERMISSION_RANK = {"read": 1, "write": 2, "share": 3}
MAX_EXPIRY = timedelta(days=3650)
MAX_ACCESS_COUNT = 1_000_000


@dataclass(frozen=True, slots=True)
class ShareRecord:
    id: str
    conversation_id: str
    conversation_title: str | None
    owner_id: str
    shared_with_user_id: str | None
    share_token: str
    permission: str
    is_public: bool
    expires_at: datetime | None
    is_active: bool
    access_count: int
    max_access_count: int | None
    last_accessed_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None
    #: Computed when read: active, revoked, expired or used_up.
    state: str


@dataclass(frozen=True, slots=True)
class ShareGrant:
    share_id: str
    conversation_id: str
    owner_id: str
    #: read | write | share, or "owner" when the owner opens their own link.
    permission: str


def _state(row: ChatShare, now: datetime) -> str:
    if not row.is_active:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if row.max_access_count is not None and row.access_count >= row.max_access_count:
        return "used_up"
    return "active"


def _usable(now: datetime) -> Any:
    """SQL for "active, unexpired and under its access limit"."""
    return and_(
        ChatShare.is_active.is_(True),
        or_(ChatShare.expires_at.is_(None), ChatShare.expires_at > now),
        or_(ChatShare.max_access_count.is_(None), ChatShare.access_count < ChatShare.max_access_count),
    )


def _record(row: ChatShare, title: str | None, now: datetime) -> ShareRecord:
    return to_record(ShareRecord, row, conversation_title=title, state=_state(row, now))


class ShareService(Service):
    def create(
        self,
        user_id: str,
        conversation_id: str,
        *,
        permission: str = "read",
        expires_in: timedelta | None = None,
        shared_with_user_id: str | None = None,
        is_public: bool = False,
        max_access_count: int | None = None,
    ) -> ShareRecord:
        """Share a conversation the user owns, publicly or with one other user."""
        check_choice("permission", permission, enums.SHARE_PERMISSIONS)
        if expires_in is not None:
            if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
                raise ValidationError("expires_in", "must be a positive length of time")
            if expires_in > MAX_EXPIRY:
                raise ValidationError("expires_in", "must be at most ten years")
        if max_access_count is not None and (
            isinstance(max_access_count, bool) or not isinstance(max_access_count, int)
            or not 1 <= max_access_count <= MAX_ACCESS_COUNT
        ):
            raise ValidationError("max_access_count", f"must be a whole number from 1 to {MAX_ACCESS_COUNT:,}")
        if is_public == (shared_with_user_id is not None):
            raise ValidationError("shared_with_user_id", "share either publicly or with one user, not both or neither")
        if shared_with_user_id == user_id:
            raise ValidationError("shared_with_user_id", "you already own this conversation")
        with self.db.write() as session:
            conversation = session.scalars(
                select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
            ).one_or_none()
            if conversation is None:
                raise NotFound("conversation", conversation_id)
            if conversation.status == "deleted":
                raise Conflict("a deleted conversation cannot be shared; restore it first")
            if shared_with_user_id is not None and session.get(User, shared_with_user_id) is None:
                raise NotFound("user", shared_with_user_id)
            now = utcnow()
            row = ChatShare(
                conversation_id=conversation_id,
                owner_id=user_id,
                shared_with_user_id=shared_with_user_id,
                share_token=secrets.token_urlsafe(32),
                permission=permission,
                is_public=is_public,
                expires_at=now + expires_in if expires_in is not None else None,
                max_access_count=max_access_count,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _record(row, conversation.title, now)

    def resolve(self, token: str, *, accessing_user_id: str | None = None) -> ShareGrant:
        """Open a share link: check it and count the access, or raise PermissionDenied."""
        if not isinstance(token, str) or not 20 <= len(token) <= 64:
            raise PermissionDenied("this share link is not valid")
        now = utcnow()
        with self.db.write() as session:
            found = session.execute(
                select(ChatShare, Conversation.status)
                .join(Conversation, Conversation.id == ChatShare.conversation_id)
                .where(ChatShare.share_token == token)
            ).one_or_none()
            if found is None:
                raise PermissionDenied("this share link is not valid, or it has been deleted")
            row, conversation_status = found
            if accessing_user_id is not None and accessing_user_id == row.owner_id:
                return ShareGrant(row.id, row.conversation_id, row.owner_id, "owner")
            self._refuse_if_unusable(row, now, accessing_user_id, conversation_status)
            counted = session.execute(
                update(ChatShare)
                .where(ChatShare.id == row.id, _usable(now))
                .values(access_count=ChatShare.access_count + 1, last_accessed_at=now)
                .execution_options(synchronize_session=False)
            )
            if counted.rowcount != 1:  # changed under us: say why
                session.expire(row)
                self._refuse_if_unusable(row, now, accessing_user_id, conversation_status)
                raise PermissionDenied("this share link can no longer be used")
            return ShareGrant(row.id, row.conversation_id, row.owner_id, row.permission)

    def revoke(self, user_id: str, share_id: str) -> ShareRecord:
        """Stop a share at once (only its owner can)."""
        now = utcnow()
        with self.db.write() as session:
            row, title = self._owned(session, user_id, share_id)
            if row.is_active:
                row.is_active = False
                row.revoked_at = now
                session.flush()
            return _record(row, title, now)

    def get(self, user_id: str, share_id: str) -> ShareRecord:
        with self.db.read() as session:
            row, title = self._owned(session, user_id, share_id)
            return _record(row, title, utcnow())

    def list(
        self, user_id: str, conversation_id: str | None = None, *, active_only: bool = False
    ) -> list[ShareRecord]:
        """Shares the user created (of one conversation, or all), newest first."""
        now = utcnow()
        query = (
            select(ChatShare, Conversation.title)
            .join(Conversation, Conversation.id == ChatShare.conversation_id)
            .where(ChatShare.owner_id == user_id)
        )
        if conversation_id is not None:
            query = query.where(ChatShare.conversation_id == conversation_id)
        if active_only:
            query = query.where(_usable(now))
        with self.db.read() as session:
            rows = session.execute(query.order_by(ChatShare.created_at.desc(), ChatShare.id.desc())).all()
            return [_record(row, title, now) for row, title in rows]

    def shared_with_me(self, user_id: str) -> list[ShareRecord]:
        """Usable shares other users made for this user, newest first."""
        now = utcnow()
        with self.db.read() as session:
            rows = session.execute(
                select(ChatShare, Conversation.title)
                .join(Conversation, Conversation.id == ChatShare.conversation_id)
                .where(ChatShare.shared_with_user_id == user_id, _usable(now), Conversation.status != "deleted")
                .order_by(ChatShare.created_at.desc(), ChatShare.id.desc())
            ).all()
            return [_record(row, title, now) for row, title in rows]

    def can_access(self, user_id: str, conversation_id: str) -> str | None:
        """'owner' for the owner, else the best permission of a usable share made for
        this user, else None. (Public links need their token: see :meth:`resolve`.)"""
        now = utcnow()
        with self.db.read() as session:
            conversation = session.execute(
                select(Conversation.user_id, Conversation.status).where(Conversation.id == conversation_id)
            ).one_or_none()
            if conversation is None:
                return None
            if conversation.user_id == user_id:
                return "owner"
            if conversation.status == "deleted":
                return None
            permissions = session.scalars(
                select(ChatShare.permission).where(
                    ChatShare.conversation_id == conversation_id,
                    ChatShare.shared_with_user_id == user_id,
                    _usable(now),
                )
            ).all()
        return max(permissions, key=PERMISSION_RANK.__getitem__, default=None)

    @staticmethod
    def _refuse_if_unusable(row: ChatShare, now: datetime, accessing_user_id: str | None,
                            conversation_status: str) -> None:
        state = _state(row, now)
        if state == "revoked":
            raise PermissionDenied("this share link has been revoked by its owner")
        if state == "expired":
            raise PermissionDenied(f"this share link expired on {row.expires_at:%Y-%m-%d %H:%M} UTC")
        if state == "used_up":
            raise PermissionDenied(f"this share link has reached its limit of {row.max_access_count} uses")
        if conversation_status == "deleted":
            raise PermissionDenied("the shared conversation has been deleted")
        if row.shared_with_user_id is not None and accessing_user_id != row.shared_with_user_id:
            if accessing_user_id is None:
                raise PermissionDenied("this conversation was shared with a particular user; sign in as them")
            raise PermissionDenied("this conversation was shared with another user")

    @staticmethod
    def _owned(session: Any, user_id: str, share_id: str) -> tuple[ChatShare, str | None]:
        found = session.execute(
            select(ChatShare, Conversation.title)
            .join(Conversation, Conversation.id == ChatShare.conversation_id)
            .where(ChatShare.id == share_id, ChatShare.owner_id == user_id)
        ).one_or_none()
        if found is None:
            raise NotFound("share", share_id)
        return found[0], found[1]

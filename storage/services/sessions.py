"""Sessions: one row per run of the app, in one terminal window (seed 000's SessionService).

A session records where the app runs (terminal program, OS, host, SSH, timezone) and
when it was last active. Sessions inactive for 30 days are deleted by :meth:`cleanup`,
which also keeps only the newest N per user; conversations outlive their session (the
foreign key is ``SET NULL``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select

from ..errors import Conflict, NotFound, ValidationError
from ..models import Session as SessionRow
from ..models import User
from ..types import utcnow
from .base import Service, check_length, to_record

#: Keys accepted in ``device_info`` and ``location``, with their value types.
DEVICE_KEYS: dict[str, tuple[type, ...]] = {
    "os": (str,),
    "terminal": (str,),
    "hostname": (str,),
    "ssh": (bool,),
    "pid": (int,),
}
LOCATION_KEYS: dict[str, tuple[type, ...]] = {"timezone": (str,), "locale": (str,)}
MAX_INFO_VALUE = 200
DEFAULT_INACTIVE_DAYS = 30
DEFAULT_KEEP_LATEST = 20
_DELETE_BATCH = 500


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    client_session_id: str
    window_id: str | None
    user_agent: str | None
    device_info: dict[str, Any]
    location: dict[str, Any]
    is_active: bool
    created_at: datetime
    last_active_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionStats:
    total: int
    active: int
    by_terminal: dict[str, int]
    by_os: dict[str, int]
    #: Mean of (ended_at, or last activity) minus start, over all sessions; None if none.
    average_duration: timedelta | None


def _check_info(field: str, info: dict[str, Any] | None, allowed: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    if info is None:
        return {}
    if not isinstance(info, dict):
        raise ValidationError(field, f"must be a mapping, not {type(info).__name__}")
    clean: dict[str, Any] = {}
    for key, value in info.items():
        if key not in allowed:
            raise ValidationError(field, f"unknown key {key!r}; allowed: {', '.join(allowed)}")
        if value is None:
            continue
        types = allowed[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise ValidationError(f"{field}.{key}", f"must be {types[0].__name__}, not {type(value).__name__}")
        if isinstance(value, str):
            check_length(f"{field}.{key}", value, MAX_INFO_VALUE)
        clean[key] = value
    return clean


def _check_future(field: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError(field, "must be a timezone-aware time")
    if value <= utcnow():
        raise ValidationError(field, "must be in the future")
    return value


def _is_live(now: datetime) -> Any:
    return and_(
        SessionRow.is_active.is_(True),
        or_(SessionRow.expires_at.is_(None), SessionRow.expires_at > now),
    )


class SessionService(Service):
    def start(
        self,
        user_id: str,
        *,
        window_id: str | None = None,
        user_agent: str | None = None,
        device_info: dict[str, Any] | None = None,
        location: dict[str, Any] | None = None,
        expires_at: datetime | None = None,
    ) -> SessionRecord:
        """Record a new run of the app for ``user_id``."""
        check_length("window_id", window_id, 200)
        check_length("user_agent", user_agent, 500)
        device = _check_info("device_info", device_info, DEVICE_KEYS)
        place = _check_info("location", location, LOCATION_KEYS)
        _check_future("expires_at", expires_at)
        with self.db.write() as session:
            if session.get(User, user_id) is None:
                raise NotFound("user", user_id)
            now = utcnow()
            row = SessionRow(
                user_id=user_id,
                window_id=window_id,
                user_agent=user_agent,
                device_info=device,
                location=place,
                expires_at=expires_at,
                created_at=now,
                last_active_at=now,
            )
            session.add(row)
            session.flush()
            return to_record(SessionRecord, row)

    def get(self, user_id: str, session_id: str) -> SessionRecord:
        with self.db.read() as session:
            return to_record(SessionRecord, self._row(session, user_id, session_id))

    def touch(self, user_id: str, session_id: str) -> SessionRecord:
        """Mark the session as active now. An ended session cannot be touched."""
        with self.db.write() as session:
            row = self._row(session, user_id, session_id)
            if row.ended_at is not None or not row.is_active:
                raise Conflict(f"session {session_id} has ended; start a new one")
            row.last_active_at = utcnow()
            session.flush()
            return to_record(SessionRecord, row)

    def end(self, user_id: str, session_id: str) -> SessionRecord:
        """End the session (idempotent: ending an ended session changes nothing)."""
        with self.db.write() as session:
            row = self._row(session, user_id, session_id)
            if row.ended_at is None:
                now = utcnow()
                row.is_active = False
                row.ended_at = now
                row.last_active_at = now
                session.flush()
            return to_record(SessionRecord, row)

    def by_window(self, user_id: str, window_id: str) -> SessionRecord | None:
        """The most recently active live session in ``window_id``, if there is one."""
        with self.db.read() as session:
            row = session.scalars(
                select(SessionRow)
                .where(SessionRow.user_id == user_id, SessionRow.window_id == window_id, _is_live(utcnow()))
                .order_by(SessionRow.last_active_at.desc(), SessionRow.id.desc())
                .limit(1)
            ).first()
            return to_record(SessionRecord, row) if row is not None else None

    def active(self, user_id: str) -> list[SessionRecord]:
        """Live sessions (not ended, not expired), most recently active first."""
        with self.db.read() as session:
            rows = session.scalars(
                select(SessionRow)
                .where(SessionRow.user_id == user_id, _is_live(utcnow()))
                .order_by(SessionRow.last_active_at.desc(), SessionRow.id.desc())
            ).all()
            return [to_record(SessionRecord, row) for row in rows]

    def cleanup(
        self,
        *,
        inactive_days: int = DEFAULT_INACTIVE_DAYS,
        keep_latest: int = DEFAULT_KEEP_LATEST,
        user_id: str | None = None,
    ) -> int:
        """Delete sessions inactive for ``inactive_days`` and all but the newest
        ``keep_latest`` per user (of every user, or only ``user_id``). Returns the count.

        Conversations started in a deleted session keep existing, with no session.
        """
        if isinstance(inactive_days, bool) or not isinstance(inactive_days, int) or inactive_days < 1:
            raise ValidationError("inactive_days", "must be a whole number of days, at least 1")
        if isinstance(keep_latest, bool) or not isinstance(keep_latest, int) or keep_latest < 1:
            raise ValidationError("keep_latest", "must be at least 1")
        cutoff = utcnow() - timedelta(days=inactive_days)
        with self.db.write() as session:
            scope = [SessionRow.user_id == user_id] if user_id is not None else []
            stale = set(
                session.scalars(select(SessionRow.id).where(SessionRow.last_active_at < cutoff, *scope)).all()
            )
            rank = (
                func.row_number()
                .over(
                    partition_by=SessionRow.user_id,
                    order_by=(SessionRow.last_active_at.desc(), SessionRow.id.desc()),
                )
                .label("rank")
            )
            ranked = select(SessionRow.id, rank).where(*scope).subquery()
            surplus = set(session.scalars(select(ranked.c.id).where(ranked.c.rank > keep_latest)).all())
            doomed = sorted(stale | surplus)
            for start in range(0, len(doomed), _DELETE_BATCH):
                batch = doomed[start : start + _DELETE_BATCH]
                session.execute(delete(SessionRow).where(SessionRow.id.in_(batch)))
            return len(doomed)

    def statistics(self, user_id: str) -> SessionStats:
        """Counts by terminal program and OS, and the average session length."""
        now = utcnow()
        with self.db.read() as session:
            rows = session.execute(
                select(
                    SessionRow.user_agent,
                    SessionRow.device_info,
                    SessionRow.is_active,
                    SessionRow.expires_at,
                    SessionRow.created_at,
                    SessionRow.last_active_at,
                    SessionRow.ended_at,
                ).where(SessionRow.user_id == user_id)
            ).all()
        terminals: Counter[str] = Counter()
        systems: Counter[str] = Counter()
        durations: list[timedelta] = []
        active = 0
        for agent, device, is_active, expires_at, created_at, last_active_at, ended_at in rows:
            device = device or {}
            terminals[agent or device.get("terminal") or "unknown"] += 1
            systems[device.get("os") or "unknown"] += 1
            if is_active and (expires_at is None or expires_at > now):
                active += 1
            durations.append(max((ended_at or last_active_at) - created_at, timedelta(0)))
        average = sum(durations, timedelta(0)) / len(durations) if durations else None
        return SessionStats(
            total=len(rows),
            active=active,
            by_terminal=dict(terminals.most_common()),
            by_os=dict(systems.most_common()),
            average_duration=average,
        )

    @staticmethod
    def _row(session: Any, user_id: str, session_id: str) -> SessionRow:
        row = session.scalars(
            select(SessionRow).where(SessionRow.id == session_id, SessionRow.user_id == user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("session", session_id)
        return row

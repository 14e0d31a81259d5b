"""Login sessions held server-side, and the login throttle (nothing in process memory: docs/deployment.md)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from registry import replica
from registry.extensions import db
from registry.models import LoginFailure, User, UserSession
from registry.models.clock import utcnow

TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most once a minute per session


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, ip: str) -> str:
    """Open a session for `user`; returns the token the cookie carries."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_digest(token), user_id=user.id, ip=ip[:64]))
    db.session.flush()
    return token


def user_for(token: str | None, user_id: int) -> User | None:
    """The active user of an open, recent session within its lifetime (touches last_seen).

    One statement reads the session and its user together: this runs on every request.
    """
    if not token:
        return None
    found = db.session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if row.user_id != user_id or row.ended_at is not None or not user.active:
        return None
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    lifetime = timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    if now - row.last_seen_at > idle or now - row.created_at > lifetime:
        row.ended_at = now
        db.session.commit()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        with replica.bookkeeping():  # not the user's change: their reads may stay on the replica
            row.last_seen_at = now
            db.session.commit()
    return user


def end(token: str | None) -> None:
    """End one session (logout)."""
    if token:
        db.session.execute(update(UserSession).where(UserSession.token_hash == _digest(token),
                                                     UserSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_all(user: User) -> None:
    """End every session of a user (deactivation, password change)."""
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))


# --- the login throttle ------------------------------------------------------------------------


class Locked(Exception):
    """Too many failed password checks: the account may try again in `minutes`."""

    def __init__(self, minutes: int) -> None:
        super().__init__(minutes)
        self.minutes = minutes


def _window_start() -> datetime:
    return utcnow() - timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def locked_minutes(username: str, ip: str) -> int:
    """Minutes until this username (or this address) may try again; 0 when not locked."""
    since = _window_start()
    by_user = select(func.count(), func.min(LoginFailure.at)).where(
        LoginFailure.username == username.lower(), LoginFailure.at >= since)
    by_ip = select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.ip == ip, LoginFailure.at >= since)
    waits = []
    for query, limit in ((by_user, current_app.config["LOGIN_MAX_FAILURES"]),
                         (by_ip, current_app.config["LOGIN_MAX_FAILURES_PER_IP"])):
        count, oldest = db.session.execute(query).one()
        if count >= limit and oldest is not None:
            release = oldest + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            waits.append(max(1, int((release - utcnow()).total_seconds() // 60) + 1))
    return max(waits, default=0)


def failed(username: str, ip: str) -> None:
    """Count a failed login."""
    db.session.add(LoginFailure(username=username.lower()[:64], ip=ip[:64]))
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - timedelta(days=1)))


def succeeded(username: str) -> None:
    """A correct password clears the username's failures."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username.lower()))

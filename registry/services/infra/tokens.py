"""API tokens: issued by an administrator for a user, stored only as a hash, valid until they expire."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from registry.extensions import db
from registry.models import ApiToken, User
from registry.models.clock import utcnow
from registry.services import RecordInvalid, audit

MAX_DAYS = 730
# The last-used time is written at most this often, so a busy client does not write on every request.
LAST_USED_EVERY = timedelta(minutes=1)


class TokenRefused(Exception):
    """A presented token does not authenticate; the message says why, in Chinese."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, name: str, days: int | None = None) -> tuple[str, ApiToken]:
    """A new token for `user`, valid `days` days (setting API_TOKEN_DAYS); the plain token is returned once."""
    if not name.strip():
        raise RecordInvalid({"name": _("请填写令牌用途")})
    if not user.active:
        raise RecordInvalid({"user_id": _("该账号已停用")})
    days = current_app.config["API_TOKEN_DAYS"] if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise RecordInvalid({"days": _("有效期须在 1 到 %(max)s 天之间", max=MAX_DAYS)})
    plain = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip(), token_hash=_digest(plain),
                     expires_at=utcnow() + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record("create", token, after={"user": user.username, "name": token.name,
                                         "expires_at": token.expires_at.isoformat(timespec="minutes")},
                 summary=token.name)
    return plain, token


def revoke(token: ApiToken) -> None:
    """The token stops working at once."""
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record("deactivate", token, summary=token.name)


def authenticate(plain: str) -> ApiToken:
    """The unrevoked, unexpired token of an active user that `plain` is; raises TokenRefused."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(plain), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        raise TokenRefused(_("需要登录或有效的接口令牌"))
    if token.expired():
        raise TokenRefused(_("接口令牌已过期，请联系管理员重新签发"))
    return token


def record_use(token: ApiToken) -> bool:
    """Note that a request used `token`, unless that was noted within the last minute; True when written."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return False
    token.last_used_at = now
    db.session.flush()
    return True

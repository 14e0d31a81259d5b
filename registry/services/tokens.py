"""API tokens: issued by an administrator for a user, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from registry.extensions import db
from registry.models import ApiToken, User
from registry.models.clock import utcnow
from registry.services import RecordInvalid, audit


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, name: str) -> tuple[str, ApiToken]:
    """A new token for `user`; the plain token is returned once and never stored."""
    if not name.strip():
        raise RecordInvalid({"name": _("请填写令牌用途")})
    if not user.active:
        raise RecordInvalid({"user_id": _("该账号已停用")})
    plain = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip(), token_hash=_digest(plain))
    db.session.add(token)
    db.session.flush()
    audit.record("create", token, after={"user": user.username, "name": token.name}, summary=token.name)
    return plain, token


def revoke(token: ApiToken) -> None:
    """The token stops working at once."""
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record("deactivate", token, summary=token.name)


def user_for(plain: str) -> User | None:
    """The active user a presented token acts for, or None."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(plain), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        return None
    return token.user

"""API tokens: an administrator issues one for a user; it acts as that user until it expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.clock import utcnow
from registry.models.users import User


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The first instant it no longer works (naive UTC, like every timestamp here).
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # When a request last authenticated with it, to the minute (see services.tokens.LAST_USED_EVERY).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()

    def expired(self, now: datetime | None = None) -> bool:
        """True from `expires_at` on."""
        return (now or utcnow()) >= self.expires_at

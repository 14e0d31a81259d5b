"""Import files kept between the validation report and the confirmation."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import defer

from registry.extensions import db
from registry.models import ChangeRequest, ImportUpload, User
from registry.models.clock import utcnow
from registry.models.review import PENDING

KEEP = timedelta(hours=24)


def keep(user: User, filename: str, content: bytes) -> ImportUpload:
    """Store an upload for its uploader; uploads older than a day are dropped, unless waiting for review."""
    waiting = select(ChangeRequest.id).where(ChangeRequest.upload_id == ImportUpload.id,
                                             ChangeRequest.status == PENDING)
    db.session.execute(delete(ImportUpload).where(ImportUpload.created_at < utcnow() - KEEP, ~waiting.exists()))
    upload = ImportUpload(token=secrets.token_urlsafe(24), user_id=user.id, filename=filename[:200],
                          content=content)
    db.session.add(upload)
    db.session.flush()
    return upload


def find(user: User, token: str) -> ImportUpload | None:
    """The user's own upload with this token, if it is recent enough."""
    return db.session.scalar(
        select(ImportUpload).where(
            ImportUpload.token == token,
            ImportUpload.user_id == user.id,
            ImportUpload.created_at >= utcnow() - KEEP,
        )
    )


def recent(user: User, limit: int = 10) -> list[ImportUpload]:
    """The user's uploads of the last day, newest first: a check or an import to come back to."""
    return list(db.session.scalars(
        select(ImportUpload).where(ImportUpload.user_id == user.id, ImportUpload.created_at >= utcnow() - KEEP)
        .options(defer(ImportUpload.content))
        .order_by(ImportUpload.created_at.desc(), ImportUpload.id.desc()).limit(limit)))

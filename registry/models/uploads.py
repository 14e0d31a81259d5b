"""Uploaded import files waiting for confirmation.

The file is kept in the database, not on one server's disk or in memory, so the
confirming request may reach any app server behind the load balancer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.clock import utcnow


class ImportUpload(db.Model):
    """A file validated once and shown to its uploader with a confirm button."""

    __tablename__ = "import_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What the uploader decided on the way: the kind chosen on upload, each sheet's kind and
    # column fields (the mapping page), cells corrected and possible duplicates settled (the report).
    kind: Mapped[str] = mapped_column(String(20), default="", server_default="")
    choices: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    corrections: Mapped[list[Any] | None] = mapped_column(JSON)
    decisions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(64))  # the check or import running or last run
    job_kind: Mapped[str | None] = mapped_column(String(10))  # check | import


class ImportProfile(db.Model):
    """A confirmed column mapping, proposed again when a sheet with the same header comes back."""

    __tablename__ = "import_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    table: Mapped[str] = mapped_column(String(20))  # institutions | agreements
    signature: Mapped[str] = mapped_column(String(64), index=True)  # of the table and its normalised headers
    kind: Mapped[str | None] = mapped_column(String(20))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # normalised header → field ("" ignores the column)
    headers: Mapped[list[Any]] = mapped_column(JSON)  # the headers as shown, for the list of profiles
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

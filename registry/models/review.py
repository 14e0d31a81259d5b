"""Review and reporting (区县录入/上报 → 市级审核): change requests and period reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.clock import utcnow
from registry.models.uploads import ImportUpload
from registry.models.users import User

# A change request's life: pending → approved | returned | withdrawn (each final).
PENDING, APPROVED, RETURNED, WITHDRAWN = "pending", "approved", "returned", "withdrawn"
# A period report version's life: submitted → approved | returned.
SUBMITTED = "submitted"


class ChangeRequest(db.Model):
    """A district's change that moves an indicator, waiting for the city bureau (待审核变更).

    `values` holds what was asked for (the service's field names, ids for records, ISO
    dates); `before` the same fields as they stood when it was submitted, and `base` the
    whole record then, so a reviewer sees what changed since and a stale request is
    never applied blindly. Nothing of it reaches the register before it is approved.
    """

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # eldercare | medical | agreement | import: what it is about, which decides the reviewing department
    subject: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # create | update | close | terminate | import
    department: Mapped[str] = mapped_column(String(32), index=True)  # the reviewing role: civil_affairs | health
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    entity: Mapped[str] = mapped_column(String(32))  # institutions | agreements | import_uploads
    entity_id: Mapped[int | None] = mapped_column(Integer)  # the record; a new one's once approved
    summary: Mapped[str] = mapped_column(String(300), default="")  # the record's name or code, the file's name
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    base: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    base_version: Mapped[int | None] = mapped_column(Integer)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("import_uploads.id", ondelete="SET NULL"))
    # An import's validation report, and the indicators the change would move, when it was submitted.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    impact: Mapped[list[Any] | None] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(64))  # an approved import's job
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was returned
    # The submitter has seen the decision (their bell stops counting it).
    seen: Mapped[bool] = mapped_column(default=False)

    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    upload: Mapped[ImportUpload | None] = relationship()

    __table_args__ = (db.Index("ix_change_requests_record", "entity", "entity_id"),)

    @property
    def is_pending(self) -> bool:
        return self.status == PENDING

    def __repr__(self) -> str:
        return f"<ChangeRequest {self.id} {self.action} {self.entity}:{self.entity_id} {self.status}>"


class PeriodReport(db.Model):
    """One version of a region's report for a period (上报), with its immutable snapshot.

    A resubmission after a return is a new version; every version is kept.
    """

    __tablename__ = "period_reports"
    __table_args__ = (UniqueConstraint("period", "region_code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8), index=True)  # 2022-Q4 | 2022
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)  # the period's last day
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=SUBMITTED)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text, default="")

    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def __repr__(self) -> str:
        return f"<PeriodReport {self.period} {self.region_code} v{self.version} {self.status}>"


# What a submitted version holds never changes: the database refuses an UPDATE of these columns
# (a trigger, created with the table here and by migration 0010), whatever path the statement takes.
FROZEN_COLUMNS = ("period", "region_code", "version", "as_of", "snapshot", "submitted_by_id", "submitted_at")
FROZEN_MESSAGE = "period report snapshots never change"
SQLITE_TRIGGER = (
    f"CREATE TRIGGER period_reports_frozen BEFORE UPDATE OF {', '.join(FROZEN_COLUMNS)} ON period_reports "
    f"BEGIN SELECT RAISE(ABORT, '{FROZEN_MESSAGE}'); END"
)
POSTGRESQL_FUNCTION = (
    "CREATE OR REPLACE FUNCTION period_reports_frozen() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{FROZEN_MESSAGE}'; END $$"
)
POSTGRESQL_TRIGGER = (
    f"CREATE TRIGGER period_reports_frozen BEFORE UPDATE OF {', '.join(FROZEN_COLUMNS)} ON period_reports "
    "FOR EACH ROW EXECUTE FUNCTION period_reports_frozen()"
)
event.listen(PeriodReport.__table__, "after_create", DDL(SQLITE_TRIGGER).execute_if(dialect="sqlite"))
event.listen(PeriodReport.__table__, "after_create", DDL(POSTGRESQL_FUNCTION).execute_if(dialect="postgresql"))
event.listen(PeriodReport.__table__, "after_create", DDL(POSTGRESQL_TRIGGER).execute_if(dialect="postgresql"))


class ReportAmendment(db.Model):
    """A change saved after a report was approved that altered its figures (审核后有变动), by audit event."""

    __tablename__ = "report_amendments"

    report_id: Mapped[int] = mapped_column(ForeignKey("period_reports.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id", ondelete="CASCADE"), primary_key=True)

"""Audit events: who changed what, with the values before and after."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from registry.extensions import db
from registry.models.clock import utcnow
from registry.models.users import User

# Events that can change the register: not those about accounts (logins, failed logins, users,
# API tokens) nor refused requests. The compliance cache's fingerprint reads the newest of them
# (services/infra/compliance_cache.py) through a partial index; a query uses the index only when its
# condition is written exactly so, as text (a bound parameter would not match it).
REGISTER_EVENTS = text("entity NOT IN ('users', 'api_tokens') AND action <> 'denied'")


class AuditEvent(db.Model):
    """One create/update/close/delete/import/login; `user_id` null = the system."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    # The first day whose compliance figures the change can move (services/audit.affects_from); NULL: any
    # day. The compliance cache keeps a past day's report while every newer event affects only later days.
    affects_from: Mapped[date | None] = mapped_column(Date)
    # The change request this event belongs to: its submission, decision, and the changes it applied.
    change_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id", ondelete="SET NULL"),
                                                          index=True)

    user: Mapped[User | None] = relationship()
    # The department (civil_affairs | health) whose record the event is about, when a query asks for it
    # (services/audit.department_of_event); not stored.
    department: Mapped[str | None] = query_expression()

    __table_args__ = (
        db.Index("ix_audit_events_entity", "entity", "entity_id"),
        db.Index("ix_audit_events_register", "id", postgresql_where=REGISTER_EVENTS, sqlite_where=REGISTER_EVENTS),
    )

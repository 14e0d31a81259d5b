"""The audit trail: every change is recorded with the values before and after."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_login import current_user
from sqlalchemy import inspect, select

from registry.extensions import db
from registry.models import AuditEvent, User
from registry.vocab import ADMIN

HIDDEN = frozenset({"password_hash", "created_at", "updated_at"})


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The record's column values as JSON-safe data (passwords left out)."""
    values = {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in HIDDEN
    }
    services = getattr(obj, "services", None)
    if isinstance(services, list):
        values["services"] = list(services)
    return values


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value differs, as {field: (before, after)}; version bumps ignored."""
    keys = (set(before) | set(after)) - {"version"}
    return {k: (before.get(k), after.get(k)) for k in sorted(keys) if before.get(k) != after.get(k)}


def acting_user() -> User | None:
    """The logged-in user, or None when the system (CLI) acts."""
    try:
        return current_user if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):
        return None


def _integer_id(obj: Any) -> int | None:
    """The record's id when it is a number (regions and target sets are keyed by a code)."""
    value = getattr(obj, "id", None)
    return value if isinstance(value, int) else None


def record(
    action: str,
    obj: Any,
    *,
    before: dict | None = None,
    after: dict | None = None,
    summary: str = "",
    user: User | None = None,
) -> AuditEvent:
    """Add an audit event for `obj` (flushed so it has an id)."""
    actor = user if user is not None else acting_user()
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        action=action,
        entity=obj.__tablename__,
        entity_id=_integer_id(obj),
        summary=summary[:300],
        before=before,
        after=after,
    )
    db.session.add(event)
    db.session.flush()
    return event


class Change:
    """Audit what a block changes in a record: `with Change("update", record) as change: …`.

    The values before and after are recorded when anything changed (`change.changed`);
    the summary is the record's name (or code) as it stands after, unless given.
    """

    def __init__(self, action: str, obj: Any, summary: str | None = None, user: User | None = None):
        self.action, self.obj, self.summary, self.user = action, obj, summary, user
        self.changed = False

    def __enter__(self) -> Change:
        self.before = snapshot(self.obj)
        return self

    def __exit__(self, error_type, *_details) -> bool:
        if error_type is None:
            db.session.flush()
            after = snapshot(self.obj)
            self.changed = bool(changed(self.before, after))
            if self.changed:
                summary = self.summary or getattr(self.obj, "name", None) or getattr(self.obj, "code", "")
                record(self.action, self.obj, before=self.before, after=after, summary=summary, user=self.user)
        return False


def note(action: str, entity: str, entity_id: int | None, summary: str, user: User | None = None) -> AuditEvent:
    """An event about no loaded record: a failed login, a denied request."""
    event = AuditEvent(user_id=user.id if user is not None else None, action=action, entity=entity,
                       entity_id=entity_id, summary=summary[:300])
    db.session.add(event)
    db.session.flush()
    return event


def history(entity: str, entity_id: int, reader: User | None = None) -> list[AuditEvent]:
    """A record's audit events, newest first; refused access attempts only for an administrator.

    `reader` defaults to the logged-in user.
    """
    reader = reader if reader is not None else acting_user()
    query = select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
    if reader is None or reader.role != ADMIN:
        query = query.where(AuditEvent.action != "denied")
    return list(db.session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))

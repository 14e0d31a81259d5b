"""The audit trail: every change is recorded with the values before and after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_login import current_user
from sqlalchemy import ColumnElement, Select, case, event, func, inspect, literal, or_, select
from sqlalchemy.orm import Session, joinedload, with_expression

from registry.extensions import db
from registry.models import Agreement, AuditEvent, ChangeRequest, Institution, TrainingRecord, User
from registry.models.clock import day_start
from registry.services import containing, name_search
from registry.vocab import ADMIN, AGREEMENT, DEPARTMENT_NAMES, KINDS, REVIEWERS

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


# The records whose dates say which days' figures they count in (the models' `span`).
DATED = {model.__tablename__: model for model in (Institution, Agreement, TrainingRecord)}
# Records no compliance figure reads: a change request moves nothing until it is applied, and its
# application is recorded on the records it changes; a period report is a copy of figures.
NO_FIGURES = frozenset({"change_requests", "period_reports"})


def affects_from(entity: str, before: dict | None, after: dict | None) -> date | None:
    """The first day whose compliance figures a change can move (date.max: none); None when it cannot be told.

    A dated record counts only on the days of its span (opened to closed, in force, held on): a
    change of its dates alone moves the days between the old and the new ends; any other change
    moves every day of either span. A target, a region or an import as a whole moves any day.
    """
    if entity in NO_FIGURES:
        return date.max
    model = DATED.get(entity)
    if model is None or (before is None and after is None):
        return None
    spans = [model.span(values) for values in (before, after) if values is not None]
    if any(start is None for start, _end in spans):
        return None  # a partial snapshot: its span is unknown
    if len(spans) == 1 or not set(changed(before, after)) <= set(model.span_fields):
        return min(start for start, _end in spans)
    (old_start, old_end), (new_start, new_end) = spans
    moved = [min(old_start, new_start)] if old_start != new_start else []
    if old_end != new_end:
        moved.append(min(end for end in (old_end, new_end) if end is not None))
    return min(moved, default=date.max)


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


REQUEST_KEY, WRITTEN_KEY = "audit_change_request", "audit_written"  # keys of db.session.info


@contextmanager
def linked_to(request: ChangeRequest) -> Iterator[None]:
    """Every event recorded inside the block belongs to `request` (its steps, and the changes it applied)."""
    previous = db.session.info.get(REQUEST_KEY)
    db.session.info[REQUEST_KEY] = request.id
    try:
        yield
    finally:
        db.session.info[REQUEST_KEY] = previous


def current_request_id() -> int | None:
    """The change request the events being written belong to (bulk writers stamp it themselves)."""
    return db.session.info.get(REQUEST_KEY)


def written_since(mark: int) -> list[AuditEvent]:
    """The events recorded in this session after `written_mark()` returned `mark` that are still there."""
    events = db.session.info.get(WRITTEN_KEY, [])[mark:]
    return [e for e in events if inspect(e).persistent]


def written_mark() -> int:
    """Where the session's list of recorded events stands, for `written_since`."""
    return len(db.session.info.setdefault(WRITTEN_KEY, []))


def _add(audit_event: AuditEvent) -> AuditEvent:
    audit_event.change_request_id = current_request_id()
    db.session.add(audit_event)
    db.session.flush()
    db.session.info.setdefault(WRITTEN_KEY, []).append(audit_event)
    return audit_event


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session, *_args) -> None:
    """A transaction's list of recorded events ends with it."""
    session.info.pop(WRITTEN_KEY, None)


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
    return _add(AuditEvent(
        user_id=actor.id if actor is not None else None,
        action=action,
        entity=obj.__tablename__,
        entity_id=_integer_id(obj),
        summary=summary[:300],
        before=before,
        after=after,
        affects_from=affects_from(obj.__tablename__, before, after),
    ))


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


def note(action: str, entity: str, entity_id: int | None, summary: str, user: User | None = None,
         after: dict | None = None) -> AuditEvent:
    """An event about no loaded record: a failed login, a denied request, an import as a whole."""
    return _add(AuditEvent(user_id=user.id if user is not None else None, action=action, entity=entity,
                           entity_id=entity_id, summary=summary[:300], after=after,
                           affects_from=affects_from(entity, None, None)))


def history(entity: str, entity_id: int, reader: User | None = None) -> list[AuditEvent]:
    """A record's audit events, newest first, with the life of every change request about it.

    Refused access attempts are shown only to an administrator. `reader` defaults to the logged-in user.
    """
    reader = reader if reader is not None else acting_user()
    requests = select(ChangeRequest.id).where(ChangeRequest.entity == entity, ChangeRequest.entity_id == entity_id)
    query = select(AuditEvent).where(or_(
        (AuditEvent.entity == entity) & (AuditEvent.entity_id == entity_id),
        AuditEvent.change_request_id.in_(requests),
    ))
    if reader is None or reader.role != ADMIN:
        query = query.where(AuditEvent.action != "denied")
    return list(db.session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))


def saved_since(record: Any, version: int) -> list[AuditEvent]:
    """The audited saves of a record that made it newer than `version` (their snapshots carry it), oldest first."""
    return list(db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.user))
        .where(AuditEvent.entity == record.__tablename__, AuditEvent.entity_id == record.id,
               AuditEvent.after["version"].as_integer() > version)
        .order_by(AuditEvent.at, AuditEvent.id)))


# --- the audit log ----------------------------------------------------------------------------------


def department_of_event() -> ColumnElement:
    """SQL: the department whose record an event is about (vocab.REVIEWERS), else NULL.

    An institution's by its kind (read from its snapshot once it is deleted), an agreement's is 卫健's,
    a change request's is the department reviewing it.
    """
    kind = func.coalesce(
        select(Institution.kind).where(Institution.id == AuditEvent.entity_id).scalar_subquery(),
        AuditEvent.before["kind"].as_string(), AuditEvent.after["kind"].as_string())
    by_kind = {kind_: department for kind_, department in REVIEWERS.items() if kind_ in KINDS}
    return case(
        (AuditEvent.entity == "institutions", case(by_kind, value=kind)),
        (AuditEvent.entity == "agreements", literal(REVIEWERS[AGREEMENT])),
        (AuditEvent.entity == "change_requests",
         select(ChangeRequest.department).where(ChangeRequest.id == AuditEvent.entity_id).scalar_subquery()),
    )


@dataclass
class LogFilters:
    """The audit log's filters (an empty one is left out); the days are the registry's (Asia/Shanghai)."""

    date_from: date | None = None
    date_to: date | None = None
    user_id: int | None = None
    action: str = ""
    department: str = ""
    entity: str = ""
    record_id: int | None = None
    q: str = ""  # a record's name or code


def _named(text: str) -> ColumnElement:
    """Events about a record whose name or code holds `text` (the summary keeps the name it had then)."""
    return or_(
        containing(text, AuditEvent.summary),
        (AuditEvent.entity == "institutions") & name_search.matching(text, AuditEvent.entity_id),
        (AuditEvent.entity == "agreements") & AuditEvent.entity_id.in_(
            select(Agreement.id).where(containing(text, Agreement.code))),
        (AuditEvent.entity == "users") & AuditEvent.entity_id.in_(
            select(User.id).where(containing(text, User.username, User.full_name))),
    )


def log(filters: LogFilters) -> Select:
    """The audit log: the events `filters` lets through, newest first, each with its department and user."""
    department = department_of_event()
    query = select(AuditEvent).options(with_expression(AuditEvent.department, department),
                                       joinedload(AuditEvent.user))
    if filters.date_from is not None:
        query = query.where(AuditEvent.at >= day_start(filters.date_from))
    if filters.date_to is not None:
        query = query.where(AuditEvent.at < day_start(filters.date_to + timedelta(days=1)))
    if filters.user_id is not None:
        query = query.where(AuditEvent.user_id == filters.user_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.department in DEPARTMENT_NAMES:
        query = query.where(department == filters.department)
    if filters.entity:
        query = query.where(AuditEvent.entity == filters.entity)
    if filters.record_id is not None:
        query = query.where(AuditEvent.entity_id == filters.record_id)
    if filters.q:
        query = query.where(_named(filters.q))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())

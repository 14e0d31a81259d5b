"""Writing an import plan without errors: bulk statements, one audit event per record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.models import Agreement, AgreementService, AuditEvent, Institution, User
from registry.models.clock import utcnow
from registry.services import audit, name_search
from registry.services import institutions as institution_rules
from registry.services.audit import snapshot
from registry.services.imports.planning import Plan, Ref, chunks
from registry.services.infra.collector import collector_paused
from registry.services.institutions import INSERT_DEFAULTS


def _resolve(values: dict[str, Any]) -> dict[str, Any]:
    """Refs to the ids they now have."""
    return {k: (v.id if isinstance(v, Ref) else v) for k, v in values.items()}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """The same as JSON-safe data for the audit: Refs as ids, dates as YYYY-MM-DD (in one pass)."""
    return {k: (v.id if isinstance(v, Ref) else v.isoformat() if isinstance(v, date) else v)
            for k, v in values.items()}


BATCH = 2000  # rows per executemany: the statement's parameters and the audit's JSON are held a batch at a time


def institution_columns(values: dict[str, Any]) -> dict[str, Any]:
    """A planned institution's values as the table's columns (Refs as the ids they now have).

    The one place an institution's columns are built for the import's inserts and updates (the
    search keys, kept in a table of their own, are written beside them through name_search).
    """
    return _resolve(values)


def agreement_columns(values: dict[str, Any]) -> dict[str, Any]:
    """A planned agreement's values as the table's columns (Refs as ids)."""
    return _resolve({k: v for k, v in values.items() if k in Agreement.__table__.c})


class _Events:
    """The import's audit events, written a batch at a time as they come, in order (not held to the end)."""

    def __init__(self, user_id: int | None, now) -> None:
        self.user_id, self.now = user_id, now
        self.pending: list[dict[str, Any]] = []
        self.request_id = audit.current_request_id()

    def add(self, entity: str, entity_id: int, before, after, summary: str) -> None:
        self.pending.append({"user_id": self.user_id, "at": self.now, "action": "import", "entity": entity,
                             "entity_id": entity_id, "summary": (summary or "")[:300], "before": before,
                             "after": after, "change_request_id": self.request_id})
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            db.session.execute(insert(AuditEvent.__table__), self.pending)
            self.pending = []


@collector_paused()
def apply(plan_: Plan, user: User | None, source: str) -> dict[str, dict[str, int]]:
    """Write a plan without errors in bulk, a batch at a time; the caller commits (or rolls back a dry run)."""
    if plan_.errors:
        raise ValueError("a plan with errors is not applied")
    now = utcnow()
    events = _Events(user.id if user is not None else None, now)
    table = Institution.__table__

    pending = [r for r in plan_.institutions if r.action == "create"]
    while pending:  # hosts before the units they set up
        ready = [r for r in pending if not isinstance(r.values.get("host_id"), Ref) or r.values["host_id"].id > 0]
        if not ready:
            raise ValueError("circular host references")
        ids = _insert_and_number(table, ready, lambda r: INSERT_DEFAULTS | institution_columns(r.values) | {
            "code": r.code, "kind": r.kind, "version": 1, "created_at": now, "updated_at": now})
        for batch in chunks(ready, BATCH):  # the search keys (name_search), a batch at a time
            name_search.write_keys(name_search.key_rows(
                (ids[r.code], r.values.get("name") or "", r.values.get("address") or "", r.code, r.values.get("uscc"))
                for r in batch))
        for row in ready:
            row.ref.id = new_id = ids[row.code]
            events.add("institutions", new_id, None, _plain(row.values | {"code": row.code, "kind": row.kind}),
                       row.values.get("name") or row.code)
        del ids
        done = {id(r) for r in ready}
        pending = [r for r in pending if id(r) not in done]

    updated = [r for r in plan_.institutions if r.action == "update"]
    _bulk_update(Institution, updated, now, events, institution_columns)
    moved = [r.existing.id for r in updated if "region_code" in r.values]
    if moved:  # in-house units go with their host (docs/permissions.md)
        db.session.expire_all()
        for host in db.session.scalars(select(Institution).where(Institution.id.in_(moved))):
            institution_rules.follow_host_region(host, user)

    agreements = Agreement.__table__
    created = [r for r in plan_.agreements if r.action == "create"]
    ids = _insert_and_number(agreements, created, lambda r: agreement_columns(r.values) | {
        "code": r.code, "version": 1, "created_at": now, "updated_at": now})
    for batch in chunks(created, BATCH):
        service_rows = []
        for row in batch:
            new_id = ids[row.code]
            service_rows += [{"agreement_id": new_id, "service": s} for s in row.services or []]
            events.add("agreements", new_id, None, _plain({k: v for k, v in row.values.items() if k in agreements.c})
                       | {"code": row.code, "services": row.services}, row.code)
        if service_rows:
            db.session.execute(insert(AgreementService.__table__), service_rows)
    updated = [r for r in plan_.agreements if r.action == "update"]
    _bulk_update(Agreement, updated, now, events, agreement_columns)
    replaced = [r for r in updated if r.services is not None]
    for chunk in chunks([r.existing.id for r in replaced]):
        db.session.execute(delete(AgreementService).where(AgreementService.agreement_id.in_(chunk)))
    for batch in chunks(replaced, BATCH):
        service_rows = [{"agreement_id": r.existing.id, "service": s} for r in batch for s in r.services]
        if service_rows:
            db.session.execute(insert(AgreementService.__table__), service_rows)

    counts = plan_.counts()
    events.flush()
    audit.note("import", "imports", None, _("导入 %(source)s", source=source), user=user,
               after={"source": source, "counts": counts})
    db.session.expire_all()
    return counts


def refresh_statistics(counts: dict[str, dict[str, int]]) -> None:
    """After a committed import that created rows, let PostgreSQL re-plan against the new sizes.

    Without it a statement prepared while the tables were small (psycopg prepares after five
    runs) keeps a plan costed for them: a sequential scan per code lookup, minutes for a
    re-import of 100,000 rows. ANALYZE refreshes the statistics and invalidates such plans.
    SQLite plans each statement afresh and needs nothing.
    """
    if db.engine.dialect.name != "postgresql" or not any(c["create"] for c in counts.values()):
        return
    db.session.execute(text("ANALYZE institutions, agreements, agreement_services, audit_events"))
    db.session.commit()


def _insert_and_number(table, planned: list, columns: Callable[[Any], dict[str, Any]]) -> dict[str, int]:
    """Insert the planned rows, their columns built a batch at a time, and return code → new id.

    The ids are read back by the unique code: an ordered RETURNING costs one INSERT per
    row on SQLite and a re-parsed multi-row statement per batch with psycopg. They are read
    once every batch is in: read between two batches, while the table is still small,
    PostgreSQL kept the plan it had prepared then (a scan of the table) for the later ones.
    """
    for batch in chunks(planned, BATCH):
        db.session.execute(insert(table), [columns(r) for r in batch])
    ids: dict[str, int] = {}
    for chunk in chunks([r.code for r in planned]):
        ids.update(db.session.execute(select(table.c.code, table.c.id).where(table.c.code.in_(chunk))).tuples().all())
    return ids


def _bulk_update(model, rows: list, now, events: _Events, columns) -> None:
    """Executemany updates, one statement per set of changed columns; each bumps the version.

    A batch at a time: its records loaded as objects for the audit's "before" (the plan compared
    named tuples), then let go.
    """
    table = model.__table__
    entity = table.name
    query = select(model).options(*([selectinload(Agreement.service_rows)] if model is Agreement else []))
    held = {id(o) for o in db.session.identity_map.values()}  # objects the caller may hold stay in the session
    for batch in chunks(sorted(rows, key=lambda r: r.existing.id), BATCH):
        records = {}
        for chunk in chunks([r.existing.id for r in batch]):
            records |= {r.id: r for r in db.session.scalars(query.where(model.id.in_(chunk)))}
        groups: dict[frozenset, list] = {}
        for row in batch:
            changed = columns(row.values)
            groups.setdefault(frozenset(changed), []).append((row, changed))
        for keys, group in groups.items():
            if keys:
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("_id"))
                    .values({k: bindparam(f"v_{k}") for k in keys} | {
                        "version": table.c.version + 1, "updated_at": bindparam("_now")})
                )
                db.session.execute(statement, [
                    {"_id": r.existing.id, "_now": now} | {f"v_{k}": v for k, v in changed.items()}
                    for r, changed in group
                ])
            for row, _changed in group:
                record = records[row.existing.id]
                before = snapshot(record)
                after = before | _plain(row.values)
                if entity == "agreements" and row.services is not None:
                    after["services"] = row.services
                events.add(entity, record.id, before, after, getattr(record, "name", None) or record.code)
        if model is Institution:  # the search keys of the records whose name, address or codes changed
            name_search.write_keys(name_search.key_rows(
                (row.existing.id, *(changed.get(f, getattr(records[row.existing.id], f)) for f in name_search.SOURCES))
                for group in groups.values() for row, changed in group
                if not name_search.SOURCES_SET.isdisjoint(changed)), replace=True)
        for record in records.values():
            if id(record) not in held:
                db.session.expunge(record)

"""Writing an import plan without errors: bulk statements, one audit event per record."""

from __future__ import annotations

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


@collector_paused()
def apply(plan_: Plan, user: User | None, source: str) -> dict[str, dict[str, int]]:
    """Write a plan without errors in bulk; the caller commits (or rolls back a dry run)."""
    if plan_.errors:
        raise ValueError("a plan with errors is not applied")
    now = utcnow()
    user_id = user.id if user is not None else None
    events: list[dict[str, Any]] = []
    table = Institution.__table__

    pending = [r for r in plan_.institutions if r.action == "create"]
    while pending:  # hosts before the units they set up
        ready = [r for r in pending if not isinstance(r.values.get("host_id"), Ref) or r.values["host_id"].id > 0]
        if not ready:
            raise ValueError("circular host references")
        rows = [INSERT_DEFAULTS | _resolve(r.values) | {"code": r.code, "kind": r.kind, "version": 1,
                                                         "created_at": now, "updated_at": now} for r in ready]
        ids = _insert_and_number(table, rows)
        name_search.write_keys(name_search.key_rows(
            (ids[r["code"]], r["name"], r["address"], r["code"], r["uscc"]) for r in rows))
        for row in ready:
            row.ref.id = new_id = ids[row.code]
            events.append(_event(user_id, now, "institutions", new_id, None, _plain(row.values | {
                "code": row.code, "kind": row.kind}), row.values.get("name") or row.code))
        done = {id(r) for r in ready}
        pending = [r for r in pending if id(r) not in done]

    updated = [r for r in plan_.institutions if r.action == "update"]
    _bulk_update(Institution, updated, now, user_id, events, "institutions")
    moved = [r.existing.id for r in updated if "region_code" in r.values]
    if moved:  # in-house units go with their host (docs/permissions.md)
        db.session.expire_all()
        for host in db.session.scalars(select(Institution).where(Institution.id.in_(moved))):
            institution_rules.follow_host_region(host, user)

    agreements = Agreement.__table__
    created = [r for r in plan_.agreements if r.action == "create"]
    if created:
        rows = [_resolve({k: v for k, v in r.values.items() if k in agreements.c})
                | {"code": r.code, "version": 1, "created_at": now, "updated_at": now} for r in created]
        ids = _insert_and_number(agreements, rows)
        service_rows = []
        for row in created:
            new_id = ids[row.code]
            service_rows += [{"agreement_id": new_id, "service": s} for s in row.services or []]
            events.append(_event(user_id, now, "agreements", new_id, None, _plain(
                {k: v for k, v in row.values.items() if k in agreements.c}) | {"code": row.code,
                                                                                  "services": row.services},
                row.code))
        if service_rows:
            db.session.execute(insert(AgreementService.__table__), service_rows)
    updated = [r for r in plan_.agreements if r.action == "update"]
    _bulk_update(Agreement, updated, now, user_id, events, "agreements")
    replaced = [r for r in updated if r.services is not None]
    for chunk in chunks([r.existing.id for r in replaced]):
        db.session.execute(delete(AgreementService).where(AgreementService.agreement_id.in_(chunk)))
    service_rows = [{"agreement_id": r.existing.id, "service": s} for r in replaced for s in r.services]
    if service_rows:
        db.session.execute(insert(AgreementService.__table__), service_rows)

    counts = plan_.counts()
    for chunk in chunks(events, 5000):
        db.session.execute(insert(AuditEvent.__table__), chunk)
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


def _insert_and_number(table, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows in one executemany and return code → new id.

    The ids are read back by the unique code: an ordered RETURNING costs one INSERT per
    row on SQLite and a re-parsed multi-row statement per batch with psycopg.
    """
    db.session.execute(insert(table), rows)
    ids: dict[str, int] = {}
    for chunk in chunks([r["code"] for r in rows]):
        ids.update(db.session.execute(select(table.c.code, table.c.id).where(table.c.code.in_(chunk))).tuples().all())
    return ids


def _bulk_update(model, rows: list, now, user_id, events: list, entity: str) -> None:
    """Executemany updates, one statement per set of changed columns; each bumps the version."""
    table = model.__table__
    # The records as they stand, as objects for the audit's "before" (the plan compared named tuples).
    query = select(model).options(*([selectinload(Agreement.service_rows)] if model is Agreement else []))
    records = {}
    for chunk in chunks(sorted(r.existing.id for r in rows)):
        records |= {r.id: r for r in db.session.scalars(query.where(model.id.in_(chunk)))}
    groups: dict[frozenset, list] = {}
    for row in rows:
        groups.setdefault(frozenset(row.values), []).append(row)
    for keys, group in groups.items():
        if keys:
            statement = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({k: bindparam(f"v_{k}") for k in keys} | {
                    "version": table.c.version + 1, "updated_at": bindparam("_now")})
            )
            db.session.execute(statement, [
                {"_id": r.existing.id, "_now": now} | {f"v_{k}": v for k, v in _resolve(r.values).items()}
                for r in group
            ])
        for row in group:
            record = records[row.existing.id]
            before = snapshot(record)
            after = before | _plain(row.values)
            if entity == "agreements" and row.services is not None:
                after["services"] = row.services
            events.append(_event(user_id, now, entity, record.id, before, after,
                                 getattr(record, "name", None) or record.code))
    if model is Institution:  # the search keys of the records whose name, address or codes changed
        name_search.write_keys(name_search.key_rows(
            (r.existing.id, *(_resolve(r.values).get(f, getattr(records[r.existing.id], f))
                              for f in name_search.SOURCES))
            for r in rows if not name_search.SOURCES_SET.isdisjoint(r.values)), replace=True)


def _event(user_id, now, entity: str, entity_id: int | None, before, after, summary: str) -> dict[str, Any]:
    return {"user_id": user_id, "at": now, "action": "import", "entity": entity, "entity_id": entity_id,
            "summary": (summary or "")[:300], "before": before, "after": after,
            "change_request_id": audit.current_request_id()}

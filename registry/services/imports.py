"""Importing the exchange format (DESIGN §8): validate everything, then write all or nothing.

`plan()` reads every row, resolves codes (in the register or anywhere in the same
file, in any order), applies the same rules as the forms and reports every bad row
with its file, row, column and reason, and what would be created, updated or left
unchanged. `apply()` writes a plan that has no errors, in bulk statements, with
one audit event per record ("import") and one for the import itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.models import Agreement, AgreementService, AuditEvent, Institution, Region, User
from registry.models.clock import utcnow
from registry.services import agreements as agreement_rules
from registry.services import institutions as institution_rules
from registry.services.audit import snapshot
from registry.services.exchange import AGREEMENTS, INSTITUTIONS, Sheet, map_header, parse_cell, parse_kind
from registry.services.identifiers import normalise_uscc
from registry.vocab import ADMIN, CIVIL_AFFAIRS, ELDERCARE, HEALTH, MEDICAL

CHUNK = 500
# Exchange columns → model fields (the rest keep their name).
INSTITUTION_FIELDS = {"region": "region_code", "host_code": "host"}
IMPORTERS = {ELDERCARE: {ADMIN, CIVIL_AFFAIRS}, MEDICAL: {ADMIN, HEALTH}, "agreement": {ADMIN, HEALTH}}


@dataclass
class RowError:
    """A reason a row (or the file) cannot be imported."""

    source: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = _("%(source)s 第 %(row)s 行", source=self.source, row=self.row)
        return f"{where} {self.column}：{self.message}" if self.column else f"{where}：{self.message}"


@dataclass
class Ref:
    """An institution a row may refer to: in the register (id > 0) or new in the file (id < 0)."""

    id: int
    code: str
    kind: str
    region_code: str
    host_id: int | None
    name: str


@dataclass
class InstitutionRow:
    source: str
    row: int
    kind: str
    code: str
    values: dict[str, Any]  # model fields present in the file (host as a code)
    existing: Institution | None
    ref: Ref | None = None
    action: str = "create"  # create | update | unchanged


@dataclass
class AgreementRow:
    source: str
    row: int
    code: str | None
    values: dict[str, Any]
    services: list[str] | None
    existing: Agreement | None
    action: str = "create"


@dataclass
class Plan:
    """What an import would do, and why it cannot when `errors` is not empty."""

    institutions: list[InstitutionRow] = field(default_factory=list)
    agreements: list[AgreementRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        result = {}
        for name, rows in (("institutions", self.institutions), ("agreements", self.agreements)):
            result[name] = {a: sum(1 for r in rows if r.action == a) for a in ("create", "update", "unchanged")}
        return result

    @property
    def ok(self) -> bool:
        return not self.errors


def _chunks(items: Iterable, size: int = CHUNK):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _fetch(model, column, values: set, *options) -> list:
    found = []
    for chunk in _chunks(sorted(v for v in values if v)):
        found += db.session.scalars(select(model).where(column.in_(chunk)).options(*options)).all()
    return found


def _row_cells(sheet: Sheet, plan: Plan):
    """(row number, {column key: parsed value}) per row; cell errors go to the plan."""
    positions, header_errors, unknown = map_header(sheet.table, sheet.header)
    for message in header_errors:
        plan.errors.append(RowError(sheet.source, 1, "", message))
    if unknown:
        plan.warnings.append(_("%(source)s：忽略无法识别的列 %(names)s", source=sheet.source,
                               names="、".join(unknown)))
    if header_errors:
        return
    for number, raw in sheet.rows:
        cells: dict[str, Any] = {}
        for index, column in positions.items():
            try:
                cells[column.key] = parse_cell(column, raw[index] if index < len(raw) else None)
            except ValueError as error:
                plan.errors.append(RowError(sheet.source, number, column.label, str(error)))
        yield number, cells


class _Lookups:
    """The rules' questions about other records, answered from the register and the file."""

    def __init__(self, region_names: dict[str, str]):
        self.region_names = region_names
        self.db_values: dict[tuple[str, Any], set[int]] = {}
        self.file_values: dict[tuple[str, Any], int] = {}  # value → the id (or ref id) claiming it

    def region_name(self, code: str) -> str | None:
        return self.region_names.get(code)

    def taken(self, field_name: str, value: Any, current_id: int | None) -> bool:
        owners = self.db_values.get((field_name, value), set()) - {current_id}
        claimed = self.file_values.get((field_name, value))
        return bool(owners) or (claimed is not None and claimed != current_id)


def plan(sheets: list[Sheet], user: User | None) -> Plan:
    """Validate every row of the file against the register; nothing is written."""
    result = Plan()
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    region_by_name = {r.name: r.code for r in regions.values()} | {r.name_en.lower(): r.code for r in regions.values()}
    institution_sheets = [s for s in sheets if s.table is INSTITUTIONS]
    agreement_sheets = [s for s in sheets if s.table is AGREEMENTS]
    refs = _plan_institutions(institution_sheets, user, result, regions, region_by_name)
    _plan_agreements(agreement_sheets, user, result, refs)
    return result


def _plan_institutions(sheets, user, result: Plan, regions, region_by_name) -> dict[str, Ref]:
    parsed: list[tuple[str, int, dict]] = []
    for sheet in sheets:
        parsed += [(sheet.source, number, cells) for number, cells in _row_cells(sheet, result)]

    codes = {c.get("code") for _s, _n, c in parsed}
    host_codes = {c.get("host_code") for _s, _n, c in parsed}
    usccs = {normalise_uscc(c["uscc"]) for _s, _n, c in parsed if c.get("uscc")}
    by_code = {i.code: i for i in _fetch(Institution, Institution.code, codes | host_codes)}
    by_uscc = {i.uscc: i for i in _fetch(Institution, Institution.uscc, usccs)}
    names = {c.get("name") for _s, _n, c in parsed if not c.get("code") and not c.get("uscc")}
    by_name: dict[tuple, list[Institution]] = {}
    for institution in _fetch(Institution, Institution.name, names):
        by_name.setdefault((institution.kind, institution.name, institution.region_code), []).append(institution)

    lookups = _Lookups({code: r.name for code, r in regions.items()})
    for field_name in institution_rules.UNIQUE_FIELDS:
        values = {c.get(field_name) for _s, _n, c in parsed if c.get(field_name)}
        if field_name == "uscc":
            values = usccs
        column = getattr(Institution, field_name)
        for chunk in _chunks(sorted(values)):
            for owner_id, value in db.session.execute(select(Institution.id, column).where(column.in_(chunk))):
                lookups.db_values.setdefault((field_name, value), set()).add(owner_id)

    rows: list[InstitutionRow] = []
    refs: dict[str, Ref] = {code: _ref(i) for code, i in by_code.items()}
    seen_codes: dict[str, int] = {}
    new_codes = _code_allocator(codes)
    for source, number, cells in parsed:
        row = _institution_row(source, number, cells, result, regions, region_by_name, by_code, by_uscc, by_name)
        if row is None:
            continue
        if row.code in seen_codes:
            result.errors.append(RowError(source, number, "机构编码",
                                          _("机构编码 %(code)s 与第 %(row)s 行重复", code=row.code,
                                            row=seen_codes[row.code])))
            continue
        if not row.code:
            row.code = next_code_for(new_codes, row.kind)
        seen_codes[row.code] = number
        existing = row.existing
        row.ref = _ref(existing) if existing else Ref(-(len(rows) + 1), row.code, row.kind, "", None, "")
        row.ref.region_code = row.values.get("region_code") or row.ref.region_code
        rows.append(row)
        refs[row.code] = row.ref

    for row in rows:  # now that every code of the file is known
        _check_institution(row, result, refs, lookups, user)
    result.institutions = rows
    return refs


def _ref(institution: Institution) -> Ref:
    return Ref(institution.id, institution.code, institution.kind, institution.region_code,
               institution.host_id, institution.name)


def _institution_row(source, number, cells, result, regions, region_by_name, by_code, by_uscc, by_name):
    """Identity and values of one row, or None when its kind or region cannot be read."""
    code = cells.get("code")
    existing = by_code.get(code) if code else None
    if not code and cells.get("uscc"):
        existing = by_uscc.get(normalise_uscc(cells["uscc"]))
    kind = parse_kind(cells.get("kind")) if cells.get("kind") else (existing.kind if existing else None)
    if kind is None:
        result.errors.append(RowError(source, number, "机构类别",
                                      _("机构类别应为“养老机构”或“医疗卫生机构”（eldercare / medical）")))
        return None
    if existing is not None and existing.kind != kind:
        result.errors.append(RowError(source, number, "机构类别",
                                      _("机构 %(code)s 已登记为%(kind)s，类别不能更改", code=existing.code,
                                        kind=_kind_label(existing.kind))))
        return None
    values: dict[str, Any] = {}
    for key, value in cells.items():
        if key in ("code", "kind"):
            continue
        values[INSTITUTION_FIELDS.get(key, key)] = value
    if "region_code" in values and values["region_code"] is not None:
        raw = values["region_code"]
        code_for = raw if raw in regions else region_by_name.get(raw) or region_by_name.get(raw.lower())
        if code_for is None:
            result.errors.append(RowError(source, number, "所属区县", _("所属区县不存在：%(value)s", value=raw)))
            return None
        values["region_code"] = code_for
    if existing is None and not code and not cells.get("uscc"):
        candidates = by_name.get((kind, values.get("name"), values.get("region_code")), [])
        existing = candidates[0] if len(candidates) == 1 else None
    return InstitutionRow(source, number, kind, existing.code if existing else (code or ""), values, existing)


def _kind_label(kind: str) -> str:
    return "养老机构" if kind == ELDERCARE else "医疗卫生机构"


def _code_allocator(file_codes: set) -> dict[str, Any]:
    """State for handing out registry codes to new rows without one."""
    start = (db.session.scalar(select(func.max(Institution.id))) or 0) + 1
    return {"next": start, "file": {c for c in file_codes if c}}


def next_code_for(state: dict[str, Any], kind: str) -> str:
    prefix = institution_rules.CODE_PREFIX[kind]
    while True:
        candidate = f"{prefix}{state['next']:07d}"
        state["next"] += 1
        if candidate in state["file"]:
            continue
        if db.session.scalar(select(Institution.id).where(Institution.code == candidate)) is None:
            state["file"].add(candidate)
            return candidate


def _check_institution(row: InstitutionRow, result: Plan, refs: dict[str, Ref], lookups: _Lookups,
                       user: User | None) -> None:
    """Apply the form's rules to the row as it would stand after the import."""
    existing = row.existing
    fields = [f for f in institution_rules.COMMON_FIELDS + institution_rules.KIND_FIELDS[row.kind] if f != "host"]
    given = institution_rules.clean(row.kind, {k: v for k, v in row.values.items() if k != "host"})
    if existing is None:
        merged = institution_rules.clean(row.kind, {f: None for f in fields}) | given
    else:
        merged = {f: getattr(existing, f) for f in fields} | given
    if ("lat" in given or "lon" in given) and (existing is None or (merged["lat"], merged["lon"]) != (
            existing.lat, existing.lon)):
        merged["coord_source"] = given["coord_source"] = "import" if merged.get("lat") is not None else ""

    host_ref = None
    if row.values.get("host"):
        host_ref = refs.get(row.values["host"])
        if host_ref is None:
            result.errors.append(RowError(row.source, row.row, "设立单位机构编码",
                                          _("未找到机构编码为 %(code)s 的设立单位", code=row.values["host"])))
            return
    elif "host" not in row.values and existing is not None and existing.host is not None:
        host_ref = refs.get(existing.host.code) or _ref(existing.host)
    merged["host"] = host_ref
    row.ref.region_code, row.ref.name = merged.get("region_code") or "", merged.get("name") or ""
    row.ref.host_id = host_ref.id if host_ref else None

    for field_name in institution_rules.UNIQUE_FIELDS:
        value = merged.get(field_name)
        if not value:
            continue
        claimed = lookups.file_values.setdefault((field_name, value), row.ref.id)
        if claimed != row.ref.id:
            result.errors.append(RowError(row.source, row.row, INSTITUTIONS.column(field_name).label,
                                          _("与文件中另一行重复：%(value)s", value=value)))
    errors = institution_rules.check(row.kind, merged, current=row.ref, lookups=lookups)
    for field_name, message in errors.items():
        result.errors.append(RowError(row.source, row.row, _label(field_name), message))
    problem = _permission_problem(user, row.kind, merged.get("region_code"), existing)
    if problem:
        result.errors.append(RowError(row.source, row.row, "", problem))
    if errors or problem:
        return

    host_id = host_ref.id if host_ref else None
    if existing is None:
        row.action = "create"
        row.values = {f: merged.get(f) for f in fields} | {"host_id": host_ref}
        if row.values.get("two_in_one") is None:
            row.values.pop("two_in_one", None)  # not in the exchange format: the column default applies
        return
    changes: dict[str, Any] = {k: v for k, v in given.items() if v != getattr(existing, k)}
    if "host" in row.values and host_id != existing.host_id:
        changes["host_id"] = host_ref
    row.values = changes
    row.action = "update" if changes else "unchanged"


def _label(field_name: str) -> str:
    """The exchange label of a model field, for error messages."""
    key = {"region_code": "region", "host": "host_code"}.get(field_name, field_name)
    for table in (INSTITUTIONS, AGREEMENTS):
        for column in table.columns:
            if column.key == key:
                return column.label
    return {"eldercare": "养老机构编码", "medical": "医疗机构编码"}.get(field_name, field_name)


def _permission_problem(user: User | None, kind: str, region_code: str | None,
                        existing: Institution | None) -> str | None:
    """Why this user may not import this record, or None (the system may import anything)."""
    if user is None:
        return None
    if user.role not in IMPORTERS[kind]:
        return _("您的角色不能导入%(kind)s", kind=_kind_label(kind) if kind in (ELDERCARE, MEDICAL) else _("签约协议"))
    if user.region_code is not None:
        for region in {region_code, existing.region_code if existing else None} - {None}:
            if region != user.region_code:
                return _("只能导入本区县的记录")
    return None


# --- agreements -------------------------------------------------------------------------------


def _plan_agreements(sheets, user, result: Plan, refs: dict[str, Ref]) -> None:
    parsed: list[tuple[str, int, dict]] = []
    for sheet in sheets:
        parsed += [(sheet.source, number, cells) for number, cells in _row_cells(sheet, result)]
    if not parsed:
        return
    party_codes = {c.get(k) for _s, _n, c in parsed for k in ("eldercare_code", "medical_code")}
    for institution in _fetch(Institution, Institution.code, party_codes - set(refs)):
        refs[institution.code] = _ref(institution)
    # The services are compared row by row: load them with their agreements, not one query each.
    services = selectinload(Agreement.service_rows)
    by_code = {a.code: a for a in _fetch(Agreement, Agreement.code, {c.get("code") for _s, _n, c in parsed},
                                         services)}
    home_ids = {refs[c["eldercare_code"]].id for _s, _n, c in parsed
                if c.get("eldercare_code") in refs and refs[c["eldercare_code"]].id > 0}
    by_terms: dict[tuple, list[Agreement]] = {}
    for agreement in _fetch(Agreement, Agreement.eldercare_id, home_ids, services):
        key = (agreement.eldercare_id, agreement.medical_id, agreement.valid_from, agreement.valid_to)
        by_terms.setdefault(key, []).append(agreement)

    seen: dict[str, int] = {}
    allocator: dict[str, int] = {}
    for source, number, cells in parsed:
        row = _agreement_row(source, number, cells, result, refs, by_code, by_terms, user)
        if row is None:
            continue
        if row.code in seen:
            result.errors.append(RowError(source, number, "协议编号", _("协议编号 %(code)s 与第 %(row)s 行重复",
                                                                     code=row.code, row=seen[row.code])))
            continue
        if not row.code:
            row.code = _next_agreement_code(allocator, row.values.get("signed_on") or row.values["valid_from"],
                                            set(seen) | set(by_code))
        seen[row.code] = number
        result.agreements.append(row)


def _agreement_row(source, number, cells, result, refs, by_code, by_terms, user) -> AgreementRow | None:
    parties: dict[str, Ref] = {}
    for key, kind, label in (("eldercare_code", ELDERCARE, "养老机构编码"), ("medical_code", MEDICAL, "医疗机构编码")):
        code = cells.get(key)
        if not code:
            continue
        ref = refs.get(code)
        if ref is None:
            result.errors.append(RowError(source, number, label, _("未找到机构编码为 %(code)s 的机构", code=code)))
            return None
        if ref.kind != kind:
            result.errors.append(RowError(source, number, label, _("%(code)s 不是%(kind)s", code=code,
                                                                   kind=_kind_label(kind))))
            return None
        parties[key] = ref
    code = cells.get("code")
    existing = by_code.get(code) if code else None
    values = {k: v for k, v in cells.items() if k not in ("code", "eldercare_code", "medical_code", "services")}
    merged = ({f: getattr(existing, f) for f in agreement_rules.FIELDS if f not in ("eldercare", "medical")}
              if existing else {f: None for f in agreement_rules.FIELDS if f not in ("eldercare", "medical")})
    for text_field in ("visit_frequency", "fees", "referral_terms", "eldercare_duties", "medical_duties"):
        if merged.get(text_field) is None:
            merged[text_field] = ""
        if text_field in values and values[text_field] is None:
            values[text_field] = ""
    merged |= values
    home = parties.get("eldercare_code") or (_ref(existing.eldercare) if existing else None)
    medical = parties.get("medical_code") or (_ref(existing.medical) if existing else None)
    if existing is None and not code and home and medical and home.id > 0 and medical.id > 0:
        matches = by_terms.get((home.id, medical.id, merged.get("valid_from"), merged.get("valid_to")), [])
        existing = matches[0] if len(matches) == 1 else None
    services = cells.get("services") if "services" in cells else None
    wanted = services if services is not None else (existing.services if existing else [])
    errors = agreement_rules.check(merged | {"eldercare": home, "medical": medical}, wanted)
    for field_name, message in errors.items():
        result.errors.append(RowError(source, number, _label(field_name), message))
    problem = _permission_problem(user, "agreement", home.region_code if home else None, None)
    if problem:
        result.errors.append(RowError(source, number, "", problem))
    if errors or problem:
        return None
    row = AgreementRow(source, number, existing.code if existing else code, values, services, existing)
    row.values = merged | {"eldercare_id": home, "medical_id": medical}
    if existing is not None:
        changes = {k: v for k, v in values.items() if v != getattr(existing, k)}
        if home.id != existing.eldercare_id:
            changes["eldercare_id"] = home
        if medical.id != existing.medical_id:
            changes["medical_id"] = medical
        row.values = changes
        if services is not None and set(services) == set(existing.services):
            row.services = None
        row.action = "update" if changes or row.services is not None else "unchanged"
    return row


def _next_agreement_code(allocator: dict[str, int], day: date, used: set[str]) -> str:
    prefix = f"XY{day.year}"
    if prefix not in allocator:
        allocator[prefix] = (db.session.scalar(
            select(func.count()).select_from(Agreement).where(Agreement.code.like(f"{prefix}%"))) or 0) + 1
    while True:
        candidate = f"{prefix}{allocator[prefix]:05d}"
        allocator[prefix] += 1
        if candidate not in used and db.session.scalar(
                select(Agreement.id).where(Agreement.code == candidate)) is None:
            used.add(candidate)
            return candidate


# --- writing ----------------------------------------------------------------------------------


def _resolve(values: dict[str, Any]) -> dict[str, Any]:
    """Refs to the ids they now have."""
    return {k: (v.id if isinstance(v, Ref) else v) for k, v in values.items()}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in _resolve(values).items()}


# Every row of one executemany insert carries the same keys: both kinds' fields.
_INSERT_DEFAULTS = {
    f: None for f in institution_rules.COMMON_FIELDS + sum(institution_rules.KIND_FIELDS.values(), ())
    if f != "host"
} | {"address": "", "coord_source": "", "two_in_one": False, "host_id": None}


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
        rows = [_INSERT_DEFAULTS | _resolve(r.values) | {"code": r.code, "kind": r.kind, "version": 1,
                                                         "created_at": now, "updated_at": now} for r in ready]
        ids = _insert_and_number(table, rows)
        for row in ready:
            row.ref.id = new_id = ids[row.code]
            events.append(_event(user_id, now, "institutions", new_id, None, _plain(row.values | {
                "code": row.code, "kind": row.kind}), row.values.get("name") or row.code))
        done = {id(r) for r in ready}
        pending = [r for r in pending if id(r) not in done]

    _bulk_update(table, [r for r in plan_.institutions if r.action == "update"], now, user_id, events,
                 "institutions")

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
    _bulk_update(agreements, updated, now, user_id, events, "agreements")
    replaced = [r for r in updated if r.services is not None]
    for chunk in _chunks([r.existing.id for r in replaced]):
        db.session.execute(delete(AgreementService).where(AgreementService.agreement_id.in_(chunk)))
    service_rows = [{"agreement_id": r.existing.id, "service": s} for r in replaced for s in r.services]
    if service_rows:
        db.session.execute(insert(AgreementService.__table__), service_rows)

    counts = plan_.counts()
    events.append(_event(user_id, now, "imports", None, None, {"source": source, "counts": counts},
                         _("导入 %(source)s", source=source)))
    for chunk in _chunks(events, 5000):
        db.session.execute(insert(AuditEvent.__table__), chunk)
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
    for chunk in _chunks([r["code"] for r in rows]):
        ids.update(db.session.execute(select(table.c.code, table.c.id).where(table.c.code.in_(chunk))).tuples().all())
    return ids


def _bulk_update(table, rows: list, now, user_id, events: list, entity: str) -> None:
    """Executemany updates, one statement per set of changed columns; each bumps the version."""
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
            before = snapshot(row.existing)
            after = before | _plain(row.values)
            if entity == "agreements" and row.services is not None:
                after["services"] = row.services
            events.append(_event(user_id, now, entity, row.existing.id, before, after,
                                 getattr(row.existing, "name", None) or row.existing.code))


def _event(user_id, now, entity: str, entity_id: int | None, before, after, summary: str) -> dict[str, Any]:
    return {"user_id": user_id, "at": now, "action": "import", "entity": entity, "entity_id": entity_id,
            "summary": (summary or "")[:300], "before": before, "after": after}

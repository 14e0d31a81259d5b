"""Planning an import: every row checked with the rights and rules of a form edit; nothing written.

Rights come first (docs/permissions.md): a row naming a record outside the importer's scope —
by its code, its credit code, as a host or as an agreement party — gets one error,
"不在您的管辖范围内", and no field rule runs on that record's stored values.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from types import MappingProxyType
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from registry import permissions
from registry.extensions import db
from registry.models import Agreement, AgreementService, Institution, Region, User
from registry.models.agreements import services_in_order
from registry.services import agreements as agreement_rules
from registry.services import institutions as institution_rules
from registry.services.formats.bureau import Reading
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS, kind_label
from registry.services.formats.exchange import Sheet, map_header, parse_cell, parse_kind
from registry.services.identifiers import code_error, normalise_uscc
from registry.services.imports.names import resolve_names
from registry.services.infra.collector import collector_paused
from registry.vocab import ELDERCARE, MEDICAL

CHUNK = 500
PROGRESS_EVERY = 200  # rows between two progress reports
AGREEMENT_TEXT_FIELDS = ("visit_frequency", "fees", "referral_terms", "eldercare_duties", "medical_duties")
# The fields a row sets on an institution of each kind (the host, a reference, is resolved apart), and
# a new record's values before the file's: each of them blank as the form stores it.
INSTITUTION_FIELDS = {kind: [f for f in institution_rules.COMMON_FIELDS + kind_fields if f != "host"]
                      for kind, kind_fields in institution_rules.KIND_FIELDS.items()}
NEW_INSTITUTION = {kind: institution_rules.clean(kind, dict.fromkeys(fields))
                   for kind, fields in INSTITUTION_FIELDS.items()}
FIELD_OF_KEY = {column.key: column.field for column in INSTITUTIONS.columns}  # exchange key → model field


NO_VALUES: Mapping[str, Any] = MappingProxyType({})  # a row's parsed cells once its values are taken


def out_of_scope() -> str:
    """The only thing said of a record the importer may not see (docs/permissions.md)."""
    return _("不在您的管辖范围内")


@dataclass
class RowError:
    """A reason a row (or the file) cannot be imported, and where the cell is when one is to blame."""

    source: str
    row: int
    column: str
    message: str
    sheet: str = ""  # the sheet's key (its title; a CSV file's name), as corrections name it
    index: int | None = None  # the file's column, from 0, when one cell is to blame
    value: str = ""  # that cell as the file holds it
    name: str = ""  # the institution the row names, so the user knows which row it is

    def __str__(self) -> str:
        where = _("%(source)s 第 %(row)s 行", source=self.source, row=self.row)
        return f"{where} {self.column}：{self.message}" if self.column else f"{where}：{self.message}"


@dataclass(slots=True)
class Ref:
    """An institution a row may refer to: in the register (id > 0) or new in the file (id < 0)."""

    id: int
    code: str
    kind: str
    region_code: str
    host_id: int | None
    name: str
    closed_on: date | None = None

    @classmethod
    def of(cls, institution: Any) -> Ref:
        """The Ref of a register's institution (KnownInstitution, or a whole record)."""
        return cls(institution.id, institution.code, institution.kind, institution.region_code,
                   institution.host_id, institution.name, institution.closed_on)


@dataclass(slots=True)
class Cells:
    """One row as read: its place, its parsed cells, and the cells that could not be read."""

    source: str
    row: int
    values: Mapping[str, Any]
    errors: list[RowError]  # a list once the row has one; () before (most rows, kept until checked, have none)
    unreadable: set[str] | frozenset[str] = frozenset()  # exchange labels of the cells that could not be read
    sheet: Sheet | None = None
    raw: list[Any] = field(default_factory=list)  # the row as the file holds it
    where: dict[str, int] = field(default_factory=dict)  # exchange key → the file's column

    def error(self, column: str, message: str, key: str | None = None) -> RowError:
        """An error of the row; of one cell when `key` names the exchange column to blame."""
        index = self.where.get(key) if key else None
        value = self.raw[index] if index is not None and index < len(self.raw) else None
        return RowError(self.source, self.row, column, message, self.sheet.key if self.sheet else "", index,
                        "" if value is None else str(value), self.name)

    @property
    def name(self) -> str:
        """The institution the row names: its own name, or an agreement's parties."""
        for keys in (("name",), ("eldercare_name", "medical_name")):
            found = [str(self.raw[self.where[k]]) for k in keys
                     if k in self.where and self.where[k] < len(self.raw) and self.raw[self.where[k]] is not None]
            if found:
                return " — ".join(found)
        return str(self.values.get("name") or "")


@dataclass(slots=True)
class Given:
    """A row's values from its identity to its check, as two tuples (the keys shared by the sheet's rows).

    Every row is held between the two; as a dict each weighed three times as much.
    """

    keys: tuple[str, ...]
    cells: tuple[Any, ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(self.keys, self.cells, strict=True))


@dataclass(slots=True)
class InstitutionRow:
    source: str
    row: int
    kind: str
    code: str
    values: dict[str, Any] | Given  # model fields present in the file (host as a code); Given until checked
    existing: KnownInstitution | None  # the register's institution, None for a new one
    unreadable: set[str] | frozenset[str]  # labels of the cells that could not be read
    ref: Ref | None = None
    action: str = "create"  # create | update | unchanged


@dataclass(slots=True)
class AgreementRow:
    source: str
    row: int
    code: str | None
    values: dict[str, Any]
    services: list[str] | None
    existing: Any  # the register's record (RECORDS), None for a new one
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


def chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    """`items` in lists of at most `size` (bound parameters stay within every database's limit)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# A record of the register as the planner compares it: its table's columns as attributes. Not an ORM
# object: a re-import compares 100,000 of them field by field, and loading them as objects (instance
# state, identity map, several objects each) cost twice the query; applying loads the few it updates as
# objects, for the audit. Nor SQLAlchemy's Row, whose attributes read about four times slower.
InstitutionRecord = namedtuple("InstitutionRecord", Institution.__table__.columns.keys())
AgreementRecord = namedtuple("AgreementRecord", Agreement.__table__.columns.keys())
RECORDS = {Institution: InstitutionRecord, Agreement: AgreementRecord}
# What the planner keeps of the register's institutions a file names, hosts and parties among them: who
# each is and where. Their other columns are fetched a chunk at a time as the rows are checked (a
# re-import names every record: 100,000 whole records held at once weighed more than the rest of the plan).
KnownInstitution = namedtuple("KnownInstitution", "id code kind region_code host_id name closed_on uscc")
KNOWN_COLUMNS = [Institution.__table__.c[name] for name in KnownInstitution._fields]


def _records(model, column, values: set) -> list[Any]:
    """The register's records of `model` whose `column` is among `values` (see RECORDS)."""
    record = RECORDS[model]
    found = []
    for chunk in chunks(sorted(v for v in values if v)):
        found += map(record._make, db.session.execute(select(model.__table__).where(column.in_(chunk))))
    return found


def _label(field_name: str) -> str:
    """The exchange label of a model field, for error messages."""
    column = INSTITUTIONS.by_field(field_name) or AGREEMENTS.by_field(field_name)
    return column.label if column is not None else field_name


Progress = Callable[[int], None]  # told how many rows have been checked so far


@collector_paused()
def plan(sheets: list[Sheet], user: User | None, progress: Progress | None = None) -> Plan:
    """Validate every row of the file against the register as `user` (None: the system); nothing is written."""
    return Planner(user, progress).plan(sheets)


@collector_paused()
def plan_reading(reading: Reading, user: User | None, progress: Progress | None = None) -> Plan:
    """A file read in a bureau's own shape: names turned into codes, then planned, with what reading found."""
    resolve_names(reading.sheets, user)
    result = plan(reading.sheets, user, progress)
    result.errors[:0] = [RowError(source, row, "", message, reading.error_keys.get(source, ""))
                         for source, row, message in reading.errors]
    result.warnings[:0] = reading.warnings
    return result


class Planner:
    """One import's lookups: regions, the records the file names, and what the user may touch."""

    def __init__(self, user: User | None, progress: Progress | None = None):
        self.user = user
        self.progress = progress
        self.checked = 0
        self.result = Plan()
        self.regions = {r.code: r for r in db.session.scalars(select(Region))}
        self.region_by_name = ({r.name: r.code for r in self.regions.values()}
                               | {r.name_en.lower(): r.code for r in self.regions.values()})
        self.refs: dict[str, Ref] = {}  # institution code → the register's record or the file's row
        self.records: dict[int, KnownInstitution] = {}  # the register's institutions named, by id (hosts, parties)
        self.readable: set[int] = set()  # ids of the register's institutions the user may read
        self.db_values: dict[tuple[str, Any], set[int]] = {}
        self.file_values: dict[tuple[str, Any], int] = {}  # unique value → the id (or ref id) claiming it

    # The rules' questions about other records (institution_rules.check's `lookups`).

    def region_name(self, code: str) -> str | None:
        region = self.regions.get(code)
        return region.name if region else None

    def taken(self, field_name: str, value: Any, current_id: int | None) -> bool:
        owners = self.db_values.get((field_name, value), set()) - {current_id}
        claimed = self.file_values.get((field_name, value))
        return bool(owners) or (claimed is not None and claimed != current_id)

    # Rights.

    def _may_read(self, ref: Any) -> bool:
        """Whether the user may read a Ref or a register's record (None: nothing to read)."""
        return self.user is None or ref is None or ref.id < 0 or ref.id in self.readable

    def _note_readable(self, institutions: Iterable[Any]) -> None:
        if self.user is not None:
            self.readable |= permissions.readable_ids(self.user, Institution, [i.id for i in institutions])

    def _institutions(self, column, values: set) -> list[KnownInstitution]:
        """The register's institutions whose `column` is among `values`, kept by id."""
        found: list[KnownInstitution] = []
        for chunk in chunks(sorted(v for v in values if v)):
            found += map(KnownInstitution._make, db.session.execute(select(*KNOWN_COLUMNS).where(column.in_(chunk))))
        self.records |= {i.id: i for i in found}
        return found

    def _fetch_missing(self, ids: set[int | None]) -> None:
        """Fetch the institutions of these ids not fetched yet: the hosts and parties records refer to."""
        self._institutions(Institution.id, {i for i in ids if i} - self.records.keys())

    def _checked(self) -> None:
        self.checked += 1
        if self.progress is not None and self.checked % PROGRESS_EVERY == 0:
            self.progress(self.checked)

    def _role_problem(self, kind: str) -> str | None:
        if self.user is None or permissions.can_create(self.user, kind):
            return None
        what = kind_label(kind) if kind in (ELDERCARE, MEDICAL) else _("签约协议")
        return _("您的角色不能导入%(kind)s", kind=what)

    def _region_problem(self, region_code: str | None) -> str | None:
        allowed = permissions.editable_regions(self.user) if self.user is not None else None
        if allowed is None or region_code is None or region_code in allowed:
            return None
        return _("只能导入本区县的记录")

    # Rows.

    def plan(self, sheets: list[Sheet]) -> Plan:
        self._plan_institutions([s for s in sheets if s.table is INSTITUTIONS])
        self._plan_agreements([s for s in sheets if s.table is AGREEMENTS])
        return self.result

    def _read(self, sheets: list[Sheet], report: bool = True) -> Iterator[Cells]:
        """Every row's parsed cells, one at a time; a header that cannot be read is the sheet's error.

        Read again for each pass rather than held: a 100,000-row file's parsed cells weigh more than
        the plan made of them. `report` (the first pass) notes the headers' errors and warnings.
        """
        for sheet in sheets:
            positions, header_errors, unknown = map_header(sheet.table, sheet.header)
            if report:
                self.result.errors += [RowError(sheet.source, 1, "", message) for message in header_errors]
                if unknown:
                    self.result.warnings.append(_("%(source)s：忽略无法识别的列 %(names)s", source=sheet.source,
                                                  names="、".join(unknown)))
            if header_errors:
                continue
            where = sheet.positions or {column.key: index for index, column in positions.items()}
            for number, raw in sheet.rows:
                cells = Cells(sheet.source, number, {}, (), sheet=sheet, raw=sheet.original(number, raw),
                              where=where)
                for index, column in positions.items():
                    try:
                        cells.values[column.key] = parse_cell(column, raw[index] if index < len(raw) else None)
                    except ValueError as error:
                        problem = cells.error(sheet.label(column), str(error), column.key)
                        if not cells.errors:
                            cells.errors, cells.unreadable = [], set()
                        if problem not in cells.errors:  # one cell may hold two columns (a period)
                            cells.errors.append(problem)
                        cells.unreadable.add(column.label)
                yield cells

    def _report(self, cells: Cells, rule_errors: dict[str, str], unreadable: set[str]) -> None:
        """A row's unreadable cells, then its broken rules (a cell that could not be read is not also 'missing')."""
        self.result.errors += cells.errors
        for field_name, message in rule_errors.items():
            column = INSTITUTIONS.by_field(field_name) or AGREEMENTS.by_field(field_name)
            label = _label(field_name)
            if label not in unreadable:
                shown = cells.sheet.label(column) if column is not None and cells.sheet is not None else label
                self.result.errors.append(cells.error(shown, message, column.key if column is not None else None))

    def _first_to_claim(self, cells: Cells, code: str, seen: dict[str, int], label: str) -> bool:
        """Whether this row is the file's first with `code`; a second one is refused."""
        if code in seen:
            self._refuse(cells, label, _("%(label)s %(code)s 与第 %(row)s 行重复", label=label, code=code,
                                         row=seen[code]))
            return False
        seen[code] = cells.row
        return True

    def _refuse(self, cells: Cells, column: str, message: str) -> None:
        """A row that cannot be planned further: its unreadable cells and the reason."""
        self.result.errors += [*cells.errors, cells.error(column, message)]

    # --- institutions ---------------------------------------------------------------------------

    def _plan_institutions(self, sheets: list[Sheet]) -> None:
        # First pass: the codes, credit codes, names and unique values the file names, to look up at once.
        codes: set[Any] = set()
        host_codes: set[Any] = set()
        usccs: set[str] = set()
        names: set[Any] = set()
        unique: dict[str, set[Any]] = {f: set() for f in institution_rules.UNIQUE_FIELDS if f != "uscc"}
        for cells in self._read(sheets):
            values = cells.values
            codes.add(values.get("code"))
            host_codes.add(values.get("host_code"))
            if values.get("uscc"):
                usccs.add(normalise_uscc(values["uscc"]))
            elif not values.get("code"):
                names.add(values.get("name"))
            for field_name, found in unique.items():
                if values.get(field_name):
                    found.add(values[field_name])
        by_code = {i.code: i for i in self._institutions(Institution.code, codes | host_codes)}
        by_uscc = {i.uscc: i for i in self._institutions(Institution.uscc, usccs)}
        by_name: dict[tuple, list[Any]] = {}
        for institution in self._institutions(Institution.name, names):
            by_name.setdefault((institution.kind, institution.name, institution.region_code), []).append(
                institution)
        self._note_readable([*by_code.values(), *by_uscc.values(), *(i for v in by_name.values() for i in v)])
        self._fetch_missing({i.host_id for i in self.records.values()})  # a row may keep its record's host
        self._load_unique_values(unique | {"uscc": usccs})
        del names, unique, host_codes

        # Second pass: each row's identity; its parsed cells are let go once its values are taken.
        rows: list[tuple[InstitutionRow, Cells]] = []
        self.refs = {code: Ref.of(i) for code, i in by_code.items()}
        seen_codes: dict[str, int] = {}
        shared_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        new_codes = institution_rules.InstitutionCodes(reserved=codes)
        for cells in self._read(sheets, report=False):
            row = self._institution_row(cells, by_code, by_uscc, by_name)
            cells.values = NO_VALUES
            if row is None:
                continue
            if not row.code:
                row.code = new_codes.next(row.kind)
            if not self._first_to_claim(cells, row.code, seen_codes, "机构编码"):
                continue
            existing = row.existing
            row.ref = Ref.of(existing) if existing else Ref(-(len(rows) + 1), row.code, row.kind, "", None, "")
            row.ref.region_code = row.values.get("region_code") or row.ref.region_code
            keys = tuple(row.values)
            row.values = Given(shared_keys.setdefault(keys, keys), tuple(row.values.values()))
            rows.append((row, cells))
            self.refs[row.code] = row.ref

        for batch in chunks(rows):  # now that every code of the file is known
            records = {r.id: r for r in _records(Institution, Institution.id,
                                                  {row.existing.id for row, _cells in batch if row.existing})}
            for row, cells in batch:
                self._check_institution(row, cells, records[row.existing.id] if row.existing else None)
                self._checked()
        self.result.institutions = [row for row, _cells in rows]

    def _load_unique_values(self, values: dict[str, set[Any]]) -> None:
        """The register's owners of the unique values (credit code, filing and licence numbers) the file holds."""
        for field_name in institution_rules.UNIQUE_FIELDS:
            column = getattr(Institution, field_name)
            for chunk in chunks(sorted(values[field_name])):
                for owner_id, value in db.session.execute(select(Institution.id, column).where(column.in_(chunk))):
                    self.db_values.setdefault((field_name, value), set()).add(owner_id)

    def _institution_row(self, cells: Cells, by_code, by_uscc, by_name) -> InstitutionRow | None:
        """Identity and values of one row, or None when it cannot be planned (its error noted)."""
        values_in = cells.values
        code = values_in.get("code")
        if code and code_error(code):
            self._refuse(cells, "机构编码", code_error(code))
            return None
        existing = by_code.get(code) if code else None
        if not code and values_in.get("uscc"):
            existing = by_uscc.get(normalise_uscc(values_in["uscc"]))
        if not self._may_read(existing):
            self.result.errors.append(cells.error("", out_of_scope()))
            return None
        kind = parse_kind(values_in.get("kind")) if values_in.get("kind") else (existing.kind if existing else None)
        if kind is None:
            self._refuse(cells, "机构类别", _("机构类别应为“养老机构”或“医疗卫生机构”（eldercare / medical）"))
            return None
        if existing is not None and existing.kind != kind:
            self._refuse(cells, "机构类别", _("机构 %(code)s 已登记为%(kind)s，类别不能更改", code=existing.code,
                                             kind=kind_label(existing.kind)))
            return None
        values = {FIELD_OF_KEY[key]: value for key, value in values_in.items() if key not in ("code", "kind")}
        if values.get("region_code") is not None:
            raw = values["region_code"]
            region = raw if raw in self.regions else self.region_by_name.get(raw) or self.region_by_name.get(
                raw.lower())
            if region is None:
                self._refuse(cells, "所属区县", _("所属区县不存在：%(value)s", value=raw))
                return None
            values["region_code"] = region
        if existing is None and not code and not values_in.get("uscc"):
            candidates = by_name.get((kind, values.get("name"), values.get("region_code")), [])
            existing = candidates[0] if len(candidates) == 1 and self._may_read(candidates[0]) else None
        return InstitutionRow(cells.source, cells.row, kind, existing.code if existing else (code or ""), values,
                              existing, cells.unreadable)

    def _check_institution(self, row: InstitutionRow, cells: Cells, existing: Any) -> None:
        """Rights first, then the form's rules on the row as it would stand after the import.

        `existing` is the whole record (RECORDS) of the register's institution the row names, if any.
        """
        row.values = row.values.as_dict()
        fields = INSTITUTION_FIELDS[row.kind]
        given = institution_rules.clean(row.kind, {k: v for k, v in row.values.items() if k != "host"})
        if existing is None:
            merged = NEW_INSTITUTION[row.kind] | given
        else:
            merged = {f: getattr(existing, f) for f in fields} | given
        problem = self._role_problem(row.kind) or self._region_problem(merged.get("region_code"))
        if problem:
            self._refuse(cells, "", problem)
            return
        if ("lat" in given or "lon" in given) and (existing is None or (merged["lat"], merged["lon"]) != (
                existing.lat, existing.lon)):
            merged["coord_source"] = given["coord_source"] = "import" if merged.get("lat") is not None else ""

        host_ref = None
        if row.values.get("host"):
            host_ref = self.refs.get(row.values["host"])
            if host_ref is None:
                self._refuse(cells, "设立单位机构编码", _("未找到机构编码为 %(code)s 的设立单位",
                                                          code=row.values["host"]))
                return
            if not self._may_read(host_ref):
                self._refuse(cells, "设立单位机构编码", out_of_scope())
                return
        elif "host" not in row.values and existing is not None and existing.host_id is not None:
            host = self.records[existing.host_id]
            host_ref = self.refs.get(host.code) or Ref.of(host)
        merged["host"] = host_ref
        row.ref.region_code, row.ref.name = merged.get("region_code") or "", merged.get("name") or ""
        row.ref.closed_on = merged.get("closed_on")

        errors = institution_rules.check(row.kind, merged, current=row.ref, lookups=self)
        row.ref.host_id = host_ref.id if host_ref else None
        for field_name in institution_rules.UNIQUE_FIELDS:
            value = merged.get(field_name)
            if value and self.file_values.setdefault((field_name, value), row.ref.id) != row.ref.id:
                errors.setdefault(field_name, _("与文件中另一行重复：%(value)s", value=value))
        self._report(cells, errors, row.unreadable)
        if errors or cells.errors:
            return

        if existing is None:
            row.action = "create"
            # A blank where the model has a default (两证合一: 否) takes the default.
            row.values = {f: merged.get(f) for f in fields
                          if merged.get(f) is not None or institution_rules.INSERT_DEFAULTS.get(f) is None}
            row.values["host_id"] = host_ref
            return
        changes: dict[str, Any] = {k: v for k, v in given.items() if v != getattr(existing, k)}
        if "host" in row.values and (host_ref.id if host_ref else None) != existing.host_id:
            changes["host_id"] = host_ref
        row.values = changes
        row.action = "update" if changes else "unchanged"

    # --- agreements -----------------------------------------------------------------------------

    def _plan_agreements(self, sheets: list[Sheet]) -> None:
        parsed = list(self._read(sheets))
        if not parsed:
            return
        party_codes = {c.values.get(k) for c in parsed for k in ("eldercare_code", "medical_code")}
        parties = self._institutions(Institution.code, party_codes - set(self.refs))
        self._note_readable(parties)
        self.refs |= {i.code: Ref.of(i) for i in parties}
        by_code = {a.code: a for a in _records(Agreement, Agreement.code, {c.values.get("code") for c in parsed})}
        home_ids = {self.refs[c.values["eldercare_code"]].id for c in parsed
                    if c.values.get("eldercare_code") in self.refs and self.refs[c.values["eldercare_code"]].id > 0}
        by_terms: dict[tuple, list[Any]] = {}
        by_home = _records(Agreement, Agreement.eldercare_id, home_ids)
        for agreement in by_home:
            key = (agreement.eldercare_id, agreement.medical_id, agreement.valid_from, agreement.valid_to)
            by_terms.setdefault(key, []).append(agreement)
        known = [*by_code.values(), *by_home]
        self._fetch_missing({i for a in known for i in (a.eldercare_id, a.medical_id)})  # a row may keep a party
        # The services are compared row by row: fetched for all these agreements at once, not one query each.
        self.services: dict[int, set[str]] = {}
        services = select(AgreementService.agreement_id, AgreementService.service)
        for chunk in chunks(sorted({a.id for a in known})):
            for agreement_id, service in db.session.execute(services.where(AgreementService.agreement_id.in_(chunk))):
                self.services.setdefault(agreement_id, set()).add(service)
        self.editable_agreements = (
            permissions.editable_agreement_ids(self.user, [a.id for a in by_code.values()])
            if self.user is not None else {a.id for a in by_code.values()})

        seen: dict[str, int] = {}
        new_codes = agreement_rules.AgreementCodes(reserved=by_code)
        for cells in parsed:
            row = self._agreement_row(cells, by_code, by_terms)
            self._checked()
            if row is None:
                continue
            if not row.code:
                row.code = new_codes.next(row.values.get("signed_on") or row.values["valid_from"])
            if not self._first_to_claim(cells, row.code, seen, "协议编号"):
                continue
            new_codes.reserved.add(row.code)
            self.result.agreements.append(row)

    def _agreement_row(self, cells: Cells, by_code, by_terms) -> AgreementRow | None:
        """Rights first (the agreement, its parties, the role), then the agreement's rules."""
        code = cells.values.get("code")
        if code and code_error(code):
            self._refuse(cells, "协议编号", code_error(code))
            return None
        existing = by_code.get(code) if code else None
        if existing is not None and existing.id not in self.editable_agreements:
            self.result.errors.append(cells.error("", out_of_scope()))
            return None
        problem = self._role_problem("agreement")
        if problem:
            self._refuse(cells, "", problem)
            return None
        parties: dict[str, Ref] = {}
        for key, kind, label in (("eldercare_code", ELDERCARE, "养老机构编码"), ("medical_code", MEDICAL, "医疗机构编码")):
            party_code = cells.values.get(key)
            if not party_code:
                continue
            ref = self.refs.get(party_code)
            if ref is None:
                self._refuse(cells, label, _("未找到机构编码为 %(code)s 的机构", code=party_code))
                return None
            if not self._may_read(ref):
                self._refuse(cells, label, out_of_scope())
                return None
            if ref.kind != kind:
                self._refuse(cells, label, _("%(code)s 不是%(kind)s", code=party_code, kind=kind_label(kind)))
                return None
            parties[key] = ref
        home = parties.get("eldercare_code") or (Ref.of(self.records[existing.eldercare_id]) if existing else None)
        medical = parties.get("medical_code") or (Ref.of(self.records[existing.medical_id]) if existing else None)
        problem = self._region_problem(home.region_code if home else None)
        if problem:
            self._refuse(cells, "", problem)
            return None

        values = {k: v for k, v in cells.values.items()
                  if k not in ("code", "eldercare_code", "medical_code", "services")}
        fields = [f for f in agreement_rules.FIELDS if f not in ("eldercare", "medical")]
        merged = {f: getattr(existing, f) for f in fields} if existing else dict.fromkeys(fields)
        for text_field in AGREEMENT_TEXT_FIELDS:
            if merged.get(text_field) is None:
                merged[text_field] = ""
            if text_field in values and values[text_field] is None:
                values[text_field] = ""
        merged |= values
        if existing is None and not code and home and medical and home.id > 0 and medical.id > 0:
            matches = by_terms.get((home.id, medical.id, merged.get("valid_from"), merged.get("valid_to")), [])
            existing = matches[0] if len(matches) == 1 else None
        services = cells.values.get("services") if "services" in cells.values else None
        existing_services = services_in_order(self.services.get(existing.id, set())) if existing else []
        wanted = services if services is not None else existing_services
        errors = agreement_rules.check(merged | {"eldercare": home, "medical": medical}, wanted)
        self._report(cells, errors, cells.unreadable)
        if errors or cells.errors:
            return None
        row = AgreementRow(cells.source, cells.row, existing.code if existing else code, values, services, existing)
        row.values = merged | {"eldercare_id": home, "medical_id": medical}
        if existing is not None:
            changes = {k: v for k, v in values.items() if v != getattr(existing, k)}
            if home.id != existing.eldercare_id:
                changes["eldercare_id"] = home
            if medical.id != existing.medical_id:
                changes["medical_id"] = medical
            row.values = changes
            if services is not None and set(services) == set(existing_services):
                row.services = None
            row.action = "update" if changes or row.services is not None else "unchanged"
        return row

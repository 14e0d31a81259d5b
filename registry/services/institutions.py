"""Institutions: the rules for registering, editing, closing and listing them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from registry.extensions import db
from registry.models import Agreement, Institution, Region
from registry.services import MAX_COUNT, RecordInvalid, StaleEdit, audit, name_search
from registry.services.identifiers import has_control_characters, normalise_uscc, uscc_error
from registry.vocab import ELDERCARE, KINDS, LEVELS, MEDICAL, MEDICAL_TYPES, OWNERSHIPS, RATINGS

COMMON_FIELDS = (
    "name", "uscc", "region_code", "address", "lat", "lon", "coord_source", "ownership",
    "opened_on", "closed_on", "filing_no", "host", "contact_person", "phone", "note",
)
KIND_FIELDS = {
    ELDERCARE: ("beds_total", "beds_nursing", "rating", "special_support"),
    MEDICAL: (
        "medical_type", "level", "licence_no", "two_in_one",
        "insurance_applied_on", "insurance_designated_on",
    ),
}
CODE_PREFIX = {ELDERCARE: "YL", MEDICAL: "YY"}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


UNIQUE_FIELDS = ("uscc", "filing_no", "licence_no")
# What a bulk insert (an import) writes for a field a row does not give: the model's default.
INSERT_DEFAULTS = {
    column.name: column.default.arg if column.default is not None and column.default.is_scalar else None
    for column in Institution.__table__.columns
    if column.name not in ("id", "code", "kind", "version", "created_at", "updated_at")
}
# Free-text fields stored as "" when empty, flags stored as 否; other blanks are stored as null.
TEXT_FIELDS = frozenset(f for f, default in INSERT_DEFAULTS.items() if default == "")
FLAG_FIELDS = frozenset(f for f, default in INSERT_DEFAULTS.items() if default is False)


class DatabaseLookups:
    """What the rules need to know about other records, asked of the database.

    The importer passes its own lookups, which also know the rows of the file.
    """

    def region_name(self, code: str) -> str | None:
        region = db.session.get(Region, code)
        return region.name if region else None

    def taken(self, field: str, value: Any, current_id: int | None) -> bool:
        column = getattr(Institution, field)
        query = select(Institution.id).where(column == value)
        if current_id is not None:
            query = query.where(Institution.id != current_id)
        return db.session.scalar(query.limit(1)) is not None


def clean(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The fields of `kind` only, strings stripped, blanks as None."""
    cleaned: dict[str, Any] = {}
    for field in COMMON_FIELDS + KIND_FIELDS[kind]:
        if field not in values:
            continue
        value = values[field]
        if isinstance(value, str):
            value = value.strip() or ("" if field in TEXT_FIELDS else None)
        elif value is None and field in TEXT_FIELDS:
            value = ""
        elif value is None and field in FLAG_FIELDS:
            value = False
        cleaned[field] = value
    if cleaned.get("uscc"):
        cleaned["uscc"] = normalise_uscc(cleaned["uscc"])
    return cleaned


def check(kind: str, values: dict[str, Any], current=None, lookups=None) -> dict[str, str]:
    """Every rule of docs/data-model.md on a complete set of values; {} when all hold.

    `current` is the record being edited (anything with an `id`), None for a new one.
    """
    lookups = lookups or DatabaseLookups()
    current_id = getattr(current, "id", None)
    errors: dict[str, str] = {}
    if kind not in KINDS:
        return {"kind": _("机构类别无效")}
    if _blank(values.get("name")):
        errors["name"] = _("请填写机构名称")
    elif has_control_characters(values["name"]):
        errors["name"] = _("机构名称不能包含换行符、制表符等控制字符")
    region = values.get("region_code")
    if _blank(region):
        errors["region_code"] = _("请选择所属区县")
    elif lookups.region_name(region) is None:
        errors["region_code"] = _("所属区县不存在：%(value)s", value=region)
    if values.get("opened_on") is None:
        errors["opened_on"] = _("请填写成立日期")
    closed_on = values.get("closed_on")
    if closed_on is not None and values.get("opened_on") and closed_on < values["opened_on"]:
        errors["closed_on"] = _("停业日期不能早于成立日期")
    if values.get("ownership") and values["ownership"] not in OWNERSHIPS:
        errors["ownership"] = _("举办性质无效")

    code = values.get("uscc")
    if code:
        problem = uscc_error(code)
        if problem:
            errors["uscc"] = problem
        elif lookups.taken("uscc", code, current_id):
            errors["uscc"] = _("统一社会信用代码 %(value)s 已被其他机构使用", value=code)
    if values.get("filing_no") and lookups.taken("filing_no", values["filing_no"], current_id):
        errors["filing_no"] = _("备案号已被其他机构使用")

    lat, lon = values.get("lat"), values.get("lon")
    if (lat is None) != (lon is None):
        errors["lat" if lat is None else "lon"] = _("纬度和经度须同时填写")
    if lat is not None and not -90 <= lat <= 90:
        errors["lat"] = _("纬度须在 -90 到 90 之间（WGS-84）")
    if lon is not None and not -180 <= lon <= 180:
        errors["lon"] = _("经度须在 -180 到 180 之间（WGS-84）")

    if kind == ELDERCARE:
        errors.update(_check_beds(values))
        if values.get("rating") and values["rating"] not in RATINGS:
            errors["rating"] = _("等级无效")
    else:
        errors.update(_check_medical(values, current_id, lookups))
    errors.update(_check_host(kind, values, current_id, getattr(current, "host_id", None), lookups))
    return errors


def _check_beds(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    total, nursing = values.get("beds_total"), values.get("beds_nursing")
    if total is None:
        errors["beds_total"] = _("请填写床位数")
    elif total < 0:
        errors["beds_total"] = _("床位数不能为负数")
    elif total > MAX_COUNT:
        errors["beds_total"] = _("床位数不能超过 %(maximum)s", maximum=f"{MAX_COUNT:,}")
    if nursing is not None:
        if nursing < 0:
            errors["beds_nursing"] = _("护理型床位数不能为负数")
        elif nursing > MAX_COUNT:
            errors["beds_nursing"] = _("护理型床位数不能超过 %(maximum)s", maximum=f"{MAX_COUNT:,}")
        elif total is not None and nursing > total:
            errors["beds_nursing"] = _("护理型床位数不能超过床位数")
    return errors


def _check_medical(values: dict[str, Any], current_id: int | None, lookups) -> dict[str, str]:
    errors: dict[str, str] = {}
    if _blank(values.get("medical_type")):
        errors["medical_type"] = _("请选择医疗机构类型")
    elif values["medical_type"] not in MEDICAL_TYPES:
        errors["medical_type"] = _("医疗机构类型无效：%(value)s", value=values["medical_type"])
    if values.get("level") and values["level"] not in LEVELS:
        errors["level"] = _("医院等级无效")
    if values.get("licence_no") and lookups.taken("licence_no", values["licence_no"], current_id):
        errors["licence_no"] = _("执业许可证登记号已被其他机构使用")
    applied, designated = values.get("insurance_applied_on"), values.get("insurance_designated_on")
    if applied and designated and designated < applied:
        errors["insurance_designated_on"] = _("医保定点日期不能早于申请日期")
    return errors


def _check_host(kind: str, values: dict[str, Any], current_id: int | None, previous_host_id: int | None,
                lookups) -> dict[str, str]:
    """`host` is the host institution (or anything with id, kind, region_code, host_id, closed_on)."""
    host = values.get("host")
    if host is None:
        return {}
    if current_id is not None and host.id == current_id:
        return {"host": _("机构不能是自己的设立单位")}
    if host.kind == kind:
        return {"host": _("设立单位须为另一类机构（养老机构设立医疗机构，或医疗机构设立养老机构）")}
    if current_id is not None and host.host_id == current_id:
        return {"host": _("两个机构不能互为设立单位")}
    # A unit may outlive its host, but a closed host sets up nothing new (a unit newly under it
    # that would still operate after the host's closing).
    unit_closes = values.get("closed_on")
    if (host.closed_on is not None and host.id != previous_host_id
            and (unit_closes is None or unit_closes > host.closed_on)):
        return {"host": _("设立单位已于 %(day)s 停业，不能再设立运营中的内设机构", day=host.closed_on.isoformat())}
    if values.get("region_code") and host.region_code != values["region_code"]:
        region = lookups.region_name(host.region_code) or host.region_code
        return {"region_code": _("内设机构须与设立单位在同一区县（%(region)s）", region=region)}
    return {}


class InstitutionCodes:
    """Hands out registry codes not yet used: YL… for homes, YY… for medical institutions.

    One allocator serves the form (one code) and an import (many, besides the codes
    the file itself claims in `reserved`).
    """

    FIRST_WINDOW, LARGEST_WINDOW = 8, 250  # numbers whose codes are looked up at once (a form needs one)

    def __init__(self, reserved: Iterable[str] = ()):
        self.number = (db.session.scalar(select(func.max(Institution.id))) or 0) + 1
        self.reserved = {code for code in reserved if code}
        self.looked_up_to = self.number  # the codes of the numbers below it are known
        self.taken: set[str] = set()
        self.window = self.FIRST_WINDOW

    def next(self, kind: str) -> str:
        """A free code for a new institution of `kind`."""
        while True:
            if self.number >= self.looked_up_to:
                self._look_up()
            candidate = f"{CODE_PREFIX[kind]}{self.number:07d}"
            self.number += 1
            if candidate not in self.reserved and candidate not in self.taken:
                self.reserved.add(candidate)
                return candidate

    def _look_up(self) -> None:
        """Which codes of the next window of numbers are in the register: one query, not one per code."""
        end = self.looked_up_to + self.window
        candidates = [f"{prefix}{n:07d}" for n in range(self.looked_up_to, end) for prefix in CODE_PREFIX.values()]
        self.taken |= set(db.session.scalars(select(Institution.code).where(Institution.code.in_(candidates))))
        self.looked_up_to, self.window = end, min(2 * self.window, self.LARGEST_WINDOW)


def _apply(institution: Institution, values: dict[str, Any]) -> None:
    moved = any(
        f in values and values[f] != getattr(institution, f) for f in ("lat", "lon")
    )
    if moved and "coord_source" not in values:
        # Coordinates typed in by hand; cleared coordinates have no source.
        values = values | {"coord_source": "manual" if values.get("lat") is not None else ""}
    for field, value in values.items():
        setattr(institution, field, value)


def problems(kind: str, values: dict[str, Any], institution: Institution | None = None) -> dict[str, str]:
    """The rules a new record (or an edit of `institution`) with these values would break; writes nothing."""
    values = clean(kind, values)
    if institution is None:
        return check(kind, values)
    merged = {f: getattr(institution, f) for f in COMMON_FIELDS + KIND_FIELDS[kind]} | values
    return check(kind, merged, current=institution)


def create(kind: str, values: dict[str, Any], code: str | None = None) -> Institution:
    """Register a new institution of `kind` (validated, audited, flushed)."""
    errors = problems(kind, values)
    if errors:
        raise RecordInvalid(errors)
    values = clean(kind, values)
    institution = Institution(kind=kind, code=code or InstitutionCodes().next(kind))
    _apply(institution, values)
    db.session.add(institution)
    db.session.flush()
    audit.record("create", institution, after=audit.snapshot(institution), summary=institution.name)
    return institution


def update(institution: Institution, values: dict[str, Any], version: int | None) -> bool:
    """Save an edit; refuse it when someone saved the record since `version` was read.

    Returns whether anything changed. An absent key leaves its field unchanged.
    """
    if version is not None and version != institution.version:
        raise StaleEdit()
    errors = problems(institution.kind, values, institution)
    if errors:
        raise RecordInvalid(errors)
    values = clean(institution.kind, values)
    with audit.Change("update", institution) as change:
        _apply(institution, values)
    if change.changed:
        follow_host_region(institution)
    return change.changed


def follow_host_region(host: Institution, user=None) -> list[Institution]:
    """Move the host's in-house units into its region, each change audited (docs/permissions.md).

    A unit is counted in its host's region and must lie in it; the move is part of the
    host's change, whoever edits the unit's own fields.
    """
    moved = []
    for unit in host.units:
        if unit.region_code != host.region_code:
            summary = _("%(name)s（随设立单位迁入%(region)s）", name=unit.name,
                        region=DatabaseLookups().region_name(host.region_code))
            with audit.Change("update", unit, summary=summary, user=user):
                unit.region_code = host.region_code
            moved.append(unit)
    return moved


def close(
    institution: Institution, day: date, close_units: bool = False, version: int | None = None,
    may_edit: Callable[[Institution], bool] = lambda _unit: True,
) -> tuple[list[Institution], list[Institution]]:
    """停业: set the closing day (never deletes); optionally close operating units too.

    Only the units `may_edit` allows are closed (docs/permissions.md: a home's clinic is health's
    to close); the others are returned so the department responsible can be told, and
    they show in its 待办. Refused when someone saved the record since `version` was
    read. Returns (every institution closed, the host first; the units left open).
    """
    if version is not None and version != institution.version:
        raise StaleEdit()
    if day < institution.opened_on:
        raise RecordInvalid({"closed_on": _("停业日期不能早于成立日期")})
    operating = [u for u in institution.units if u.closed_on is None and u.opened_on <= day] if close_units else []
    targets = [institution] + [u for u in operating if may_edit(u)]
    for target in targets:
        with audit.Change("close", target):
            target.closed_on = day
    return targets, [u for u in operating if u not in targets]


def references(institution: Institution) -> int:
    """How many units and agreements refer to the institution."""
    units = db.session.scalar(
        select(func.count()).select_from(Institution).where(Institution.host_id == institution.id)
    )
    agreements = db.session.scalar(
        select(func.count())
        .select_from(Agreement)
        .where(or_(Agreement.eldercare_id == institution.id, Agreement.medical_id == institution.id))
    )
    return (units or 0) + (agreements or 0)


def delete(institution: Institution) -> None:
    """Remove a record entered in error; only when nothing refers to it. Audited."""
    if references(institution):
        raise RecordInvalid({"id": _("该机构还有内设机构或签约协议，不能删除；如已停止运营请办理停业")})
    audit.record("delete", institution, before=audit.snapshot(institution), summary=institution.name)
    db.session.delete(institution)
    db.session.flush()


@dataclass
class ListFilters:
    """What a list page asks for: search text, filters and sort order."""

    q: str = ""
    region: str = ""
    medical_type: str = ""
    status: str = ""  # operating | closed
    hosted: str = ""  # yes | no
    sort: str = "name"
    descending: bool = False


SORTS = {
    "name": Institution.name,  # in pinyin (name_search.by_name)
    "code": Institution.code,
    "region": Institution.region_code,
    "opened_on": Institution.opened_on,
    "beds_total": Institution.beds_total,
    "medical_type": Institution.medical_type,
}


def filtered(query: Select, filters: ListFilters, today: date) -> Select:
    """Apply a list page's search, filters and sort to a scoped query."""
    if filters.q:
        query = query.where(name_search.matching(filters.q))
    if filters.region:
        query = query.where(Institution.region_code == filters.region)
    if filters.medical_type:
        query = query.where(Institution.medical_type == filters.medical_type)
    if filters.status == "operating":
        query = query.where(Institution.operating_on(today))
    elif filters.status == "closed":
        query = query.where(Institution.closed_on.is_not(None), Institution.closed_on <= today)
    if filters.hosted == "yes":
        query = query.where(Institution.host_id.is_not(None))
    elif filters.hosted == "no":
        query = query.where(Institution.host_id.is_(None))
    column = SORTS.get(filters.sort)
    if column is None or filters.sort == "name":
        return name_search.by_name(query, Institution, filters.descending).order_by(Institution.id)
    order = column.desc() if filters.descending else column.asc()
    return query.order_by(order, Institution.id)

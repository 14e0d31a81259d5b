"""医养签约协议: the rules for recording agreements and their status on a day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import aliased

from registry.extensions import db
from registry.models import Agreement, AgreementService, Institution
from registry.services import RecordInvalid, StaleEdit, audit, name_search
from registry.vocab import (
    ACTIVE,
    AGREEMENT_STATUSES,
    ELDERCARE,
    EXPIRED,
    MEDICAL,
    PARTY_CLOSED,
    PENDING,
    SERVICES,
    TERMINATED,
)

FIELDS = (
    "eldercare", "medical", "signed_on", "valid_from", "valid_to", "terminated_on",
    "visit_frequency", "fees", "referral_terms", "eldercare_duties", "medical_duties", "scan_name",
)


def status_on(agreement: Agreement, day: date) -> str:
    """未生效 / 有效 / 一方停业 / 已到期 / 已终止 on `day` (docs/data-model.md, "Active")."""
    if agreement.active_on(day):
        return ACTIVE
    if agreement.terminated_on is not None and agreement.terminated_on <= day:
        return TERMINATED
    if day < agreement.valid_from:
        return PENDING
    if day > agreement.valid_to:
        return EXPIRED
    return PARTY_CLOSED  # in force, but a party is not operating


def termination_problem(day: date | None, signed_on: date | None, valid_to: date | None) -> str | None:
    """Why `day` cannot end the agreement early (None when it can): not before it was signed, and
    not after its last day, when it has already ended by itself (已到期)."""
    if day is None:
        return None
    if signed_on and day < signed_on:
        return _("终止日期不能早于签订日期")
    if valid_to and day > valid_to:
        return _("终止日期不能晚于到期日期 %(day)s：协议到期后已自然失效，无需终止", day=valid_to.isoformat())
    return None


def can_terminate(agreement: Agreement, day: date) -> bool:
    """Whether the page offers 终止协议 on `day`: not terminated yet and not expired."""
    return agreement.terminated_on is None and day <= agreement.valid_to


def status_clause(status: str, day: date):
    """SQL condition for agreements in `status` on `day` (the same rules as `status_on`)."""
    terminated = and_(Agreement.terminated_on.is_not(None), Agreement.terminated_on <= day)
    clauses = {
        ACTIVE: Agreement.active_on(day),
        TERMINATED: terminated,
        PENDING: and_(not_(terminated), Agreement.valid_from > day),
        EXPIRED: and_(not_(terminated), Agreement.valid_to < day),
        PARTY_CLOSED: and_(Agreement.in_force_on(day), not_(Agreement.parties_operating_on(day))),
    }
    return clauses[status]


def check(values: dict[str, Any], services: list[str]) -> dict[str, str]:
    """Every rule on an agreement's values; {} when all hold."""
    errors: dict[str, str] = {}
    home: Institution | None = values.get("eldercare")
    medical: Institution | None = values.get("medical")
    if home is None:
        errors["eldercare"] = _("请选择养老机构")
    elif home.kind != ELDERCARE:
        errors["eldercare"] = _("%(name)s 不是养老机构", name=home.name)
    if medical is None:
        errors["medical"] = _("请选择医疗卫生机构")
    elif medical.kind != MEDICAL:
        errors["medical"] = _("%(name)s 不是医疗卫生机构", name=medical.name)
    if (
        home is not None and medical is not None and not errors
        and (medical.host_id == home.id or home.host_id == medical.id)
    ):
        errors["medical"] = _("设立单位与其内设机构属同一法人，不能相互签约")
    valid_from, valid_to = values.get("valid_from"), values.get("valid_to")
    for key, party in (("eldercare", home), ("medical", medical)):
        closed_on = getattr(party, "closed_on", None)
        if key not in errors and closed_on is not None and valid_from is not None and closed_on <= valid_from:
            # It would be 一方停业 from its first day and never count.
            errors[key] = _("%(name)s 已于 %(day)s 停业，不能签订自此后生效的协议", name=party.name,
                            day=closed_on.isoformat())
    if valid_from is None:
        errors["valid_from"] = _("请填写生效日期")
    if valid_to is None:
        errors["valid_to"] = _("请填写到期日期")
    if valid_from and valid_to and valid_to < valid_from:
        errors["valid_to"] = _("到期日期不能早于生效日期")
    signed_on = values.get("signed_on")
    if signed_on and valid_to and signed_on > valid_to:
        errors["signed_on"] = _("签订日期不能晚于到期日期")
    problem = termination_problem(values.get("terminated_on"), signed_on, valid_to)
    if problem:
        errors["terminated_on"] = problem
    if not services:
        errors["services"] = _("请至少选择一项服务内容")
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        errors["services"] = _("服务内容不在规定范围内：%(value)s", value="、".join(unknown))
    return errors


class AgreementCodes:
    """Hands out free agreement numbers, XY + year + sequence, to a form or an import."""

    FIRST_WINDOW, LARGEST_WINDOW = 8, 250  # numbers whose codes are looked up at once (a form needs one)

    def __init__(self, reserved: Iterable[str] = ()):
        self.numbers: dict[str, int] = {}  # prefix (XY2024) → the next number to offer
        self.looked_up_to: dict[str, int] = {}  # prefix → the codes of the numbers below it are known
        self.windows: dict[str, int] = {}
        self.taken: set[str] = set()
        self.reserved = {code for code in reserved if code}

    def next(self, day: date) -> str:
        """A free number for an agreement signed (or starting) on `day`."""
        prefix = f"XY{day.year}"
        if prefix not in self.numbers:
            self.numbers[prefix] = self.looked_up_to[prefix] = (db.session.scalar(
                select(func.count()).select_from(Agreement).where(Agreement.code.like(f"{prefix}%"))) or 0) + 1
            self.windows[prefix] = self.FIRST_WINDOW
        while True:
            if self.numbers[prefix] >= self.looked_up_to[prefix]:
                self._look_up(prefix)
            candidate = f"{prefix}{self.numbers[prefix]:05d}"
            self.numbers[prefix] += 1
            if candidate not in self.reserved and candidate not in self.taken:
                self.reserved.add(candidate)
                return candidate

    def _look_up(self, prefix: str) -> None:
        """Which codes of the prefix's next window of numbers are in the register: one query, not one per code."""
        start = self.looked_up_to[prefix]
        end = start + self.windows[prefix]
        candidates = [f"{prefix}{n:05d}" for n in range(start, end)]
        self.taken |= set(db.session.scalars(select(Agreement.code).where(Agreement.code.in_(candidates))))
        self.looked_up_to[prefix], self.windows[prefix] = end, min(2 * self.windows[prefix], self.LARGEST_WINDOW)


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """The agreement's fields only, strings stripped."""
    cleaned = {}
    for field in FIELDS:
        if field in values:
            value = values[field]
            if isinstance(value, str):
                value = value.strip()
            cleaned[field] = value
    return cleaned


def _set_services(agreement: Agreement, services: list[str]) -> None:
    keep = {row.service: row for row in agreement.service_rows}
    agreement.service_rows = [keep.get(s) or AgreementService(service=s) for s in dict.fromkeys(services)]


def problems(values: dict[str, Any], services: list[str] | None, agreement: Agreement | None = None
             ) -> dict[str, str]:
    """The rules a new agreement (or an edit of `agreement`) with these values would break; writes nothing."""
    values = clean(values)
    if agreement is None:
        return check(values, services or [])
    merged = {f: getattr(agreement, f) for f in FIELDS} | values
    return check(merged, agreement.services if services is None else services)


def create(values: dict[str, Any], services: list[str], code: str | None = None) -> Agreement:
    """Record a signed agreement (validated, audited, flushed)."""
    errors = problems(values, services)
    if errors:
        raise RecordInvalid(errors)
    values = clean(values)
    agreement = Agreement(code=code or AgreementCodes().next(values.get("signed_on") or values["valid_from"]))
    for field, value in values.items():
        setattr(agreement, field, value)
    _set_services(agreement, services)
    db.session.add(agreement)
    db.session.flush()
    audit.record("create", agreement, after=audit.snapshot(agreement), summary=agreement.code)
    return agreement


def update(
    agreement: Agreement, values: dict[str, Any], services: list[str] | None, version: int | None
) -> bool:
    """Save an edit unless someone saved since `version`; returns whether anything changed."""
    if version is not None and version != agreement.version:
        raise StaleEdit()
    errors = problems(values, services, agreement)
    if errors:
        raise RecordInvalid(errors)
    values = clean(values)
    wanted = agreement.services if services is None else services
    with audit.Change("update", agreement, summary=agreement.code) as change:
        for field, value in values.items():
            setattr(agreement, field, value)
        _set_services(agreement, wanted)
    return change.changed


def terminate(agreement: Agreement, day: date, version: int | None = None) -> None:
    """已终止: the agreement no longer applies from `day` on (audited; refused when stale)."""
    if version is not None and version != agreement.version:
        raise StaleEdit()
    problem = termination_problem(day, agreement.signed_on, agreement.valid_to)
    if problem:
        raise RecordInvalid({"terminated_on": problem})
    with audit.Change("terminate", agreement, summary=agreement.code):
        agreement.terminated_on = day


# Orders of the list that are not one column, and `descending` leaves them as they are: the newest
# first (signed, else in force, latest first), and the active ones soonest to expire first (the others
# after them, the latest to end first), so that an expired agreement never heads the list.
NEWEST, EXPIRING = "newest", "expiring"
SORTS = (NEWEST, EXPIRING, "code", "eldercare", "medical", "valid_from", "valid_to")


@dataclass
class ListFilters:
    """Search text, filters and sort order of the agreements list."""

    q: str = ""
    region: str = ""
    status: str = ""
    service: str = ""
    sort: str = NEWEST
    descending: bool = False


def code_begins(text: str) -> ColumnElement[bool]:
    """SQL condition: the agreement's code begins with `text` (a range on the code's unique index)."""
    prefix = text.strip().upper()
    return and_(Agreement.code >= prefix, Agreement.code < prefix + "\x7f")


def filtered(query: Select, filters: ListFilters, today: date) -> Select:
    """Apply the list's search, filters and sort to a scoped agreements query."""
    home, medical = aliased(Institution), aliased(Institution)
    query = query.join(home, home.id == Agreement.eldercare_id).join(
        medical, medical.id == Agreement.medical_id
    )
    if filters.q:
        query = query.where(or_(code_begins(filters.q),
                                name_search.matching(filters.q, Agreement.eldercare_id, Agreement.medical_id)))
    if filters.region:
        query = query.where(or_(home.region_code == filters.region, medical.region_code == filters.region))
    if filters.status in AGREEMENT_STATUSES:
        query = query.where(status_clause(filters.status, today))
    if filters.service:
        query = query.where(
            exists().where(
                AgreementService.agreement_id == Agreement.id,
                AgreementService.service == filters.service,
            )
        )
    if filters.sort == EXPIRING:
        active = Agreement.active_on(today)
        return query.order_by(case((active, 0), else_=1), case((active, Agreement.valid_to)),
                              Agreement.valid_to.desc(), Agreement.id.desc())
    if filters.sort in ("eldercare", "medical"):  # by the party's name, in pinyin
        party = home if filters.sort == "eldercare" else medical
        return name_search.by_name(query, party, filters.descending).order_by(Agreement.id)
    sorts = {
        "code": Agreement.code,
        "valid_from": Agreement.valid_from,
        "valid_to": Agreement.valid_to,
    }
    column = sorts.get(filters.sort)
    if column is None:  # NEWEST
        return query.order_by(func.coalesce(Agreement.signed_on, Agreement.valid_from).desc(),
                              Agreement.created_at.desc(), Agreement.id.desc())
    return query.order_by(column.desc() if filters.descending else column.asc(), Agreement.id)

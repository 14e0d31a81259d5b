"""待办: the record-level warnings of docs/indicators.md, for the records a user may read.

Each item names the department that acts on it (63号 clause 十一): the one that registers or
edits the record, or — for a hand-over — what must be registered: a large home's in-house
unit and a home's agreement are 卫生健康部门's to register, whoever reads the home.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased, selectinload

from registry import permissions
from registry.display import region_names
from registry.extensions import db
from registry.models import Agreement, Institution, User
from registry.services import compliance, geo
from registry.vocab import AGREEMENT, DEPARTMENTS, ELDERCARE, MEDICAL, REVIEWERS

EXPIRY_NOTICE_DAYS = 60
INSURANCE_MONTHS = 3  # 63号 十八

KINDS = {
    "large_home_without_unit": _l("200床及以上养老机构未内设合格医疗机构"),
    "insurance_not_applied": _l("内设医疗机构运营满3个月，可申请医保定点"),
    "insurance_overdue": _l("医保定点申请已超过3个月未获评定"),
    "agreement_expiring": _l("签约协议将在60天内到期"),
    "agreement_expired": _l("签约协议已到期且无续签"),
    "parties_far": _l("签约双方距离超出周边范围"),
    "outside_region": _l("坐标不在所属区县范围内，请核对坐标或区县"),
    "unit_of_closed_host": _l("设立单位已停业，内设机构仍在运营，请核实并办理停业"),
    "no_active_agreement": _l("运营中的养老机构没有有效签约协议"),
}

# What the acting department registers when it is not the record the item is about.
ACTS_ON = {
    "large_home_without_unit": MEDICAL,
    "no_active_agreement": AGREEMENT,
    "agreement_expiring": AGREEMENT,
    "agreement_expired": AGREEMENT,
    "parties_far": AGREEMENT,
}
# Hand-overs: the record is one department's, the next step another's.
HANDOVERS = {
    "large_home_without_unit": _l("%(department)s登记内设医疗机构", department=DEPARTMENTS[MEDICAL]),
    "no_active_agreement": _l("%(department)s登记签约协议", department=DEPARTMENTS[AGREEMENT]),
}


@dataclass
class TodoItem:
    """One warning: what, since when, where, and the record it is about."""

    kind: str
    since: date
    region_code: str
    institution: Institution | None = None
    agreement: Agreement | None = None
    distance_km: float | None = None

    @property
    def label(self):
        return KINDS[self.kind]

    @property
    def department(self) -> str:
        """The department that acts, as its staff's role (vocab.DEPARTMENT_NAMES)."""
        return REVIEWERS[ACTS_ON.get(self.kind) or self.institution.kind]

    @property
    def text(self) -> str:
        """What to do, and for a hand-over who does it."""
        if self.kind in HANDOVERS:
            return _("%(label)s（%(handover)s）", label=self.label, handover=HANDOVERS[self.kind])
        return str(self.label)


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's end)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_after(day: date, months: int) -> date:
    return months_before(day, -months)


def items(user: User, today: date, nearby_km: float, region: str | None = None, kind: str | None = None,
          department: str | None = None) -> list[TodoItem]:
    """Every warning on `today` for the records `user` may read, newest first.

    `region`, `kind` (a key of KINDS) and `department` (a role of vocab.DEPARTMENT_NAMES) narrow the list.
    """

    def wanted(candidate: str) -> bool:
        fixed = ACTS_ON.get(candidate)
        return kind in (None, candidate) and (department is None or fixed is None or REVIEWERS[fixed] == department)

    found: list[TodoItem] = []
    scope = permissions.institutions_for(user).with_only_columns(Institution.id)
    if region:
        scope = scope.where(Institution.region_code == region)

    if wanted("large_home_without_unit"):
        large = compliance.members("large_home_medical", today, region, missing=True)
        for home in db.session.scalars(large.where(Institution.id.in_(scope))):
            found.append(TodoItem("large_home_without_unit", home.opened_on, home.region_code, home))

    if wanted("no_active_agreement"):
        # The shortfall list of the 签约率 indicator, so the list and the dashboard's gap agree.
        unsigned = compliance.members("agreement_coverage", today, region, missing=True).where(Institution.id.in_(scope))
        lapsed = _agreements_lapsed_on(unsigned, today)
        for home in db.session.scalars(unsigned):
            found.append(TodoItem("no_active_agreement", max(home.opened_on, lapsed.get(home.id, home.opened_on)),
                                  home.region_code, home))

    if wanted("insurance_not_applied") or wanted("insurance_overdue"):
        found += _insurance_items(scope, today)

    if wanted("unit_of_closed_host"):
        # Units still operating after their host closed, for the department that must close them
        # (closing a host closes only the units the closing user may edit; docs/permissions.md).
        host = aliased(Institution)
        orphans = (select(Institution).join(host, host.id == Institution.host_id)
                   .where(Institution.id.in_(scope), Institution.operating_on(today),
                          host.closed_on.is_not(None), host.closed_on <= today)
                   .options(selectinload(Institution.host)))
        for unit in db.session.scalars(orphans):
            if permissions.can_create(user, unit.kind):
                found.append(TodoItem("unit_of_closed_host", unit.host.closed_on, unit.region_code, unit))

    if wanted("outside_region"):
        located = select(Institution).where(Institution.id.in_(scope), Institution.lat.is_not(None),
                                            Institution.operating_on(today))
        for institution in db.session.scalars(located):
            if geo.outside_its_region(institution):
                found.append(TodoItem("outside_region", institution.updated_at.date(), institution.region_code,
                                      institution))

    if any(wanted(k) for k in ("agreement_expiring", "parties_far", "agreement_expired")):
        found += _agreement_items(user, today, nearby_km, region)
    found = [item for item in found if wanted(item.kind) and department in (None, item.department)]
    found.sort(key=lambda item: (item.since, item.kind), reverse=True)
    return found


def _agreements_lapsed_on(homes: Select, today: date) -> dict[int, date]:
    """The day each of these homes' agreements last stopped being active (ended, terminated or its
    medical party closed), for the homes that had one."""
    medical = aliased(Institution)
    rows = db.session.execute(
        select(Agreement.eldercare_id, Agreement.valid_to, Agreement.terminated_on, medical.closed_on)
        .join(medical, medical.id == Agreement.medical_id)
        .where(Agreement.eldercare_id.in_(homes.with_only_columns(Institution.id).order_by(None)),
               Agreement.valid_from <= today)
    )
    lapsed: dict[int, date] = {}
    for home_id, valid_to, terminated_on, closed_on in rows:
        ends = [valid_to + timedelta(days=1), terminated_on, closed_on, today]
        end = min(day for day in ends if day is not None)
        lapsed[home_id] = max(end, lapsed.get(home_id, end))
    return lapsed


def _insurance_items(scope: Select, today: date) -> list[TodoItem]:
    """提示 and 超时 for in-house medical units without an insurance designation (63号 十八)."""
    found = []
    cutoff = months_before(today, INSURANCE_MONTHS)
    units = select(Institution).where(
        Institution.id.in_(scope),
        Institution.kind == MEDICAL,
        Institution.host_id.is_not(None),
        Institution.insurance_designated_on.is_(None),
        Institution.operating_on(today),
        or_(
            Institution.insurance_applied_on.is_(None) & (Institution.opened_on <= cutoff),
            Institution.insurance_applied_on <= cutoff,
        ),
    )
    for unit in db.session.scalars(units):
        kind = _insurance_warning(unit, today)
        if kind:
            since = unit.opened_on if kind == "insurance_not_applied" else unit.insurance_applied_on
            found.append(TodoItem(kind, months_after(since, INSURANCE_MONTHS), unit.region_code, unit))
    return found


def _agreement_items(user: User, today: date, nearby_km: float, region: str | None) -> list[TodoItem]:
    home = aliased(Institution)
    agreements = (
        permissions.agreements_for(user)
        .join(home, home.id == Agreement.eldercare_id)
        .where(home.kind == ELDERCARE)
        .options(selectinload(Agreement.eldercare), selectinload(Agreement.medical))
    )
    if region:
        agreements = agreements.where(home.region_code == region)
    found: list[TodoItem] = []

    active = db.session.scalars(agreements.where(Agreement.active_on(today))).all()
    for agreement in active:
        if agreement.expires_within(today, EXPIRY_NOTICE_DAYS):
            found.append(TodoItem("agreement_expiring", agreement.valid_to,
                                  agreement.eldercare.region_code, agreement=agreement))
        km = geo.distance_km(agreement.eldercare, agreement.medical)
        if km is not None and km > nearby_km:
            found.append(TodoItem("parties_far", agreement.valid_from, agreement.eldercare.region_code,
                                  agreement=agreement, distance_km=km))

    expired = db.session.scalars(
        agreements.where(
            Agreement.valid_to < today,
            or_(Agreement.terminated_on.is_(None), Agreement.terminated_on > Agreement.valid_to),
            home.operating_on(today),
        )
    ).all()
    if expired:
        homes = {a.eldercare_id for a in expired}
        siblings: dict[int, list[Agreement]] = {}
        for other in db.session.scalars(select(Agreement).where(Agreement.eldercare_id.in_(homes))):
            siblings.setdefault(other.eldercare_id, []).append(other)
        for agreement in expired:
            if not any(_succeeds(other, agreement) for other in siblings[agreement.eldercare_id]):
                found.append(TodoItem("agreement_expired", agreement.valid_to + timedelta(days=1),
                                      agreement.eldercare.region_code, agreement=agreement))
    return found


def _succeeds(other: Agreement, ended: Agreement) -> bool:
    """A successor: another agreement of the home in force on the day after `ended` ended."""
    return other.id != ended.id and other.in_force_on(ended.valid_to + timedelta(days=1))


def _insurance_warning(unit: Institution, today: date) -> str | None:
    """提示 or 超时 for an operating in-house medical unit without a designation (63号 十八)."""
    if not (unit.is_medical and unit.host_id and unit.operating_on(today) and unit.insurance_designated_on is None):
        return None
    cutoff = months_before(today, INSURANCE_MONTHS)
    if unit.insurance_applied_on is None:
        return "insurance_not_applied" if unit.opened_on <= cutoff else None
    return "insurance_overdue" if unit.insurance_applied_on <= cutoff else None


def record_warnings(institution: Institution, today: date) -> list[str]:
    """The warnings shown on an institution's own page (the same rules as the 待办 list)."""
    found = []
    if institution.is_eldercare and institution.operating_on(today):
        large = compliance.members("large_home_medical", today, institution.region_code, missing=True)
        if db.session.scalar(large.where(Institution.id == institution.id).with_only_columns(Institution.id)):
            # Tells 民政, who reads the home, that 卫健 registers the unit, and where it is waiting.
            department = DEPARTMENTS[MEDICAL]
            found.append(_("%(warning)s：%(handover)s，已列入%(region)s%(department)s的待办。",
                           warning=KINDS["large_home_without_unit"], handover=HANDOVERS["large_home_without_unit"],
                           region=region_names().get(institution.region_code, institution.region_code),
                           department=department))
    kind = _insurance_warning(institution, today)
    if kind:
        found.append(KINDS[kind])
    if geo.outside_its_region(institution):
        found.append(KINDS["outside_region"])
    return found


def agreement_warnings(agreement: Agreement, today: date, nearby_km: float) -> list[str]:
    """The warnings shown on an agreement's page."""
    found = []
    active = agreement.active_on(today)
    if active and agreement.expires_within(today, EXPIRY_NOTICE_DAYS):
        found.append(KINDS["agreement_expiring"])
    if agreement.valid_to < today and (agreement.terminated_on is None or agreement.terminated_on > agreement.valid_to):
        siblings = db.session.scalars(select(Agreement).where(Agreement.eldercare_id == agreement.eldercare_id))
        if not any(_succeeds(other, agreement) for other in siblings):
            found.append(KINDS["agreement_expired"])
    km = geo.distance_km(agreement.eldercare, agreement.medical)
    if active and km is not None and km > nearby_km:
        found.append(KINDS["parties_far"])
    return found

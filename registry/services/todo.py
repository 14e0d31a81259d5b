"""待办: the record-level warnings of docs/indicators.md, for the records a user may read."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased, selectinload

from registry import permissions
from registry.extensions import db
from registry.models import Agreement, Institution, User
from registry.services import compliance, geo
from registry.vocab import ELDERCARE, MEDICAL

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


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's end)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_after(day: date, months: int) -> date:
    return months_before(day, -months)


def items(user: User, today: date, nearby_km: float, region: str | None = None) -> list[TodoItem]:
    """Every warning on `today` for the records `user` may read, newest first."""
    found: list[TodoItem] = []
    scope = permissions.institutions_for(user).with_only_columns(Institution.id)
    if region:
        scope = scope.where(Institution.region_code == region)

    large = compliance.members("large_home_medical", today, region, missing=True)
    for home in db.session.scalars(large.where(Institution.id.in_(scope))):
        found.append(TodoItem("large_home_without_unit", home.opened_on, home.region_code, home))

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

    located = select(Institution).where(Institution.id.in_(scope), Institution.lat.is_not(None),
                                        Institution.operating_on(today))
    for institution in db.session.scalars(located):
        if geo.outside_its_region(institution):
            found.append(TodoItem("outside_region", institution.updated_at.date(), institution.region_code,
                                  institution))

    found += _agreement_items(user, today, nearby_km, region)
    found.sort(key=lambda item: (item.since, item.kind), reverse=True)
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
            found.append(KINDS["large_home_without_unit"])
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

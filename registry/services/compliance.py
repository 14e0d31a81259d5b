"""Compliance with a target set (茂卫〔2020〕63号): the indicators of DESIGN §4 as of a day.

Every number is a function of the day asked about, computed in SQL from the
opening, closing and agreement dates. Each indicator has one definition of
who counts (`members`), used both by the grouped count and by the drill-down
list, so a list always holds exactly the institutions behind its number.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import aliased

from registry.extensions import db
from registry.models import (
    Agreement,
    AgreementService,
    Institution,
    Region,
    Target,
    TargetSet,
    TrainingRecord,
)
from registry.vocab import (
    ELDERCARE,
    HOME_HOSTING_TYPES,
    LARGE_HOME_UNIT_TYPES,
    MEDICAL,
    REFERRAL_SERVICES,
    SPECIALTY_TYPES,
)

DEFAULT_TARGET_SET = "maoming-2020-63"
CITY = "city"
LARGE_HOME_BEDS = 200


@dataclass(frozen=True)
class Indicator:
    """An indicator of DESIGN §4: a count, or a share of homes."""

    key: str
    label: Any
    short: Any  # a sheet name: at most 31 characters
    clause: str
    share: bool = False
    has_missing: bool = True  # whether a shortfall list ("would count but do not") exists


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in (
        Indicator("eldercare_run_medical", _l("养老机构设立的医疗机构"), _l("养老设医疗"), "一(一)"),
        Indicator("medical_run_eldercare", _l("医疗机构设立的养老机构"), _l("医疗设养老"), "一(一)"),
        Indicator("integrated_with_specialty", _l("以老年病、康复、护理、中医为特色的医养结合机构"),
                  _l("特色医养结合"), "一(三)"),
        Indicator("referral_coverage", _l("建立双向转诊和预约就诊绿色通道的养老机构占比"), _l("双向转诊"),
                  "二(五)", share=True),
        Indicator("agreement_coverage", _l("养老机构签约率"), _l("签约率"), "一(二)", share=True),
        Indicator("large_home_medical", _l("200床及以上养老机构内设医疗机构占比"), _l("大型养老内设医疗"),
                  "一(一)", share=True),
        Indicator("trained_in_year", _l("当年培训医疗护理人员和养老护理员人数"), _l("培训人数"), "十九",
                  has_missing=False),
    )
}

# What a shortfall list holds, per indicator.
MISSING_HELP = {
    "eldercare_run_medical": _l("运营中、尚未内设医疗机构的养老机构。"),
    "medical_run_eldercare": _l("运营中、尚未设立养老机构的医院、卫生院和社区卫生服务中心。"),
    "integrated_with_specialty": _l(
        "已是医养结合机构但不具备老年病、康复、护理、中医特色的机构，以及尚未设立养老机构的特色医院。"
    ),
    "referral_coverage": _l("运营中、没有包含双向转诊和预约就诊绿色通道的有效签约协议的养老机构。"),
    "agreement_coverage": _l("运营中、没有有效签约协议的养老机构。"),
    "large_home_medical": _l(
        "200床及以上、未内设护理院、医务室、门诊部、护理站、老年病医院或康复医院的养老机构（仅有诊所不计入）。"
    ),
}

COMPARATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


# --- who counts -----------------------------------------------------------------------------


def _other(kind: str) -> str:
    return MEDICAL if kind == ELDERCARE else ELDERCARE


def hosts_operating_unit(institution, day: date, kind: str | None = None, types=None):
    """EXISTS an operating unit of the other kind (or of `kind`, of `types`) set up by `institution`."""
    unit = aliased(Institution)
    conditions = [unit.host_id == institution.id, unit.operating_on(day)]
    conditions.append(unit.kind == kind if kind else unit.kind != institution.kind)
    if types:
        conditions.append(unit.medical_type.in_(sorted(types)))
    return exists().where(*conditions)


def has_active_agreement(home, day: date, services: frozenset[str] = frozenset()):
    """EXISTS an agreement of `home` active on `day` (medical party operating) covering `services`."""
    medical = aliased(Institution)
    conditions = [
        Agreement.eldercare_id == home.id,
        Agreement.valid_from <= day,
        Agreement.valid_to >= day,
        or_(Agreement.terminated_on.is_(None), Agreement.terminated_on > day),
        exists().where(medical.id == Agreement.medical_id, medical.operating_on(day)),
    ]
    for service in sorted(services):
        conditions.append(
            exists().where(AgreementService.agreement_id == Agreement.id, AgreementService.service == service)
        )
    return exists().where(*conditions)


def _unit_pairs(day: date):
    """(unit, host, conditions): an operating unit set up by an operating institution of the other kind.

    `unit.host_id IS NOT NULL` lets both databases start from the few hosted units
    (a partial index holds only them) instead of from every institution.
    """
    unit, host = aliased(Institution, name="unit"), aliased(Institution, name="host")
    conditions = [
        unit.host_id.is_not(None),
        unit.host_id == host.id,
        unit.kind != host.kind,
        unit.operating_on(day),
        host.operating_on(day),
    ]
    return unit, host, conditions


def _hosted_units(unit_kind: str, day: date):
    """Operating units of `unit_kind` whose host is an operating institution of the other kind."""
    unit, host, conditions = _unit_pairs(day)
    return unit, host, [*conditions, unit.kind == unit_kind]


def _specialty(unit, host):
    """The pair makes the host a 一(三) integrated institution with a specialty."""
    return or_(host.medical_type.in_(sorted(SPECIALTY_TYPES)), unit.medical_type.in_(sorted(SPECIALTY_TYPES)))


def _specialty_pairs(day: date):
    """(host, unit) pairs that make the host an integrated institution with a specialty (一(三))."""
    unit, host, conditions = _unit_pairs(day)
    return unit, host, [*conditions, _specialty(unit, host)]


HOME_SHARES = ("referral_coverage", "agreement_coverage", "large_home_medical")


def _home_flag(indicator: str, home, day: date) -> tuple[Any, Any]:
    """A share indicator's per-home (numerator condition, denominator condition or None).

    Built one at a time: a record page asks about one indicator, and each condition costs
    milliseconds of Python to build.
    """
    if indicator == "referral_coverage":
        return has_active_agreement(home, day, REFERRAL_SERVICES), None
    if indicator == "agreement_coverage":
        return has_active_agreement(home, day), None
    if indicator == "large_home_medical":
        large = home.beds_total >= LARGE_HOME_BEDS
        return and_(large, hosts_operating_unit(home, day, MEDICAL, LARGE_HOME_UNIT_TYPES)), large
    raise KeyError(indicator)


# --- the figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """An indicator's value for one scope; shares carry numerator and denominator."""

    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None

    @classmethod
    def share(cls, numerator: int, denominator: int) -> Figure:
        return cls(numerator / denominator if denominator else None, numerator, denominator)

    def as_json(self) -> dict[str, Any]:
        if self.denominator is None:
            return {"value": self.value}
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator}


# A report holds plain copies of the rows it was computed from, never ORM instances: it is
# kept beyond the session that read them (services/compliance_cache.py) and shared by requests.


@dataclass(frozen=True)
class RegionRow:
    """A region as a report shows it."""

    code: str
    name: str
    name_en: str
    kind: str

    @classmethod
    def of(cls, region: Region) -> RegionRow:
        return cls(region.code, region.name, region.name_en, region.kind)


@dataclass(frozen=True)
class TargetSetRow:
    """The policy document a report is measured against."""

    id: str
    title: str
    document_no: str

    @classmethod
    def of(cls, target_set: TargetSet) -> TargetSetRow:
        return cls(target_set.id, target_set.title, target_set.document_no)


@dataclass(frozen=True)
class TargetRow:
    """One target's terms."""

    id: int
    indicator: str
    scope: str
    deadline: date
    comparator: str
    value: Decimal
    clause: str

    @classmethod
    def of(cls, target: Target) -> TargetRow:
        return cls(target.id, target.indicator, target.scope, target.deadline, target.comparator,
                   target.value, target.clause)


@dataclass(frozen=True)
class TargetResult:
    """A target with the indicator's actual value on the day asked about."""

    target: TargetRow
    actual: float | int | None
    met: bool
    overdue: bool

    @property
    def gap(self) -> float | None:
        """How far the actual value is from the target (0 when met)."""
        if self.met:
            return 0
        if self.actual is None:
            return None
        return abs(float(self.target.value) - float(self.actual))

    def as_json(self) -> dict[str, Any]:
        target = self.target
        value = float(target.value)
        return {
            "indicator": target.indicator, "scope": target.scope, "deadline": target.deadline.isoformat(),
            "comparator": target.comparator, "value": int(value) if value.is_integer() else value,
            "clause": target.clause, "actual": self.actual, "met": self.met, "overdue": self.overdue,
        }


@dataclass(frozen=True)
class Report:
    """All indicators for the city and every region on one day, with the targets."""

    as_of: date
    target_set: TargetSetRow | None
    regions: tuple[RegionRow, ...]
    figures: dict[str, dict[str, Figure]]
    targets: tuple[TargetResult, ...] = ()

    def figure(self, indicator: str, scope: str) -> Figure:
        return self.figures[indicator][scope]

    def targets_for(self, indicator: str, scope: str) -> list[TargetResult]:
        return list(self._targets_by_cell.get((indicator, scope), ()))  # a copy: the report is shared

    @cached_property
    def _targets_by_cell(self) -> dict[tuple[str, str], tuple[TargetResult, ...]]:
        """The targets by (indicator, scope): the dashboard asks for each of its ~90 cells."""
        cells: dict[tuple[str, str], list[TargetResult]] = {}
        for result in self.targets:
            cells.setdefault((result.target.indicator, result.target.scope), []).append(result)
        return {cell: tuple(results) for cell, results in cells.items()}

    def as_json(self, regions: list[str] | None = None) -> dict[str, Any]:
        """The JSON of DESIGN §8; `regions` limits what a district official sees."""
        shown = [r.code for r in self.regions if regions is None or r.code in regions]
        return {
            "as_of": self.as_of.isoformat(),
            "target_set": self.target_set.id if self.target_set else None,
            "indicators": {
                key: {
                    "city": scopes[CITY].as_json(),
                    "regions": {code: scopes[code].as_json() for code in shown},
                }
                for key, scopes in self.figures.items()
            },
            "targets": [
                t.as_json() for t in self.targets if t.target.scope == CITY or t.target.scope in shown
            ],
        }


def _counts_by_region(query: Select) -> dict[str, int]:
    return {region: int(n or 0) for region, n in db.session.execute(query)}


def compute(day: date, target_set_id: str = DEFAULT_TARGET_SET) -> Report:
    """Every indicator of DESIGN §4 on `day`, per region and for the city, with the targets."""
    regions = tuple(RegionRow.of(r) for r in db.session.scalars(select(Region).order_by(Region.position)))
    counts: dict[str, dict[str, int]] = {}

    # One pass over the hosted units gives both unit counts and the specialty hosts (a host
    # is of one kind, so its specialty pairs all fall in one unit kind: the sums do not overlap).
    unit, host, conditions = _unit_pairs(day)
    specialty_host = case((_specialty(unit, host), host.id))
    rows = db.session.execute(
        select(host.region_code, unit.kind, func.count(unit.id), func.count(specialty_host.distinct()))
        .where(*conditions)
        .group_by(host.region_code, unit.kind)
    )
    for key in ("eldercare_run_medical", "medical_run_eldercare", "integrated_with_specialty"):
        counts[key] = {}
    for region_code, unit_kind, units, specialty_hosts in rows:
        key = "eldercare_run_medical" if unit_kind == MEDICAL else "medical_run_eldercare"
        counts[key][region_code] = int(units)
        specialty = counts["integrated_with_specialty"]
        specialty[region_code] = specialty.get(region_code, 0) + int(specialty_hosts)

    home = aliased(Institution, name="home")
    flags = {key: _home_flag(key, home, day) for key in HOME_SHARES}
    columns = [home.region_code, func.count(home.id)]
    for numerator, denominator in flags.values():
        columns.append(func.sum(case((numerator, 1), else_=0)))
        columns.append(func.sum(case((denominator, 1), else_=0)) if denominator is not None else func.count(home.id))
    shares: dict[str, dict[str, tuple[int, int]]] = {key: {} for key in flags}
    rows = db.session.execute(
        select(*columns).where(home.kind == ELDERCARE, home.operating_on(day)).group_by(home.region_code)
    )
    for region_code, _homes, *sums in rows:
        for index, key in enumerate(flags):
            shares[key][region_code] = (int(sums[2 * index] or 0), int(sums[2 * index + 1] or 0))

    counts["trained_in_year"] = _trained_by_region(day)

    figures: dict[str, dict[str, Figure]] = {}
    for key, indicator in INDICATORS.items():
        scopes: dict[str, Figure] = {}
        if indicator.share:
            total_n = total_d = 0
            for region in regions:
                n, d = shares[key].get(region.code, (0, 0))
                scopes[region.code] = Figure.share(n, d)
                total_n, total_d = total_n + n, total_d + d
            scopes[CITY] = Figure.share(total_n, total_d)
        else:
            for region in regions:
                scopes[region.code] = Figure(counts[key].get(region.code, 0))
            scopes[CITY] = Figure(sum(counts[key].values()))
        figures[key] = scopes

    target_set = db.session.get(TargetSet, target_set_id)
    if target_set is None:
        return Report(day, None, regions, figures)
    targets = tuple(
        _evaluate(TargetRow.of(t), figures, day) for t in target_set.targets if t.indicator in figures
    )
    return Report(day, TargetSetRow.of(target_set), regions, figures, targets)


def _trained_by_region(day: date) -> dict[str, int]:
    """People trained from 1 January of `day`'s year up to `day`, by region (十九)."""
    return _counts_by_region(
        select(TrainingRecord.region_code, func.sum(TrainingRecord.medical_nursing + TrainingRecord.caregivers))
        .where(TrainingRecord.held_on >= date(day.year, 1, 1), TrainingRecord.held_on <= day)
        .group_by(TrainingRecord.region_code)
    )


def _year_actual(target: TargetRow, day: date) -> int:
    """For a target of one calendar year (培训人数): that year's count as of `day` or its deadline."""
    until = min(day, target.deadline)
    if until.year != target.deadline.year:
        return 0  # the target's year has not begun on `day`
    counts = _trained_by_region(until)
    return sum(counts.values()) if target.scope == CITY else counts.get(target.scope, 0)


def _evaluate(target: TargetRow, figures: dict[str, dict[str, Figure]], day: date) -> TargetResult:
    figure = figures[target.indicator].get(target.scope)
    actual = figure.value if figure else None
    if target.indicator == "trained_in_year" and target.deadline.year != day.year:
        # "每年培训1000名": the 2021 target is judged on 2021's count, not on the year of `day`.
        actual = _year_actual(target, day)
    compare = COMPARATORS.get(target.comparator, operator.ge)
    met = actual is not None and compare(actual, float(target.value))
    return TargetResult(target, actual, met, overdue=day >= target.deadline and not met)


# --- drill-down -----------------------------------------------------------------------------


@lru_cache(maxsize=256)
def members(indicator: str, day: date, region: str | None = None, missing: bool = False) -> Select:
    """The institutions behind a number, or (`missing`) those that would count but do not.

    For `trained_in_year` the rows are training records. `region` None means the city.
    The statement is kept once built (building it costs milliseconds, running it far less
    for one record): a Select holds no data, and callers only derive new ones from it.
    """
    if indicator == "trained_in_year":
        query = select(TrainingRecord).where(
            TrainingRecord.held_on >= date(day.year, 1, 1), TrainingRecord.held_on <= day
        )
        if region:
            query = query.where(TrainingRecord.region_code == region)
        return query.order_by(TrainingRecord.held_on.desc(), TrainingRecord.id)

    if indicator in ("eldercare_run_medical", "medical_run_eldercare"):
        unit_kind = MEDICAL if indicator == "eldercare_run_medical" else ELDERCARE
        if missing:  # institutions that could set up such a unit and have none operating
            query = select(Institution).where(
                Institution.kind == _other(unit_kind),
                Institution.operating_on(day),
                not_(hosts_operating_unit(Institution, day, unit_kind)),
            )
            if unit_kind == ELDERCARE:
                query = query.where(Institution.medical_type.in_(sorted(HOME_HOSTING_TYPES)))
            region_column = Institution.region_code
        else:
            unit, host, conditions = _hosted_units(unit_kind, day)
            query = select(unit).join(host, unit.host_id == host.id).where(*conditions)
            region_column = host.region_code
    elif indicator == "integrated_with_specialty":
        unit, host, conditions = _specialty_pairs(day)
        member_ids = select(host.id).where(*conditions)
        query = select(Institution).where(Institution.operating_on(day))
        if missing:  # integrated without a specialty, or a free-standing specialty hospital with no home
            query = query.where(
                Institution.id.not_in(member_ids),
                or_(
                    hosts_operating_unit(Institution, day),
                    and_(Institution.medical_type.in_(sorted(SPECIALTY_TYPES)), Institution.host_id.is_(None)),
                ),
            )
        else:
            query = query.where(Institution.id.in_(member_ids))
        region_column = Institution.region_code
    elif indicator in ("referral_coverage", "agreement_coverage", "large_home_medical"):
        numerator, denominator = _home_flag(indicator, Institution, day)
        query = select(Institution).where(Institution.kind == ELDERCARE, Institution.operating_on(day))
        if denominator is not None:
            query = query.where(denominator)
        query = query.where(not_(numerator) if missing else numerator)
        region_column = Institution.region_code
    else:
        raise KeyError(indicator)

    if region:
        query = query.where(region_column == region)
    entity = query.column_descriptions[0]["entity"]
    return query.order_by(entity.region_code, entity.name, entity.id)

"""Compliance with a target set (茂卫〔2020〕63号): the indicators of docs/indicators.md as of a day.

Every number is a function of the day asked about, computed in SQL from the
opening, closing and agreement dates. Each indicator is one object (`INDICATORS`)
holding its words, its clause and its one definition of who counts: the grouped
count is a GROUP BY over that population and the drill-down list is the same
population filtered, so a list always holds exactly the rows behind its number. `compute`
counts the indicators that read the same rows together: one pass over the unit pairs (一(一),
一(三)) and one over the operating homes (the shares), each indicator adding its columns.
The dashboard, the drill-down, the workbook, the CLI and the API all ask it.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.util import find_tables

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
from registry.services import name_search
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


COMPARATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


class UnknownComparator(ValueError):
    """A stored target whose comparator is none of COMPARATORS: it is never guessed."""


# --- who counts -----------------------------------------------------------------------------

# Aliases are built once: adapting a fresh alias's columns costs about a millisecond a statement,
# which was most of compute()'s time. Each plays one part, so none meets itself in a statement.
_UNIT, _HOST = aliased(Institution, name="unit"), aliased(Institution, name="host")
_SUBUNIT = aliased(Institution, name="subunit")


def hosts_operating_unit(institution, day: date, kind: str | None = None, types=None):
    """EXISTS an operating unit of the other kind (or of `kind`, of `types`) set up by `institution`."""
    unit = _SUBUNIT
    conditions = [unit.host_id == institution.id, unit.operating_on(day)]
    conditions.append(unit.kind == kind if kind else unit.kind != institution.kind)
    if types:
        conditions.append(unit.medical_type.in_(sorted(types)))
    return exists().where(*conditions)


def has_active_agreement(home, day: date, services: frozenset[str] = frozenset()):
    """`home` has an agreement active on `day` (Agreement.active_on) covering `services`.

    `home` operates on `day` wherever this is asked (the homes of a share), so the agreements are
    checked with `Agreement.active_for_operating_home`. The same rows either way, in the form each
    database counts fastest at national size (bench/README.md, 2026-12-07): PostgreSQL runs an
    `EXISTS` once per home (26,000 times), but hashes an `IN` over all the agreements once per
    statement; SQLite answers the `EXISTS` from an index, and its `IN` would look up every
    agreement in force, whoever's home it is.
    """
    conditions = [Agreement.active_for_operating_home(day)]
    for service in sorted(services):
        conditions.append(
            exists().where(AgreementService.agreement_id == Agreement.id, AgreementService.service == service)
        )
    if db.session.get_bind().dialect.name == "postgresql":
        return home.id.in_(select(Agreement.eldercare_id).where(*conditions))
    return exists().where(Agreement.eldercare_id == home.id, *conditions)


def _unit_pairs(day: date):
    """(unit, host, conditions): an operating unit set up by an operating institution of the other kind.

    `unit.host_id IS NOT NULL` lets both databases start from the few hosted units
    (a partial index holds only them) instead of from every institution.
    """
    unit, host = _UNIT, _HOST
    conditions = [
        unit.host_id.is_not(None),
        unit.host_id == host.id,
        unit.kind != host.kind,
        unit.operating_on(day),
        host.operating_on(day),
    ]
    return unit, host, conditions


@dataclass(frozen=True)
class Population:
    """The rows an indicator looks at on a day, each counted in the region `region` names.

    For a share, the rows are the denominator and `counted` picks the numerator among them.
    """

    query: Select
    region: Any
    counted: Any = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Indicator:
    """An indicator of docs/indicators.md: its words, its clause, who counts and how they are counted.

    The count is a GROUP BY over `population`, and the drill-down (`members`) is that same
    population filtered, so a list holds exactly the rows behind its number.
    """

    share: ClassVar[bool] = False  # numerator / denominator of homes, or a plain count

    key: str
    label: Any
    short: Any  # a sheet name: at most 31 characters
    clause: str
    help: Any  # who counts, as the drill-down explains it
    missing_help: Any = None  # what the shortfall list holds; None when there is none

    @cached_property
    def reads(self) -> frozenset[str]:
        """The tables its count reads (aliases by their base table): a change elsewhere leaves its figures."""
        population = self.population(date.min)
        clauses = [population.query] + ([population.counted] if population.counted is not None else [])
        found = [table for clause in clauses for table in find_tables(clause, include_aliases=True)]
        return frozenset(getattr(table, "element", table).name for table in found)

    @property
    def has_missing(self) -> bool:
        """Whether a shortfall list ("would count but do not") exists."""
        return self.missing_help is not None

    def population(self, day: date) -> Population:
        """Who this indicator looks at on `day`."""
        raise NotImplementedError

    def shortfall(self, day: date) -> Population:
        """A count's shortfall list: who could count and does not (a share's is its denominator's rest)."""
        raise NotImplementedError

    def measure(self, population: Population) -> Any:
        """What a region's value adds up: one per row unless the indicator says otherwise."""
        return func.count()

    def ordered(self, query: Select) -> Select:
        """A drill-down's order: by region, then name (in pinyin)."""
        entity = query.column_descriptions[0]["entity"]
        return name_search.by_name(query.order_by(entity.region_code), entity).order_by(entity.id)

    def members(self, day: date, region: str | None = None, missing: bool = False) -> Select:
        """The rows behind the number on `day` (`region` None: the city), or the shortfall list."""
        return _members(self, day, region, missing)

    def counts(self, day: date) -> dict[str, tuple[int, int | None]]:
        """(value, denominator or None) by region on `day`: one GROUP BY over the population."""
        population = self.population(day)
        columns = [population.region, self.measure(population)]
        if self.share:
            columns = [population.region, func.sum(case((population.counted, 1), else_=0)), func.count()]
        query = population.query.with_only_columns(*columns, maintain_column_froms=True).group_by(
            population.region)
        return {region: (int(value or 0), int(rest[0]) if rest else None)
                for region, value, *rest in db.session.execute(query)}

    def figures(self, day: date, regions: Sequence[RegionRow],
                counts: dict[str, tuple[int, int | None]] | None = None) -> dict[str, Figure]:
        """The Figure of every region and of the city (every region's sum) on `day` (from `counts` when given)."""
        counts = self.counts(day) if counts is None else counts
        figures = {}
        for scope in [r.code for r in regions] + [CITY]:
            if scope == CITY:
                value, denominator = sum(v for v, _ in counts.values()), sum(d or 0 for _, d in counts.values())
            else:
                value, denominator = counts.get(scope, (0, 0))
            figures[scope] = Figure.share(value, denominator or 0) if self.share else Figure(value)
        return figures

    def judged_on(self, target: TargetRow, day: date) -> date | None:
        """The day whose value a target is judged on, when asked on `day` (None: its period has not begun)."""
        return day


@lru_cache(maxsize=256)
def _members(indicator: Indicator, day: date, region: str | None, missing: bool) -> Select:
    """Indicator.members, kept once built: building costs milliseconds, running it for one record far less.

    A Select holds no data, and callers only derive new ones from it.
    """
    population = indicator.population(day)
    if not missing:
        query = population.query if population.counted is None else population.query.where(population.counted)
    elif indicator.share:
        query = population.query.where(not_(population.counted))
    else:
        population = indicator.shortfall(day)
        query = population.query
    if region:
        query = query.where(population.region == region)
    return indicator.ordered(query)


@dataclass(frozen=True, kw_only=True, eq=False)
class HostedUnits(Indicator):
    """Operating units of `unit_kind` set up by an operating institution of the other kind (一(一))."""

    unit_kind: str

    def population(self, day: date) -> Population:
        unit, host, conditions = _unit_pairs(day)
        return Population(select(unit).where(*conditions, unit.kind == self.unit_kind), host.region_code)

    def pair_measure(self, unit, host) -> Any:
        """This count as one column of the pass over the unit pairs (`pair_counts`)."""
        return func.sum(case((unit.kind == self.unit_kind, 1), else_=0))

    def shortfall(self, day: date) -> Population:
        """Operating institutions that could set up such a unit and have none operating."""
        host_kind = MEDICAL if self.unit_kind == ELDERCARE else ELDERCARE
        query = select(Institution).where(
            Institution.kind == host_kind,
            Institution.operating_on(day),
            not_(hosts_operating_unit(Institution, day, self.unit_kind)),
        )
        if self.unit_kind == ELDERCARE:
            query = query.where(Institution.medical_type.in_(sorted(HOME_HOSTING_TYPES)))
        return Population(query, Institution.region_code)


def _specialty(unit, host):
    """The pair makes the host a 一(三) integrated institution with a specialty."""
    return or_(host.medical_type.in_(sorted(SPECIALTY_TYPES)), unit.medical_type.in_(sorted(SPECIALTY_TYPES)))


@dataclass(frozen=True, kw_only=True, eq=False)
class SpecialtyIntegrated(Indicator):
    """Integrated institutions that are, or host an operating, specialty hospital (一(三))."""

    def _hosts(self, day: date) -> Select:
        unit, host, conditions = _unit_pairs(day)
        return select(host.id).where(*conditions, _specialty(unit, host))

    def population(self, day: date) -> Population:
        query = select(Institution).where(Institution.operating_on(day), Institution.id.in_(self._hosts(day)))
        return Population(query, Institution.region_code)

    def pair_measure(self, unit, host) -> Any:
        """The hosts of a specialty pair (operating, as the pairs' hosts are), each once, in their region."""
        return func.count(func.distinct(case((_specialty(unit, host), host.id))))

    def shortfall(self, day: date) -> Population:
        """Integrated without a specialty, or a free-standing specialty hospital with no home."""
        query = select(Institution).where(
            Institution.operating_on(day),
            Institution.id.not_in(self._hosts(day)),
            or_(
                hosts_operating_unit(Institution, day),
                and_(Institution.medical_type.in_(sorted(SPECIALTY_TYPES)), Institution.host_id.is_(None)),
            ),
        )
        return Population(query, Institution.region_code)


@dataclass(frozen=True, kw_only=True, eq=False)
class HomeShare(Indicator):
    """A share of operating homes (hosted ones included): those with an active agreement covering `services`."""

    share: ClassVar[bool] = True
    services: frozenset[str] = frozenset()

    @staticmethod
    def homes(day: date) -> Select:
        """Operating eldercare institutions: every share's denominator is these, or some of them."""
        return select(Institution).where(Institution.kind == ELDERCARE, Institution.operating_on(day))

    def among(self) -> Any:
        """Which operating homes form the denominator (None: all of them)."""
        return None

    def counted(self, day: date) -> Any:
        """Which of them count in the numerator."""
        return has_active_agreement(Institution, day, self.services)

    def population(self, day: date) -> Population:
        homes = self.homes(day) if self.among() is None else self.homes(day).where(self.among())
        return Population(homes, Institution.region_code, self.counted(day))


@dataclass(frozen=True, kw_only=True, eq=False)
class LargeHomeMedical(HomeShare):
    """Homes of ≥ 200 beds hosting an operating 护理院, 医务室, 门诊部, 护理站, 老年病医院 or 康复医院."""

    def among(self) -> Any:
        return Institution.beds_total >= LARGE_HOME_BEDS

    def counted(self, day: date) -> Any:
        return hosts_operating_unit(Institution, day, MEDICAL, LARGE_HOME_UNIT_TYPES)


Counts = dict[str, dict[str, tuple[int, int | None]]]  # indicator → region → (value, denominator)


def pair_counts(indicators: Sequence[HostedUnits | SpecialtyIntegrated], day: date) -> Counts:
    """The `counts(day)` of the indicators over unit pairs (一(一), 一(三)), from one pass over the pairs.

    Counted one by one, each read the hosted units and their hosts again.
    """
    if not indicators:
        return {}
    unit, host, conditions = _unit_pairs(day)
    query = (select(host.region_code, *(i.pair_measure(unit, host) for i in indicators))
             .where(*conditions).group_by(host.region_code))
    found: Counts = {i.key: {} for i in indicators}
    for region, *values in db.session.execute(query):
        for indicator, value in zip(indicators, values, strict=True):
            found[indicator.key][region] = (int(value or 0), None)
    return found


def home_share_counts(shares: Sequence[HomeShare], day: date) -> Counts:
    """Every share's `counts(day)` from one pass over the operating homes.

    Counted one by one, each share read all the homes again (three passes over 40,000 homes at
    national size); here each adds two sums to one GROUP BY over the same rows.
    """
    if not shares:
        return {}
    columns = [Institution.region_code]
    for share in shares:
        among, counted = share.among(), share.counted(day)
        if among is None:
            columns += [func.sum(case((counted, 1), else_=0)), func.count()]
        else:
            columns += [func.sum(case((and_(among, counted), 1), else_=0)), func.sum(case((among, 1), else_=0))]
    query = HomeShare.homes(day).with_only_columns(*columns, maintain_column_froms=True).group_by(
        Institution.region_code)
    found: Counts = {share.key: {} for share in shares}
    for region, *sums in db.session.execute(query):
        for index, share in enumerate(shares):
            found[share.key][region] = (int(sums[2 * index] or 0), int(sums[2 * index + 1] or 0))
    return found


@dataclass(frozen=True, kw_only=True, eq=False)
class TrainedInYear(Indicator):
    """People trained from 1 January of the day's year up to the day, from training records (十九)."""

    def population(self, day: date) -> Population:
        query = select(TrainingRecord).where(TrainingRecord.held_on >= date(day.year, 1, 1),
                                             TrainingRecord.held_on <= day)
        return Population(query, TrainingRecord.region_code)

    def measure(self, population: Population) -> Any:
        return func.sum(TrainingRecord.medical_nursing + TrainingRecord.caregivers)

    def ordered(self, query: Select) -> Select:
        return query.order_by(TrainingRecord.held_on.desc(), TrainingRecord.id)

    def judged_on(self, target: TargetRow, day: date) -> date | None:
        """"每年培训1000名": a year's target is judged on that year's count, up to `day` or its deadline."""
        until = min(day, target.deadline)
        return until if until.year == target.deadline.year else None


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in (
        HostedUnits(
            key="eldercare_run_medical", label=_l("养老机构设立的医疗机构"), short=_l("养老设医疗"),
            clause="一(一)", unit_kind=MEDICAL,
            help=_l("运营中、由运营中的养老机构设立的医疗机构，计入设立单位所在区县。"),
            missing_help=_l("运营中、尚未内设医疗机构的养老机构。"),
        ),
        HostedUnits(
            key="medical_run_eldercare", label=_l("医疗机构设立的养老机构"), short=_l("医疗设养老"),
            clause="一(一)", unit_kind=ELDERCARE,
            help=_l("运营中、由运营中的医疗机构设立的养老机构，计入设立单位所在区县。"),
            missing_help=_l("运营中、尚未设立养老机构的医院、卫生院和社区卫生服务中心。"),
        ),
        SpecialtyIntegrated(
            key="integrated_with_specialty", label=_l("以老年病、康复、护理、中医为特色的医养结合机构"),
            short=_l("特色医养结合"), clause="一(三)",
            help=_l("本身是或内设运营中的老年病医院、康复医院、护理院、中医医院的医养结合机构。"),
            missing_help=_l(
                "已是医养结合机构但不具备老年病、康复、护理、中医特色的机构，以及尚未设立养老机构的特色医院。"
            ),
        ),
        HomeShare(
            key="referral_coverage", label=_l("建立双向转诊和预约就诊绿色通道的养老机构占比"),
            short=_l("双向转诊"), clause="二(五)", services=REFERRAL_SERVICES,
            help=_l("运营中、有包含双向转诊和预约就诊绿色通道的有效签约协议的养老机构；分母为运营中的养老机构。"),
            missing_help=_l("运营中、没有包含双向转诊和预约就诊绿色通道的有效签约协议的养老机构。"),
        ),
        HomeShare(
            key="agreement_coverage", label=_l("养老机构签约率"), short=_l("签约率"), clause="一(二)",
            help=_l("运营中、至少有一份有效签约协议的养老机构；分母为运营中的养老机构。"),
            missing_help=_l("运营中、没有有效签约协议的养老机构。"),
        ),
        LargeHomeMedical(
            key="large_home_medical", label=_l("200床及以上养老机构内设医疗机构占比"),
            short=_l("大型养老内设医疗"), clause="一(一)",
            help=_l("200床及以上、内设运营中的护理院、医务室、门诊部、护理站、老年病医院或康复医院的养老机构；"
                    "分母为运营中的200床及以上养老机构。"),
            missing_help=_l(
                "200床及以上、未内设护理院、医务室、门诊部、护理站、老年病医院或康复医院的养老机构（仅有诊所不计入）。"
            ),
        ),
        TrainedInYear(
            key="trained_in_year", label=_l("当年培训医疗护理人员和养老护理员人数"), short=_l("培训人数"),
            clause="十九",
            help=_l("统计日期所在年度1月1日至该日的培训记录，医疗护理人员与养老护理员人数合计。"),
        ),
    )
}


def members(indicator: str, day: date, region: str | None = None, missing: bool = False) -> Select:
    """The institutions (training records for `trained_in_year`) behind a number, or the shortfall list."""
    return INDICATORS[indicator].members(day, region, missing)


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
# kept beyond the session that read them (services/infra/compliance_cache.py) and shared by requests.


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
    judged_on: date | None = None  # the day of `actual` (a year target: in its own year); None: not begun

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

    def targets_for(self, indicator: str, scope: str, every_period: bool = False) -> list[TargetResult]:
        """The targets judged on the figure of this day, as a cell shows them beside it.

        A year target of another year (培训 2021, 2022 on a day in 2026) is judged on its own
        year's count: it is left out unless `every_period`, so no figure sits beside another
        year's gap.
        """
        results = self._targets_by_cell.get((indicator, scope), ())
        return [r for r in results if every_period or r.judged_on == self.as_of]  # a copy: the report is shared

    @cached_property
    def _targets_by_cell(self) -> dict[tuple[str, str], tuple[TargetResult, ...]]:
        """The targets by (indicator, scope): the dashboard asks for each of its ~90 cells."""
        cells: dict[tuple[str, str], list[TargetResult]] = {}
        for result in self.targets:
            cells.setdefault((result.target.indicator, result.target.scope), []).append(result)
        return {cell: tuple(results) for cell, results in cells.items()}

    def as_json(self, regions: list[str] | None = None) -> dict[str, Any]:
        """The JSON of docs/indicators.md ("The compliance JSON"); `regions` limits what a district official sees."""
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


def compute(day: date, target_set_id: str = DEFAULT_TARGET_SET,
            known: Mapping[str, dict[str, Figure]] | None = None) -> Report:
    """Every indicator of docs/indicators.md on `day`, per region and for the city, with the targets.

    `known`: figures of indicators still standing (from an earlier report of the day), not counted again.
    """
    regions = tuple(RegionRow.of(r) for r in db.session.scalars(select(Region).order_by(Region.position)))
    known = known or {}
    counted = [indicator for key, indicator in INDICATORS.items() if key not in known]
    shared = pair_counts([i for i in counted if isinstance(i, HostedUnits | SpecialtyIntegrated)], day)
    shared |= home_share_counts([i for i in counted if isinstance(i, HomeShare)], day)
    figures = {key: known[key] if key in known else indicator.figures(day, regions, shared.get(key))
               for key, indicator in INDICATORS.items()}
    target_set = db.session.get(TargetSet, target_set_id)
    if target_set is None:
        return Report(day, None, regions, figures)
    targets = tuple(
        _evaluate(TargetRow.of(t), figures, day) for t in target_set.targets if t.indicator in figures
    )
    return Report(day, TargetSetRow.of(target_set), regions, figures, targets)


def _evaluate(target: TargetRow, figures: dict[str, dict[str, Figure]], day: date) -> TargetResult:
    """A target judged on the indicator's value on the day it is judged on."""
    compare = COMPARATORS.get(target.comparator)
    if compare is None:
        raise UnknownComparator(f"目标 {target.indicator} {target.scope} {target.deadline} 的比较方式"
                                f"“{target.comparator}”无效")
    indicator = INDICATORS[target.indicator]
    judged_on = indicator.judged_on(target, day)
    figure = figures[target.indicator].get(target.scope)
    if judged_on is None:
        actual = 0  # the target's period has not begun on `day`
    elif judged_on == day:
        actual = figure.value if figure else None
    else:
        counts = indicator.counts(judged_on)
        values = [v for v, _ in counts.values()] if target.scope == CITY else [counts.get(target.scope, (0,))[0]]
        actual = sum(values)
    met = actual is not None and compare(actual, float(target.value))
    return TargetResult(target, actual, met, overdue=day >= target.deadline and not met, judged_on=judged_on)

"""Period reports (上报 → 市级审核, docs/review-and-reporting.md): districts submit their figures, the city approves or returns them.

Submitting stores a snapshot (services/snapshots.py) that never changes; a resubmission
after a return is a new version. The city's figure for a period is the sum of its
approved snapshots. A later save that would change an approved snapshot is allowed
(the register stays true) but warned about first (`watching`), and the report then
shows 审核后有变动 with the changes behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from registry.display import region_names
from registry.extensions import db
from registry.models import AuditEvent, PeriodReport, Region, ReportAmendment, User
from registry.models.clock import utcnow
from registry.models.review import APPROVED, RETURNED, SUBMITTED
from registry.services import audit, compliance, snapshots
from registry.services.periods import Period

NOT_SUBMITTED = "not_submitted"
STATUSES = {NOT_SUBMITTED: _l("未上报"), SUBMITTED: _l("已上报"), RETURNED: _l("已退回"), APPROVED: _l("已审核")}


class ReportRefused(Exception):
    """A step the report's state does not allow; the message says why, in the user's language."""


# --- the versions ---------------------------------------------------------------------------------


def versions(period: Period, region: str) -> list[PeriodReport]:
    """Every version of a region's report for the period, newest first."""
    return list(db.session.scalars(
        select(PeriodReport).where(PeriodReport.period == period.key, PeriodReport.region_code == region)
        .order_by(PeriodReport.version.desc())))


def latest(period: Period, region: str) -> PeriodReport | None:
    """The region's newest version for the period, or None when it never submitted."""
    found = versions(period, region)
    return found[0] if found else None


def latest_versions(periods: Iterable[str] | None = None, regions: Iterable[str] | None = None) -> Any:
    """The newest version of each (period, region), as a query of reports."""
    newest = select(PeriodReport.period, PeriodReport.region_code,
                    func.max(PeriodReport.version).label("version")).group_by(PeriodReport.period,
                                                                               PeriodReport.region_code)
    if periods is not None:
        newest = newest.where(PeriodReport.period.in_(sorted(periods)))
    if regions is not None:
        newest = newest.where(PeriodReport.region_code.in_(sorted(regions)))
    newest = newest.subquery()
    return select(PeriodReport).join(newest, (PeriodReport.period == newest.c.period)
                                     & (PeriodReport.region_code == newest.c.region_code)
                                     & (PeriodReport.version == newest.c.version))


def status_of(report: PeriodReport | None) -> str:
    return report.status if report is not None else NOT_SUBMITTED


@dataclass
class RegionStatus:
    """Where a region's report for a period stands, as the city's view lists it."""

    region: Region
    report: PeriodReport | None
    first_submitted_at: datetime | None
    late: bool

    @property
    def status(self) -> str:
        return status_of(self.report)


def deadline(period: Period) -> date:
    """The last day a report of `period` is on time (setting REPORT_DEADLINE_DAYS after its end)."""
    return period.deadline(current_app.config["REPORT_DEADLINE_DAYS"])


def region_statuses(period: Period, today: date, regions: Iterable[str] | None = None) -> list[RegionStatus]:
    """Each region's status for the period, in the regions' order; late when first submitted after the deadline."""
    shown = list(db.session.scalars(select(Region).order_by(Region.position)))
    if regions is not None:
        shown = [r for r in shown if r.code in set(regions)]
    reports = {r.region_code: r for r in db.session.scalars(latest_versions([period.key]))}
    first = dict(db.session.execute(
        select(PeriodReport.region_code, func.min(PeriodReport.submitted_at))
        .where(PeriodReport.period == period.key).group_by(PeriodReport.region_code)).tuples().all())
    due = deadline(period)
    found = []
    for region in shown:
        submitted = first.get(region.code)
        late = (submitted.date() > due) if submitted else today > due
        found.append(RegionStatus(region, reports.get(region.code), submitted, late))
    return found


# --- the steps ------------------------------------------------------------------------------------


def submit(period: Period, region: str, user: User, today: date) -> PeriodReport:
    """Store a new version with the snapshot of the region's figures on the period's last day."""
    if period.last_day >= today:
        raise ReportRefused(_("%(period)s尚未结束，结束后才能上报", period=period.label))
    current = latest(period, region)
    if current is not None and current.status in (SUBMITTED, APPROVED):
        raise ReportRefused(_("%(period)s的报告已上报，不能重复上报", period=period.label)
                            if current.status == SUBMITTED else
                            _("%(period)s的报告已审核通过，不能再上报", period=period.label))
    report = PeriodReport(period=period.key, region_code=region, version=(current.version + 1) if current else 1,
                          as_of=period.last_day, snapshot=snapshots.take(region, period.last_day),
                          status=SUBMITTED, submitted_by_id=user.id)
    db.session.add(report)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ReportRefused(_("该报告刚被他人上报，请刷新后查看")) from None
    audit.record("report", report, after=_identity(report), summary=_summary(report), user=user)
    return report


def _decide(report: PeriodReport, user: User, status: str, reason: str = "") -> None:
    db.session.refresh(report, with_for_update=True)  # another reviewer may have decided meanwhile
    if report.status != SUBMITTED:
        raise ReportRefused(_("该报告已被处理（%(status)s），请刷新后查看", status=STATUSES[report.status]))
    before = {"status": report.status}
    report.status, report.decided_by_id, report.decided_at, report.reason = status, user.id, utcnow(), reason
    audit.record("approve" if status == APPROVED else "return", report, before=before,
                 after=_identity(report) | {"status": status, "reason": reason}, summary=_summary(report), user=user)


def approve(report: PeriodReport, user: User) -> None:
    """审核通过: the snapshot counts as reported."""
    _decide(report, user, APPROVED)


def return_(report: PeriodReport, user: User, reason: str) -> None:
    """退回 with a reason (required); the district may submit again, as a new version."""
    if not (reason or "").strip():
        raise ReportRefused(_("请填写退回原因"))
    _decide(report, user, RETURNED, reason.strip()[:2000])


def _identity(report: PeriodReport) -> dict[str, Any]:
    """Which report an event is about: what the audit log names it by, in its reader's language."""
    return {"period": report.period, "region_code": report.region_code, "version": report.version}


def _summary(report: PeriodReport) -> str:
    region = db.session.get(Region, report.region_code)
    return f"{Period.parse(report.period).label} {region.name if region else report.region_code} v{report.version}"


# --- what a report shows -------------------------------------------------------------------------


@dataclass
class Row:
    """One indicator of a snapshot as a report lists it: its figure, its members, its targets on the day."""

    number: int
    indicator: compliance.Indicator
    entry: dict[str, Any]
    targets: list[dict[str, Any]]
    day: str  # the snapshot's day, YYYY-MM-DD

    @property
    def target(self) -> dict[str, Any] | None:
        """The target the row is judged against: the next deadline on or after the day, else the last one."""
        if not self.targets:
            return None
        coming = [t for t in self.targets if t["deadline"] >= self.day]
        return min(coming, key=lambda t: t["deadline"]) if coming else max(self.targets, key=lambda t: t["deadline"])


def rows(snapshot: dict[str, Any]) -> list[Row]:
    """The snapshot's indicators in order, each with the region's targets judged on the snapshot's day."""
    found = []
    for number, (key, indicator) in enumerate(compliance.INDICATORS.items(), start=1):
        entry = snapshot["indicators"].get(key)
        if entry is None:
            continue
        targets = [t for t in snapshot.get("targets", [])
                   if t["indicator"] == key and t.get("judged_on") == snapshot["as_of"]]
        found.append(Row(number, indicator, entry, targets, snapshot["as_of"]))
    return found


def preview(period: Period, region: str) -> dict[str, Any]:
    """The snapshot a submission would store now (what the district sees before it submits)."""
    return snapshots.take(region, period.last_day)


# --- the city's view ------------------------------------------------------------------------------


@dataclass
class CityFigure:
    """An indicator for the whole city: the sum of the approved snapshots beside the live figure."""

    approved: compliance.Figure
    live: compliance.Figure


def approved_figures(statuses: list[RegionStatus]) -> dict[str, compliance.Figure]:
    """Each indicator's sum over the regions whose report is approved: the city's reported figure."""
    approved = [s.report.snapshot["indicators"] for s in statuses if s.status == APPROVED]
    found = {}
    for key, indicator in compliance.INDICATORS.items():
        entries = [figures[key] for figures in approved if key in figures]
        if indicator.share:
            found[key] = compliance.Figure.share(sum(e["numerator"] or 0 for e in entries),
                                                 sum(e["denominator"] or 0 for e in entries))
        else:
            found[key] = compliance.Figure(sum(e["value"] or 0 for e in entries))
    return found


def city_figures(statuses: list[RegionStatus], live: compliance.Report) -> dict[str, CityFigure]:
    """Each indicator's approved sum beside the register's figure now (on the period's last day)."""
    return {key: CityFigure(figure, live.figure(key, compliance.CITY))
            for key, figure in approved_figures(statuses).items()}


# --- changes after approval -----------------------------------------------------------------------


def drift(report: PeriodReport) -> list[snapshots.Difference]:
    """How the register now differs from an approved snapshot (审核后有变动); [] when it still holds."""
    if report.status != APPROVED:
        return []
    return snapshots.differences(report.snapshot, snapshots.take(report.region_code, report.as_of))


def amendments(report: PeriodReport) -> list[AuditEvent]:
    """The saves that changed the report's figures after it was approved, oldest first."""
    return list(db.session.scalars(
        select(AuditEvent).join(ReportAmendment, ReportAmendment.event_id == AuditEvent.id)
        .where(ReportAmendment.report_id == report.id).order_by(AuditEvent.id)))


class BackdatedChange(Exception):
    """A save would change approved reports; it is made only once the user confirms."""

    def __init__(self, reports: list[PeriodReport]):
        self.reports = reports
        super().__init__(warning(reports))


def warning(reports: list[PeriodReport]) -> str:
    """将改变已审核的 2022年第四季度 茂南区 数据, for each report."""
    names = region_names()
    return "；".join(_("将改变已审核的 %(period)s %(region)s 数据", period=Period.parse(r.period).label,
                       region=names.get(r.region_code, r.region_code)) for r in reports)


def approved_reports() -> list[PeriodReport]:
    """The approved reports that stand: each period and region's newest version, when it is approved.

    Their snapshots are not loaded (a save asks this; `drift` loads one when a page shows it).
    """
    query = latest_versions().where(PeriodReport.status == APPROVED).options(defer(PeriodReport.snapshot))
    return list(db.session.scalars(query))


@contextmanager
def watching(confirmed: bool) -> Iterator[None]:
    """Around a save: refuse it (BackdatedChange) when it changes an approved report, unless `confirmed`.

    A confirmed save is recorded against each report it changed (ReportAmendment), by its
    audit events. With no approved report this costs one query.
    """
    approved = approved_reports()
    if not approved:
        yield
        return
    days = {r.as_of for r in approved}
    before = {day: snapshots.fingerprint(day) for day in days}
    mark = audit.written_mark()
    yield
    db.session.flush()
    after = {day: snapshots.fingerprint(day) for day in days}
    affected = [r for r in approved if _regional(before[r.as_of], r.region_code) != _regional(after[r.as_of],
                                                                                             r.region_code)]
    if not affected:
        return
    if not confirmed:
        raise BackdatedChange(affected)
    events = audit.written_since(mark)
    for report in affected:
        db.session.add_all(ReportAmendment(report_id=report.id, event_id=e.id) for e in events)
    db.session.flush()


def _regional(fingerprint: dict[tuple[str, str], tuple], region: str) -> dict[str, tuple]:
    return {key: value for (key, where), value in fingerprint.items() if where == region}

"""Pages of period reports: the periods, the city's view of a period, a region's report and its steps."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from registry import permissions
from registry.display import XLSX, attachment, region_names
from registry.extensions import db
from registry.forms import EmptyForm
from registry.models import PeriodReport, Region, clock
from registry.models.review import APPROVED, RETURNED, SUBMITTED
from registry.reports import bp
from registry.reports.forms import DecisionForm, ReturnForm
from registry.services import periods, reports
from registry.services.formats import report_workbook
from registry.services.infra import compliance_cache


def _period(key: str) -> periods.Period:
    try:
        return periods.Period.parse(key)
    except periods.UnknownPeriod:
        abort(404)


def _name(region: Region) -> str:
    """The region's name in the interface's language."""
    return region_names().get(region.code, region.name)


def _region(code: str) -> Region:
    """A region whose reports the user may read (404 otherwise: a district reads only its own)."""
    region = db.session.get(Region, code)
    if region is None or not permissions.reads_region(current_user, code):
        abort(404)
    return region


@bp.route("")
@login_required
def index():
    """The periods that have ended, newest first, with where their reports stand."""
    today = clock.today()
    own = permissions.scope_regions(current_user)
    shown = periods.ended(today)
    return render_template(
        "reports/index.html", periods=shown, today=today, own=sorted(own) if own else None,
        statuses={p.key: reports.region_statuses(p, today, own) for p in shown},
    )


@bp.route("/<key>")
@login_required
def period_view(key: str):
    """The city's view of a period: each region's status and times, who is late, the approved sum beside the live figure."""
    period = _period(key)
    own = permissions.scope_regions(current_user)
    if own is not None:  # a district sees its own report
        return redirect(url_for(".region_view", key=period.key, region=sorted(own)[0]))
    today = clock.today()
    statuses = reports.region_statuses(period, today)
    live = compliance_cache.report(period.last_day) if period.last_day < today else None
    return render_template(
        "reports/period.html", period=period, statuses=statuses, today=today, deadline=reports.deadline(period),
        approved=sum(1 for s in statuses if s.status == APPROVED),
        city=reports.city_figures(statuses, live) if live else None,
    )


def _chosen(versions: list[PeriodReport], required: bool = False) -> PeriodReport | None:
    """The version asked for (`?v=N`) among `versions` (newest first), else the newest; 404 when the one asked
    for is not among them, or when one is `required` and there is none."""
    wanted = request.args.get("v", type=int)
    found = next((v for v in versions if wanted is None or v.version == wanted), None)
    if found is None and (wanted is not None or required):
        abort(404)
    return found


@bp.route("/<key>/<region>")
@login_required
def region_view(key: str, region: str):
    """A region's report for a period: its versions, the figures and lists it holds, its steps, 审核后有变动."""
    period, place = _period(key), _region(region)
    today = clock.today()
    versions = reports.versions(period, place.code)
    shown = _chosen(versions)
    newest = versions[0] if versions else None
    ended = period.last_day < today
    snapshot = shown.snapshot if shown else (reports.preview(period, place.code) if ended else None)
    is_newest = shown is not None and shown is newest
    return render_template(
        "reports/region.html", period=period, region=place, versions=versions, shown=shown, newest=newest,
        snapshot=snapshot, rows=reports.rows(snapshot) if snapshot else [], ended=ended,
        status=reports.status_of(newest), deadline=reports.deadline(period), today=today,
        late=reports.region_statuses(period, today, [place.code])[0].late,
        can_submit=ended and permissions.can_submit_report(current_user, place.code)
        and reports.status_of(newest) in (reports.NOT_SUBMITTED, RETURNED),
        can_decide=is_newest and newest.status == SUBMITTED and permissions.decides_reports(current_user),
        drift=reports.drift(shown) if is_newest else [],
        amendments=reports.amendments(shown) if shown is not None and shown.status == APPROVED else [],
        submit_form=EmptyForm(), decide_form=DecisionForm(version=newest.version if newest else ""),
        return_form=ReturnForm(version=newest.version if newest else ""),
    )


@bp.route("/<key>/<region>/submit", methods=["POST"])
@login_required
def submit(key: str, region: str):
    """上报: store the region's figures on the period's last day as a new version."""
    period, place = _period(key), _region(region)
    if not permissions.can_submit_report(current_user, place.code):
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        report = reports.submit(period, place.code, current_user, clock.today())
    except reports.ReportRefused as refusal:
        db.session.rollback()
        flash(str(refusal), "danger")
    else:
        db.session.commit()
        flash(_("已上报%(period)s %(region)s 的数据（第 %(version)s 版），等待市卫生健康局审核。",
                period=period.label, region=_name(place), version=report.version), "success")
    return redirect(url_for(".region_view", key=period.key, region=place.code))


def _decided(key: str, region: str, form: DecisionForm) -> tuple[periods.Period, Region, PeriodReport | None]:
    """The period, the region and the version a decision is about: the newest, when it is the one the page showed."""
    period, place = _period(key), _region(region)
    if not permissions.decides_reports(current_user):
        abort(403)
    newest = reports.latest(period, place.code)
    if newest is None or str(newest.version) != (form.version.data or ""):
        flash(_("该报告已有新的版本，请查看后再处理。"), "warning")
        return period, place, None
    return period, place, newest


@bp.route("/<key>/<region>/approve", methods=["POST"])
@login_required
def approve(key: str, region: str):
    """审核通过 the newest version."""
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    period, place, report = _decided(key, region, form)
    if report is None:
        return redirect(url_for(".region_view", key=period.key, region=place.code))
    return _step(period, place, lambda: reports.approve(report, current_user),
                 _("已审核通过%(period)s %(region)s 的上报数据。", period=period.label, region=_name(place)))


@bp.route("/<key>/<region>/return", methods=["POST"])
@login_required
def return_report(key: str, region: str):
    """退回 the newest version, with a reason."""
    form = ReturnForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash("；".join(str(e) for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for(".region_view", key=key, region=region))
    period, place, report = _decided(key, region, form)
    if report is None:
        return redirect(url_for(".region_view", key=period.key, region=place.code))
    return _step(period, place, lambda: reports.return_(report, current_user, form.reason.data),
                 _("已退回%(period)s %(region)s 的上报数据。", period=period.label, region=_name(place)))


def _step(period: periods.Period, place: Region, action, done: str):
    try:
        action()
    except reports.ReportRefused as refusal:
        db.session.rollback()
        flash(str(refusal), "danger")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for(".region_view", key=period.key, region=place.code))


def _approved_version(period: periods.Period, place: Region) -> PeriodReport:
    """The version to export or print: `?v=N` when approved, else the newest approved one; 404 when none."""
    return _chosen([v for v in reports.versions(period, place.code) if v.status == APPROVED], required=True)


@bp.route("/<key>/<region>/report.xlsx")
@login_required
def export(key: str, region: str):
    """An approved report as the workbook bureaus send upward (title, 填报单位, 序号, lists, signatures, A4)."""
    period, place = _period(key), _region(region)
    report = _approved_version(period, place)
    body = report_workbook.build(report, place, period)
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": attachment(
        _("医养结合指标上报-%(period)s-%(region)s.xlsx", period=period.key, region=_name(place)))})


@bp.route("/<key>/<region>/print")
@login_required
def print_view(key: str, region: str):
    """An approved report laid out for A4 paper."""
    period, place = _period(key), _region(region)
    report = _approved_version(period, place)
    return render_template("reports/print.html", period=period, region=place, report=report,
                           rows=reports.rows(report.snapshot))

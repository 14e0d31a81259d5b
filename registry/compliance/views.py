"""Pages of the compliance dashboard."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required

from registry import permissions
from registry.compliance import bp
from registry.display import region_names
from registry.listing import paginate
from registry.models import clock
from registry.services import compliance, todo
from registry.services.formats import compliance_workbook, todo_workbook
from registry.services.infra import compliance_cache
from registry.vocab import AGREEMENT, DEPARTMENT_NAMES, MEDICAL

FIRST_SERIES_YEAR = 2019  # the year before 63号's first targets (2021)
QUICK_DAYS = (date(2022, 12, 31), date(2025, 12, 31))


def _as_of() -> date:
    """The day asked about (`?as_of=YYYY-MM-DD`), today when absent or malformed."""
    raw = request.args.get("as_of", "")
    if not raw:
        return clock.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        flash(_("日期格式应为 YYYY-MM-DD，已改为今天"), "warning")
        return clock.today()


def series_days(day: date) -> list[date]:
    """The days the charts plot: each year's end up to the year before `day`'s, then `day` itself.

    The charts end at the year asked about and never count past the day: its year's point is the day's figure.
    """
    return [date(year, 12, 31) for year in range(min(FIRST_SERIES_YEAR, day.year), day.year)] + [day]


def _chart_data(report: compliance.Report, points: list[compliance.Report], shown: list[str]) -> dict:
    """The city's series for the charts (`points`: the reports of series_days) and this day's values by district
    for the map."""
    series = {key: [p.figure(key, compliance.CITY).value for p in points] for key in compliance.INDICATORS}
    return {
        "years": [p.as_of.year for p in points],
        "order": list(compliance.INDICATORS),
        "region_names": region_names(),
        "indicators": {
            key: {
                "label": str(indicator.label),
                "share": indicator.share,
                "series": series[key],
                "targets": [
                    {"deadline": t.target.deadline.isoformat(), "value": float(t.target.value)}
                    for t in report.targets_for(key, compliance.CITY, every_period=True)
                ],
                "regions": {code: report.figure(key, code).value for code in shown},
            }
            for key, indicator in compliance.INDICATORS.items()
        },
    }


@bp.route("")
@login_required
def dashboard():
    """Indicators by region against the targets, as of a chosen day."""
    day = _as_of()
    # The reports are the same for every reader; only what is shown depends on the reader.
    points = compliance_cache.reports(series_days(day))
    report = points[-1]
    visible = permissions.report_regions(current_user)
    shown = [r.code for r in report.regions if visible is None or r.code in visible]
    return render_template(
        "compliance/dashboard.html",
        report=report,
        day=day,
        today=clock.today(),
        quick_days=QUICK_DAYS,
        shown=shown,
        city_drill=visible is None,
        indicators=compliance.INDICATORS,
        chart_data=_chart_data(report, points, shown),
    )


@bp.route("/<indicator>/<scope>")
@login_required
def drill_down(indicator: str, scope: str):
    """The institutions behind a number, or those that would count but do not."""
    if indicator not in compliance.INDICATORS or (scope != compliance.CITY and scope not in region_names()):
        abort(404)
    permissions.require_drill_down(current_user, scope)
    day = _as_of()
    missing = request.args.get("missing") == "1" and compliance.INDICATORS[indicator].has_missing
    region = None if scope == compliance.CITY else scope
    page = paginate(compliance.members(indicator, day, region, missing))
    report = compliance_cache.report(day)
    return render_template(
        "compliance/drill_down.html",
        indicator=compliance.INDICATORS[indicator],
        scope=scope,
        day=day,
        missing=missing,
        page=page,
        figure=report.figure(indicator, scope),
        targets=report.targets_for(indicator, scope),
    )


def _todo_items() -> tuple[date, dict[str, str | None], list[todo.TodoItem]]:
    """Today, the 待办 filters asked for (region, department, kind; unknown ones ignored) and the items."""
    day = clock.today()
    region = request.args.get("region") or None
    if region is not None and not permissions.reads_region(current_user, region):
        abort(404)
    department = request.args.get("department") if request.args.get("department") in DEPARTMENT_NAMES else None
    kind = request.args.get("kind") if request.args.get("kind") in todo.KINDS else None
    filters = {"region": region, "department": department, "kind": kind}
    return day, filters, todo.items(current_user, day, current_app.config["NEARBY_KM"], **filters)


@bp.route("/todo")
@login_required
def todo_list():
    """待办: record-level warnings newest first, with the department that acts and what the user may do."""
    day, filters, found = _todo_items()
    institutions = [item.institution for item in found if item.institution]
    return render_template(
        "compliance/todo.html", items=found, filters=filters, day=day, kinds=todo.KINDS,
        editable=permissions.editable_institution_ids(current_user, institutions),
        editable_agreements=permissions.editable_agreement_ids(current_user,
                                                               [i.agreement.id for i in found if i.agreement]),
        registers={kind: permissions.can_create(current_user, kind) for kind in (MEDICAL, AGREEMENT)},
    )


@bp.route("/todo.xlsx")
@login_required
def todo_export():
    """The 待办 list as a workbook, with the page's filters."""
    day, _filters, found = _todo_items()
    return send_file(
        todo_workbook.build(found, day),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"待办事项-{day.isoformat()}.xlsx",
    )


@bp.route("/export.xlsx")
@login_required
def export():
    """The dashboard as a workbook: the indicators, then one sheet per drill-down list."""
    day = _as_of()
    stream = compliance_workbook.build(day, permissions.report_regions(current_user))
    return send_file(
        stream,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"医养结合指标-{day.isoformat()}.xlsx",
    )

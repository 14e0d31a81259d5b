"""API endpoints: institutions, agreements, the compliance report, change requests and period reports,
read-only, scoped like the pages.

The query string is checked strictly: a parameter that is given must hold a value
the OpenAPI document allows, else 400 with a Chinese message (never a silent default).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask import abort, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select
from sqlalchemy.orm import selectinload

from registry import permissions
from registry.api import bp
from registry.api.openapi import (
    AGREEMENT_SORTS,
    DOCUMENT,
    FLAGS,
    HOSTED,
    INSTITUTION_STATUSES,
    MAX_ID,
    MAX_PAGE,
    MAX_PER_PAGE,
)
from registry.errors import request_id
from registry.extensions import csrf, db
from registry.models import Agreement, ChangeRequest, Institution, clock
from registry.services import agreements as agreement_service
from registry.services import compliance, geo, reports, review
from registry.services import institutions as institution_service
from registry.services.formats import serialise
from registry.services.infra import compliance_cache
from registry.services.periods import Period, UnknownPeriod
from registry.vocab import AGREEMENT_STATUSES, KINDS, MEDICAL_TYPES, SERVICES

csrf.exempt(bp)


class InvalidQuery(Exception):
    """A query-string value the API refuses; the message is shown to the caller."""


@bp.errorhandler(InvalidQuery)
def invalid_query(error: InvalidQuery):
    """400 with the reason, in the shape of the app's other API errors."""
    return jsonify(error=str(error), request_id=request_id()), 400


def _text(name: str) -> str:
    """A query value, stripped ("" when absent); NUL is refused, as PostgreSQL cannot store it."""
    value = request.args.get(name, "")
    if "\x00" in value:
        raise InvalidQuery(_("参数 %(name)s 含有不允许的字符", name=name))
    return value.strip()


def _choice(name: str, allowed: Iterable[str], default: str = "") -> str:
    """One of `allowed` when the parameter is given (even empty), else `default`."""
    if name not in request.args:
        return default
    value, allowed = _text(name), list(allowed)
    if value not in allowed:
        raise InvalidQuery(_("参数 %(name)s 的值“%(value)s”无效，可选：%(choices)s",
                             name=name, value=value[:50], choices="、".join(allowed)))
    return value


def _positive(name: str, default: int, maximum: int | None = None) -> int:
    """A whole number ≥ 1 (and ≤ `maximum`) when the parameter is given, else `default`."""
    if name not in request.args:
        return default
    value = _text(name)
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise InvalidQuery(_("参数 %(name)s 应为正整数", name=name))
    if maximum is not None and number > maximum:
        raise InvalidQuery(_("参数 %(name)s 不能大于 %(maximum)s", name=name, maximum=maximum))
    return number


def _one_page(query: Select) -> Pagination:
    """The page asked for; per_page above the maximum is capped, not refused."""
    page = _positive("page", 1, MAX_PAGE)
    per_page = min(_positive("per_page", current_app.config["PAGE_SIZE"]), MAX_PER_PAGE)
    return db.paginate(query, page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False)


def _record_id(value: int) -> int:
    """404 for an id no INTEGER column can hold (SQLite would fail on it, not answer)."""
    if value > MAX_ID:
        abort(404)
    return value


@bp.route("/compliance")
@login_required
def compliance_report():
    """The indicators and targets of docs/indicators.md as of `as_of` (default today)."""
    raw = _text("as_of")
    try:
        day = date.fromisoformat(raw) if "as_of" in request.args else clock.today()
    except ValueError:
        raise InvalidQuery(_("as_of 应为 YYYY-MM-DD 格式的日期")) from None
    target_set = _text("target_set") or compliance.DEFAULT_TARGET_SET
    report = compliance_cache.report(day, target_set)
    return jsonify(report.as_json(permissions.report_regions(current_user)))


@bp.route("/institutions")
@login_required
def institutions():
    """Institutions the user may read, filtered, sorted and paged as on the list pages."""
    kind = _choice("kind", KINDS)
    filters = institution_service.ListFilters(
        q=_text("q"),
        region=_text("region"),
        medical_type=_choice("medical_type", MEDICAL_TYPES),
        status=_choice("status", INSTITUTION_STATUSES),
        hosted=_choice("hosted", HOSTED),
        sort=_choice("sort", institution_service.SORTS, "name"),
        descending=_choice("descending", FLAGS) in ("true", "1"),
    )
    query = permissions.institutions_for(current_user).options(selectinload(Institution.host))
    if kind:
        query = query.where(Institution.kind == kind)
    page = _one_page(institution_service.filtered(query, filters, clock.today()))
    return jsonify(serialise.page(page, [serialise.institution(i) for i in page.items]))


@bp.route("/institutions/<int:institution_id>")
@login_required
def institution(institution_id: int):
    """One institution with its host's code and its units' codes; out of scope is 404."""
    record = permissions.get_institution_or_404(current_user, _record_id(institution_id))
    return jsonify(serialise.institution_detail(record))


@bp.route("/agreements")
@login_required
def agreements():
    """Agreements the user may read (the home's or the medical party's region), with today's status."""
    filters = agreement_service.ListFilters(
        q=_text("q"),
        region=_text("region"),
        status=_choice("status", AGREEMENT_STATUSES),
        service=_choice("service", SERVICES),
        sort=_choice("sort", AGREEMENT_SORTS, agreement_service.NEWEST),
        descending=_choice("descending", FLAGS) in ("true", "1"),
    )
    today = clock.today()
    query = permissions.agreements_for(current_user).options(
        selectinload(Agreement.eldercare), selectinload(Agreement.medical),
        selectinload(Agreement.service_rows),
    )
    page = _one_page(agreement_service.filtered(query, filters, today))
    items = [serialise.agreement(a, agreement_service.status_on(a, today)) for a in page.items]
    return jsonify(serialise.page(page, items))


@bp.route("/agreements/<int:agreement_id>")
@login_required
def agreement(agreement_id: int):
    """One agreement with today's status and the distance between its parties; out of scope is 404."""
    record = permissions.get_agreement_or_404(current_user, _record_id(agreement_id))
    status = agreement_service.status_on(record, clock.today())
    return jsonify(serialise.agreement_detail(record, status, geo.distance_km(record.eldercare, record.medical)))


@bp.route("/change-requests")
@login_required
def change_requests():
    """Change requests (待审核变更) the user may read, newest first, by status, paged."""
    filters = review.ListFilters(status=_choice("status", review.STATUSES), descending=True)
    query = permissions.change_requests_for(current_user).options(
        selectinload(ChangeRequest.submitted_by), selectinload(ChangeRequest.decided_by))
    page = _one_page(review.filtered(query, filters))
    return jsonify(serialise.page(page, [serialise.change_request(r) for r in page.items]))


@bp.route("/reports")
@login_required
def period_reports():
    """A period's reports (上报, docs/review-and-reporting.md): each region's status and figures, the city's approved sum."""
    try:
        period = Period.parse(_text("period"))
    except UnknownPeriod as error:
        raise InvalidQuery(str(error)) from None
    statuses = reports.region_statuses(period, clock.today())
    return jsonify(serialise.period_reports(period, reports.deadline(period), statuses, reports.approved_figures(statuses),
                                            permissions.report_regions(current_user)))


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.0.3 document of this API; public, as it holds no records."""
    return jsonify(DOCUMENT)


@bp.route("/<path:unknown>")
def unknown_path(unknown: str):
    """Any other path under /api/v1 (an id that is not a number, say) answers 404 in JSON."""
    abort(404)

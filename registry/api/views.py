"""API endpoints."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from registry import permissions
from registry.api import bp
from registry.extensions import csrf
from registry.services import compliance

csrf.exempt(bp)


@bp.route("/compliance")
@login_required
def compliance_report():
    """The indicators and targets of DESIGN §8 as of `as_of` (default today)."""
    raw = request.args.get("as_of")
    try:
        day = date.fromisoformat(raw) if raw else date.today()
    except ValueError:
        return jsonify(error=_("as_of 应为 YYYY-MM-DD 格式的日期")), 400
    target_set = request.args.get("target_set", compliance.DEFAULT_TARGET_SET)
    report = compliance.compute(day, target_set)
    return jsonify(report.as_json(permissions.report_regions(current_user)))

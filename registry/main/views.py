"""The start page and the language switch."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from registry import replica
from registry.extensions import db
from registry.main import bp
from registry.models import clock
from registry.navigation import local_path
from registry.services import notifications as notifications_service
from registry.services import overview


@bp.route("/")
@login_required
def index():
    """Start page: the register at a glance, for the user's scope."""
    today = clock.today()
    return render_template("main/index.html", today=today,
                           counts=overview.counts_by_region(current_user, today))


@bp.route("/notifications")
@login_required
def notifications():
    """提醒: what is waiting for the user, each with the page where it is."""
    return render_template("main/notifications.html", notices=waiting_notices())


def waiting_notices() -> list[notifications_service.Notice]:
    """The logged-in user's notices, counted once per request (the header's bell and the page)."""
    if "notices" not in g:
        g.notices = notifications_service.notices(current_user, clock.today())
    return g.notices


@bp.route("/lang/<code>")
def switch_language(code: str):
    """Switch the interface between Chinese and English."""
    if code not in ("zh_Hans_CN", "en"):
        abort(404)
    session["lang"] = code
    return redirect(local_path(request.args.get("next")) or url_for("main.index"))


@bp.route("/healthz")
def healthz():
    """Health check for a load balancer: the app answers and reaches its database (503 otherwise).

    With a replica, also its state (ok, down, lagging, not_replica): a replica that is not ok is
    skipped, reads go to the primary, and the app stays healthy.
    """
    replica.use_primary()
    db.session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok", **replica.status(current_app)}


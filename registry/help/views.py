"""使用说明 pages: the logged-in user's role by default, any role's on request."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from registry.help import bp
from registry.vocab import ROLES


@bp.route("")
@login_required
def index():
    """The help of the current user's role."""
    return _guide(current_user.role)


@bp.route("/<role>")
@login_required
def role_guide(role: str):
    """The help of one role (`admin`, `civil_affairs`, `health`, `district_official`); 404 for any other."""
    if role not in ROLES:
        abort(404)
    return _guide(role)


def _guide(role: str):
    return render_template(f"help/{role}.html", role=role, roles=ROLES, own=role == current_user.role)

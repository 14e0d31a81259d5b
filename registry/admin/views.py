"""Administration pages: users and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from registry.admin import bp
from registry.admin.forms import UserForm
from registry.display import region_names
from registry.extensions import db
from registry.forms import EmptyForm, apply_errors
from registry.listing import paginate
from registry.models import AuditEvent, User
from registry.permissions import role_required
from registry.services import RecordInvalid
from registry.services import users as service
from registry.vocab import ADMIN, AUDIT_ACTIONS, choices


@bp.route("/users")
@role_required(ADMIN)
def users():
    """Every account, with its role, region and state."""
    rows = db.session.scalars(select(User).order_by(User.role, User.username))
    return render_template("admin/users.html", users=list(rows), form=EmptyForm())


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(ADMIN)
def create_user():
    """Create an account with a role and (optionally) a region."""
    form = UserForm()
    form.region_code.choices = choices(region_names(), blank=_("（市级，不限区县）"))
    if form.validate_on_submit():
        try:
            user = service.create(form.username.data, form.password.data, form.role.data,
                                  form.region_code.data or None, form.full_name.data or "")
        except RecordInvalid as error:
            db.session.rollback()
            apply_errors(form, error.errors)
        else:
            db.session.commit()
            flash(_("已创建账号 %(name)s", name=user.username), "success")
            return redirect(url_for(".users"))
    return render_template("admin/user_form.html", form=form)


@bp.route("/users/<int:user_id>/<any(deactivate, activate):action>", methods=["POST"])
@role_required(ADMIN)
def set_active(user_id: int, action: str):
    """Deactivate or re-activate an account (never one's own)."""
    user = db.get_or_404(User, user_id)
    if EmptyForm().validate_on_submit():
        if user.id == current_user.id:
            flash(_("不能停用自己的账号"), "danger")
        else:
            service.set_active(user, action == "activate")
            db.session.commit()
            if action == "activate":
                flash(_("已启用账号 %(name)s", name=user.username), "success")
            else:
                flash(_("已停用账号 %(name)s", name=user.username), "success")
    return redirect(url_for(".users"))


@bp.route("/audit")
@role_required(ADMIN)
def audit_log():
    """The audit log, newest first, filterable by action and record type."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    action = request.args.get("action", "")
    entity = request.args.get("entity", "")
    if action in AUDIT_ACTIONS:
        query = query.where(AuditEvent.action == action)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    return render_template("admin/audit.html", page=paginate(query), action=action, entity=entity)

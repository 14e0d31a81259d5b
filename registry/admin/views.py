"""Administration pages: users and the audit log."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from registry.admin import bp
from registry.admin.forms import PasswordResetForm, TargetForm, TokenForm, UserDetailsForm, UserForm
from registry.display import XLSX, attachment, region_names
from registry.extensions import db
from registry.forms import EmptyForm, submit
from registry.listing import MAX_PAGE, date_arg, int_arg, paginate
from registry.models import ApiToken, Target, TargetSet, User, clock
from registry.models.clock import utcnow
from registry.permissions import role_required
from registry.services import audit, compliance
from registry.services import targets as targets_service
from registry.services import users as service
from registry.services.formats import audit_workbook
from registry.services.infra import tokens as tokens_service
from registry.vocab import ADMIN, ROLES, choices


@bp.route("/users")
@role_required(ADMIN)
def users():
    """Every account, with its role, region and state."""
    rows = db.session.scalars(select(User).order_by(User.role, User.username))
    return render_template("admin/users.html", users=list(rows), form=EmptyForm())


def _region_choices(form: UserDetailsForm) -> None:
    form.region_code.choices = choices(region_names(), blank=_("（市级，不限区县）"))


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(ADMIN)
def create_user():
    """Create an account with a role and (optionally) a region."""
    form = UserForm()
    _region_choices(form)
    saved, user = submit(form, lambda: service.create(
        form.username.data, form.password.data, form.role.data, form.region_code.data or None,
        form.full_name.data or "", must_change_password=True))
    if saved:
        flash(_("已创建账号 %(name)s", name=user.username), "success")
        return redirect(url_for(".users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@role_required(ADMIN)
def edit_user(user_id: int):
    """Change an account's name, role and region (audited; a new role or region ends its sessions)."""
    user = db.get_or_404(User, user_id)
    form = UserDetailsForm(obj=user)
    _region_choices(form)
    saved, changed = submit(
        form, lambda: service.update(user, form.full_name.data or "", form.role.data, form.region_code.data,
                                     current_user),
        lambda: service.edit_problems(user, form.role.data, form.region_code.data, current_user))
    if saved:
        flash(_("已保存账号 %(name)s", name=user.username) if changed else _("没有修改任何内容"), "success")
        return redirect(url_for(".users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@role_required(ADMIN)
def reset_password(user_id: int):
    """Set a new password for someone, to be changed at their next login; their sessions end."""
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if submit(form, lambda: service.reset_password(user, form.password.data, current_user))[0]:
        flash(_("已重置 %(name)s 的密码，该用户下次登录时须修改密码", name=user.username), "success")
        return redirect(url_for(".users"))
    return render_template("admin/password_reset.html", form=form, user=user)


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


def _log_filters() -> audit.LogFilters:
    """The audit log's filters from the query string (the page and its export read the same)."""
    return audit.LogFilters(
        date_from=date_arg("date_from", _("开始日期")), date_to=date_arg("date_to", _("结束日期")),
        user_id=int_arg("user", _("操作人"), 1, MAX_PAGE), action=request.args.get("action", "").strip(),
        department=request.args.get("department", "").strip(), entity=request.args.get("entity", "").strip(),
        record_id=int_arg("record", _("记录编号"), 1, MAX_PAGE), q=request.args.get("q", "").strip())


@bp.route("/audit")
@role_required(ADMIN)
def audit_log():
    """The audit log, newest first: by date range, user, action, department and record; exported as filtered."""
    filters = _log_filters()
    users = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/audit.html", page=paginate(audit.log(filters)), filters=filters,
                           users={str(u.id): f"{u.username}（{u.full_name}）" if u.full_name else u.username
                                  for u in users})


@bp.route("/audit/export")
@role_required(ADMIN)
def export_audit_log():
    """The filtered audit log as an .xlsx workbook (up to audit_workbook.MAX_ROWS events)."""
    query = audit.log(_log_filters())
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    if total > audit_workbook.MAX_ROWS:
        flash(_("符合条件的记录有 %(n)s 条，超过一次导出的上限 %(limit)s 条，请缩小日期范围后再导出",
                n=total, limit=audit_workbook.MAX_ROWS), "warning")
        return redirect(url_for(".audit_log", **request.args))
    body = audit_workbook.build(db.session.scalars(query))
    filename = f"{_('操作日志')}-{clock.today():%Y%m%d}.xlsx"
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": attachment(filename)})


def _target_form(target_set: TargetSet, **kwargs) -> TargetForm:
    form = TargetForm(**kwargs)
    form.indicator.choices = choices({k: i.label for k, i in compliance.INDICATORS.items()},
                                     blank=_("请选择"))
    form.scope.choices = choices({compliance.CITY: _("全市")} | region_names())
    return form


def _target_values(form: TargetForm) -> dict:
    """Form values under the service's names; shares are typed in per cent."""
    values = {name: getattr(form, name).data for name in targets_service.FIELDS}
    indicator = compliance.INDICATORS.get(values["indicator"])
    if values["value"] is not None:
        values["value"] = float(values["value"]) / (100 if indicator and indicator.share else 1)
    return values


@bp.route("/targets")
@role_required(ADMIN)
def targets():
    """Target sets and their targets; each can be edited, allocations added."""
    sets = db.session.scalars(select(TargetSet).order_by(TargetSet.id)).all()
    return render_template("admin/targets.html", target_sets=sets, indicators=compliance.INDICATORS)


@bp.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
@role_required(ADMIN)
def edit_target(target_id: int):
    """Change a target's value, deadline or comparator (audited)."""
    target = db.get_or_404(Target, target_id)
    form = _target_form(target.target_set, obj=target, record=target)
    indicator = compliance.INDICATORS.get(target.indicator)
    if request.method == "GET" and indicator is not None and indicator.share:
        form.value.data = float(target.value) * 100
    if submit(form, lambda: targets_service.update(target, _target_values(form), form.version_number()))[0]:
        flash(_("已保存目标"), "success")
        return redirect(url_for(".targets"))
    return render_template("admin/target_form.html", form=form, target=target, target_set=target.target_set)


@bp.route("/target-sets/<set_id>/targets/new", methods=["GET", "POST"])
@role_required(ADMIN)
def add_target(set_id: str):
    """Add a target, such as a district's allocation of a city target."""
    target_set = db.get_or_404(TargetSet, set_id)
    form = _target_form(target_set)
    if request.method == "GET":
        form.indicator.data = request.args.get("indicator", "")
        form.deadline.data = None
    if submit(form, lambda: targets_service.add(target_set, _target_values(form)))[0]:
        flash(_("已添加目标"), "success")
        return redirect(url_for(".targets"))
    return render_template("admin/target_form.html", form=form, target=None, target_set=target_set)


@bp.route("/tokens", methods=["GET", "POST"])
@role_required(ADMIN)
def tokens():
    """API tokens: issue one for a user (shown once), revoke one."""
    form = TokenForm(days=current_app.config["API_TOKEN_DAYS"])
    users = db.session.scalars(select(User).where(User.active).order_by(User.username)).all()
    form.user_id.choices = [SelectChoice(u.id, f"{u.username}（{ROLES[u.role]}）") for u in users]
    issued = None
    saved, result = submit(form, lambda: tokens_service.issue(db.get_or_404(User, form.user_id.data),
                                                              form.name.data, form.days.data))
    if saved:
        issued, _token = result
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    return render_template("admin/tokens.html", form=form, tokens=rows, issued=issued, revoke_form=EmptyForm(),
                           now=utcnow())


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required(ADMIN)
def revoke_token(token_id: int):
    """Revoke a token; it stops working at once."""
    token = db.get_or_404(ApiToken, token_id)
    if EmptyForm().validate_on_submit() and token.revoked_at is None:
        tokens_service.revoke(token)
        db.session.commit()
        flash(_("已吊销令牌 %(name)s", name=token.name), "success")
    return redirect(url_for(".tokens"))

"""Pages for training records: list, record, edit, delete."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import extract

from registry import permissions
from registry.extensions import db
from registry.forms import EmptyForm, backdated_confirmed, region_choices, submit
from registry.listing import int_arg, paginate
from registry.models import TrainingRecord
from registry.services import changes
from registry.services.reports import BackdatedChange
from registry.training import bp
from registry.training.forms import TrainingForm


def _form(**kwargs) -> TrainingForm:
    form = TrainingForm(**kwargs)
    form.region_code.choices = region_choices(current_user)
    return form


@bp.route("")
@login_required
def index():
    """Training records the user may read, by region and year."""
    query = permissions.training_for(current_user)
    region = request.args.get("region", "")
    year = int_arg("year", _("年度"), 1, 9999)
    if region:
        query = query.where(TrainingRecord.region_code == region)
    if year:
        query = query.where(extract("year", TrainingRecord.held_on) == year)
    page = paginate(query.order_by(TrainingRecord.held_on.desc(), TrainingRecord.id.desc()))
    return render_template("training/list.html", page=page, region=region, year=year,
                           can_edit=current_user.role in permissions.TRAINING_EDITORS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Record a training session."""
    if current_user.role not in permissions.TRAINING_EDITORS:
        abort(403)
    form = _form()
    if submit(form, lambda: changes.create_training(form.values(), backdated_confirmed()))[0]:
        flash(_("已登记培训记录"), "success")
        return redirect(url_for(".index"))
    return render_template("training/form.html", form=form, record=None)


@bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def edit(record_id: int):
    """Edit a training record."""
    record = permissions.require_edit_training(current_user, record_id)
    form = _form(obj=record, record=record)
    if submit(form, lambda: changes.update_training(record, form.values(), form.version_number(),
                                                    backdated_confirmed()))[0]:
        flash(_("已保存修改"), "success")
        return redirect(url_for(".index"))
    return render_template("training/form.html", form=form, record=record, delete_form=EmptyForm(),
                           confirm_delete=request.args.get("confirm_delete") == "1")


@bp.route("/<int:record_id>/delete", methods=["POST"])
@login_required
def delete(record_id: int):
    """Delete a training record entered in error (asks for confirmation first)."""
    record = permissions.require_edit_training(current_user, record_id)
    if EmptyForm().validate_on_submit():
        try:
            changes.delete_training(record, backdated_confirmed())
        except BackdatedChange as change:  # asked again on the record's page, the reports named
            db.session.rollback()
            flash(_("删除将改变已审核的上报数据：%(reports)s", reports=change), "warning")
            return redirect(url_for(".edit", record_id=record_id, confirm_delete=1))
        db.session.commit()
        flash(_("已删除培训记录"), "success")
    return redirect(url_for(".index"))

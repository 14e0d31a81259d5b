"""Pages for agreements: list, record page, record, edit, terminate."""

from __future__ import annotations

import re

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from registry import permissions, vocab
from registry.agreements import bp
from registry.agreements.forms import AgreementForm, TerminateForm
from registry.forms import backdated_confirmed, flash_saved, submit
from registry.listing import filters_from_request, paginate
from registry.models import Agreement, clock
from registry.services import RecordInvalid, StaleEdit, audit, changes, geo, review, todo
from registry.services import agreements as service
from registry.services.infra import scans
from registry.services.reports import BackdatedChange

ALIASES = {"eldercare": "eldercare_code", "medical": "medical_code"}


def _form(**kwargs) -> AgreementForm:
    """The agreement form, its parties chosen among the institutions the user may read."""
    return AgreementForm(scope=permissions.institutions_for(current_user), **kwargs)


def _save(form: AgreementForm, agreement: Agreement | None = None) -> changes.Outcome:
    """Store the scan, then record the agreement (or save the edit); a refused save keeps no scan."""
    values = form.values()
    if form.scan.data:
        values["scan_name"] = scans.store(form.scan.data.stream)
    try:
        if agreement is None:
            return changes.create_agreement(current_user, values, form.services.data, backdated_confirmed())
        return changes.update_agreement(current_user, agreement, values, form.services.data, form.version_number(),
                                        backdated_confirmed())
    except (StaleEdit, RecordInvalid, BackdatedChange):
        scans.discard(values.get("scan_name"))
        raise


@bp.route("")
@login_required
def index():
    """Agreements the user may read, searchable and filterable."""
    filters = filters_from_request(service.ListFilters)
    today = clock.today()
    query = permissions.agreements_for(current_user).options(
        selectinload(Agreement.eldercare), selectinload(Agreement.medical))
    page = paginate(service.filtered(query, filters, today))
    return render_template(
        "agreements/list.html", page=page, filters=filters, today=today,
        status_on=service.status_on, can_create=permissions.can_create(current_user, "agreement"),
        editable=permissions.editable_agreement_ids(current_user, [a.id for a in page.items]),  # the 操作 column
        waiting=review.waiting_creations(current_user, vocab.AGREEMENT),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Record a signed agreement; `?eldercare=ID` starts from a home's page."""
    permissions.require_create(current_user, vocab.AGREEMENT)
    form = _form()
    home_id = request.args.get("eldercare", type=int)
    home = permissions.get_institution_or_404(current_user, home_id) if home_id else None
    if home is not None and request.method == "GET":
        form.eldercare_code.data = f"{home.code} {home.name}"
    if request.method == "GET" and request.args.get("medical"):
        form.medical_code.data = request.args["medical"]
    saved, outcome = submit(form, lambda: _save(form),
                            lambda: service.problems(form.values(), form.services.data), ALIASES)
    if saved and outcome.request is not None:
        flash(_("已提交%(bureau)s审核：%(name)s。审核通过后登记生效。", bureau=vocab.BUREAUS[outcome.request.department],
                name=outcome.request.summary), "success")
        return redirect(url_for("review.detail", request_id=outcome.request.id))
    if saved:
        flash(_("已登记签约协议 %(code)s", code=outcome.record.code), "success")
        return redirect(url_for(".detail", agreement_id=outcome.record.id))
    return render_template("agreements/form.html", form=form, agreement=None, home=home,
                           reviewed=review.required(current_user))


@bp.route("/<int:agreement_id>")
@login_required
def detail(agreement_id: int):
    """The agreement: both parties, status today, distance, change history."""
    agreement = permissions.get_agreement_or_404(current_user, agreement_id)
    today = clock.today()
    return render_template(
        "agreements/detail.html",
        agreement=agreement,
        status=service.status_on(agreement, today),
        can_terminate=service.can_terminate(agreement, today),
        distance=geo.distance_km(agreement.eldercare, agreement.medical),
        nearby_km=current_app.config["NEARBY_KM"],
        history=audit.history("agreements", agreement.id),
        pending=review.pending_for("agreements", agreement.id),
        can_edit=permissions.can_edit_agreement(current_user, agreement),
        can_read_home=permissions.can_read_institution(current_user, agreement.eldercare),
        can_read_medical=permissions.can_read_institution(current_user, agreement.medical),
        today=today,
        warnings=todo.agreement_warnings(agreement, today, current_app.config["NEARBY_KM"]),
    )


@bp.route("/<int:agreement_id>/scan")
@login_required
def scan(agreement_id: int):
    """The signed scan, for those who may read the agreement."""
    agreement = permissions.get_agreement_or_404(current_user, agreement_id)
    if not agreement.scan_name or not scans.path_of(agreement.scan_name).is_file():
        abort(404)
    # An imported code is kept as given: a line break in it would break the Content-Disposition header.
    name = re.sub(r'[\x00-\x1f\x7f/\\"]+', "_", agreement.code).strip(" ._") or "scan"
    return send_file(scans.path_of(agreement.scan_name), mimetype=scans.media_type(agreement.scan_name),
                     download_name=f"{name}{scans.path_of(agreement.scan_name).suffix}")


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
@login_required
def edit(agreement_id: int):
    """Edit an agreement; a save over someone else's newer save is refused."""
    agreement = permissions.require_edit_agreement(current_user, agreement_id)
    form = _form(obj=agreement, record=agreement)
    if request.method == "GET":
        form.eldercare_code.data = f"{agreement.eldercare.code} {agreement.eldercare.name}"
        form.medical_code.data = f"{agreement.medical.code} {agreement.medical.name}"
        form.services.data = agreement.services
    saved, outcome = submit(form, lambda: _save(form, agreement),
                            lambda: service.problems(form.values(), form.services.data, agreement), ALIASES)
    if saved:
        flash_saved(outcome)
        return redirect(url_for(".detail", agreement_id=agreement.id))
    return render_template("agreements/form.html", form=form, agreement=agreement,
                           home=agreement.eldercare, reviewed=review.required(current_user))


@bp.route("/<int:agreement_id>/terminate", methods=["GET", "POST"])
@login_required
def terminate(agreement_id: int):
    """已终止: end an agreement early (asks for confirmation and a date)."""
    agreement = permissions.require_edit_agreement(current_user, agreement_id)
    form = TerminateForm(record=agreement)
    if request.method == "GET":
        form.terminated_on.data = clock.today()
    saved, outcome = submit(form, lambda: changes.terminate_agreement(
        current_user, agreement, form.terminated_on.data, form.version_number(), backdated_confirmed()))
    if saved and outcome.request is not None:
        flash(_("终止申请已提交%(bureau)s审核，审核通过后生效。", bureau=vocab.BUREAUS[outcome.request.department]),
              "success")
    elif saved:
        flash(_("协议 %(code)s 已终止", code=agreement.code), "success")
    if saved:
        return redirect(url_for(".detail", agreement_id=agreement.id))
    return render_template("agreements/terminate.html", form=form, agreement=agreement)

"""Pages of change review: the queue, a request (approve, return, withdraw), the submitter's requests."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from registry import permissions
from registry.display import XLSX, attachment
from registry.extensions import db
from registry.forms import EmptyForm
from registry.listing import filters_from_request, paginate
from registry.models import ChangeRequest
from registry.models.review import PENDING
from registry.replica import primary_only
from registry.review import bp
from registry.review.forms import ApproveForm, ReturnForm
from registry.services import RecordInvalid, review
from registry.services.infra import jobs
from registry.services.reports import BackdatedChange
from registry.vocab import IMPORT


@bp.route("")
@login_required
def queue():
    """The requests of the user's department (and region, for a district's staff), pending first."""
    filters = filters_from_request(review.ListFilters)
    page = paginate(review.filtered(permissions.change_requests_for(current_user), filters))
    return render_template("review/list.html", page=page, filters=filters, mine=False,
                           reviews=permissions.reviews(current_user), deciding=_deciding(page.items))


@bp.route("/mine")
@login_required
def mine():
    """The user's own requests: pending, returned (with the reason), approved, withdrawn; newest first."""
    filters = filters_from_request(review.ListFilters)
    if "status" not in request.args:
        filters.status = ""
    if "sort" not in request.args:
        filters.sort, filters.descending = "submitted_at", True
    query = permissions.change_requests_for(current_user).where(ChangeRequest.submitted_by_id == current_user.id)
    page = paginate(review.filtered(query, filters))
    review.mark_seen(current_user, [r for r in page.items if r.status != PENDING])
    db.session.commit()
    return render_template("review/list.html", page=page, filters=filters, mine=True, reviews=False, deciding=set())


def _deciding(requests: list[ChangeRequest]) -> set[int]:
    """Which of these requests the user may approve or return now (their 操作 reads 审核)."""
    return {r.id for r in requests if r.is_pending and permissions.can_decide(current_user, r)}


@bp.route("/<int:request_id>")
@login_required
@primary_only  # its trial run compares the counts before and after, both as the primary has them
def detail(request_id: int):
    """A request: what it changes, what it would move, whether it is stale; its decision buttons; its history."""
    change = permissions.get_change_request_or_404(current_user, request_id)
    deciding = change.is_pending and permissions.can_decide(current_user, change)
    trial = review.preview(change) if change.is_pending and change.subject != IMPORT else None
    if change.submitted_by_id == current_user.id and not change.is_pending:
        review.mark_seen(current_user, [change])
    record = review.record_of(change)
    job = jobs.status(change.job_id) if change.job_id else None
    page = render_template(
        "review/detail.html", change=change, trial=trial, deciding=deciding, record=record,
        can_read_record=_can_read(record),
        differences=review.differences(change),
        conflicts=review.field_changes(review.conflicts(change)) if change.is_pending else [],
        since=review.field_changes(review.changed_since(change)) if change.is_pending else [],
        impact=review.impact_lines(trial.impact if trial else change.impact),
        job=job, approve_form=ApproveForm(), return_form=ReturnForm(), withdraw_form=EmptyForm(),
        history=review.events_of(change),
    )
    db.session.commit()  # the submitter's 'seen' mark
    return page


def _can_read(record) -> bool:
    if record is None:
        return False
    if hasattr(record, "kind"):
        return permissions.can_read_institution(current_user, record)
    return record.id in permissions.readable_ids(current_user, type(record), [record.id])


def _decidable(request_id: int) -> ChangeRequest:
    change = permissions.get_change_request_or_404(current_user, request_id)
    if not permissions.can_decide(current_user, change):
        abort(403)
    return change


@bp.route("/<int:request_id>/approve", methods=["POST"])
@login_required
def approve(request_id: int):
    """审核通过: the change is applied now (a file's import runs in the background and is marked when done)."""
    change = _decidable(request_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    confirmed = bool(form.confirm_backdated.data)
    try:
        if change.subject == IMPORT:
            review.start_import(change, current_user, confirmed)
            db.session.commit()
            return redirect(url_for(".detail", request_id=change.id))
        review.approve(change, current_user, confirmed)
    except BackdatedChange as warning:
        db.session.rollback()
        flash(_("%(warning)s。请勾选确认后再通过。", warning=warning), "warning")
        return redirect(url_for(".detail", request_id=request_id))
    except (review.RequestRefused, RecordInvalid) as refusal:
        db.session.rollback()
        message = "；".join(refusal.errors.values()) if isinstance(refusal, RecordInvalid) else str(refusal)
        flash(_("未能通过：%(reason)s", reason=message), "danger")
        return redirect(url_for(".detail", request_id=request_id))
    db.session.commit()
    flash(_("已审核通过：%(name)s", name=change.summary), "success")
    return redirect(url_for(".queue"))


@bp.route("/<int:request_id>/return", methods=["POST"])
@login_required
def return_request(request_id: int):
    """退回, with a reason (required): nothing is applied."""
    change = _decidable(request_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        flash("；".join(str(e) for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for(".detail", request_id=request_id))
    try:
        review.return_(change, current_user, form.reason.data)
    except (review.RequestRefused, RecordInvalid) as refusal:
        db.session.rollback()
        flash(str(refusal) if isinstance(refusal, review.RequestRefused) else "；".join(refusal.errors.values()),
              "danger")
        return redirect(url_for(".detail", request_id=request_id))
    db.session.commit()
    flash(_("已退回：%(name)s", name=change.summary), "success")
    return redirect(url_for(".queue"))


@bp.route("/<int:request_id>/withdraw", methods=["POST"])
@login_required
def withdraw(request_id: int):
    """撤回 by the submitter, while it is pending."""
    change = permissions.get_change_request_or_404(current_user, request_id)
    if change.submitted_by_id != current_user.id:
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        review.withdraw(change, current_user)
    except review.RequestRefused as refusal:
        db.session.rollback()
        flash(str(refusal), "danger")
        return redirect(url_for(".detail", request_id=request_id))
    db.session.commit()
    flash(_("已撤回：%(name)s", name=change.summary), "success")
    return redirect(url_for(".mine"))


@bp.route("/<int:request_id>/file")
@login_required
def upload_file(request_id: int):
    """The file of an import request, as it was uploaded, for its reviewer and its submitter."""
    change = permissions.get_change_request_or_404(current_user, request_id)
    if change.subject != IMPORT or change.upload is None or not change.upload.content:
        abort(404)
    name = change.upload.filename
    mimetype = XLSX if Path(name).suffix.lower() == ".xlsx" else "application/octet-stream"
    return Response(change.upload.content, mimetype=mimetype, headers={"Content-Disposition": attachment(name)})

"""Import with a validation report first, then a confirmation; exports; the template."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from registry import permissions
from registry.data import bp, mappings
from registry.data.forms import StepForm, UploadForm
from registry.display import XLSX, attachment
from registry.extensions import db
from registry.forms import backdated_confirmed
from registry.listing import filters_from_request
from registry.models import Institution, clock
from registry.services import agreements as agreement_service
from registry.services import institutions as institution_service
from registry.services import review
from registry.services.formats import bureau, exchange, exports
from registry.services.imports import profiles, uploaded
from registry.services.infra import jobs, uploads
from registry.vocab import BUREAUS, ELDERCARE, KINDS, MEDICAL


def _can_import() -> bool:
    return any(permissions.can_create(current_user, kind) for kind in (ELDERCARE, MEDICAL, "agreement"))


def _upload(token: str):
    """The current user's own upload, or 404 (another user's token is not found either)."""
    if not _can_import():
        abort(403)
    upload = uploads.find(current_user, token)
    if upload is None:
        abort(404)
    return upload


def _step(token: str):
    """The upload a step's POST (check again, confirm, cancel) acts on, its CSRF token checked."""
    upload = _upload(token)
    if not StepForm().validate_on_submit():
        abort(400)
    return upload


def _job(upload) -> jobs.JobStatus | None:
    """The upload's last check or import, when there is one (only its uploader ever gets it)."""
    job = jobs.status(upload.job_id) if upload.job_id else None
    if job is not None and job.owner_id != current_user.id:
        abort(404)
    return job


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_file():
    """Upload a spreadsheet: its columns are shown for confirmation, then every row is checked."""
    if not _can_import():
        abort(403)
    form = UploadForm()
    if form.validate_on_submit():
        file = form.file.data
        filename, content = Path(file.filename or "upload").name, file.read()
        try:
            reading = bureau.read_data(content, filename, form.kind.data or None, uploaded.regions(),
                                       layouts_only=True)
        except exchange.FileRefused as refused:
            flash(str(refused), "danger")
            return redirect(url_for(".import_file"))
        upload = uploads.keep(current_user, filename, content)
        upload.kind = form.kind.data or ""
        db.session.commit()
        if reading.layouts:  # a bureau's own sheet: its columns are confirmed first
            return redirect(url_for(".mapping", token=upload.token))
        uploaded.start(upload, current_user, uploaded.CHECK)
        return redirect(url_for(".upload_status", token=upload.token))
    return render_template("data/import.html", form=form, recent=uploads.recent(current_user))


@bp.route("/import/<token>/mapping", methods=["GET", "POST"])
@login_required
def mapping(token: str):
    """What each column of a bureau's sheet will be read as: change a field, ignore a column, save the mapping."""
    upload = _upload(token)
    if not upload.content:
        return redirect(url_for(".upload_status", token=token))
    form = StepForm()
    try:
        reading = uploaded.read(upload, layouts_only=True)
    except exchange.FileRefused as refused:
        flash(str(refused), "danger")
        return redirect(url_for(".import_file"))
    saved = profiles.matching(reading.layouts)
    sheets = [mappings.proposal(layout, saved.get(layout.key), upload) for layout in reading.layouts]
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if not mappings.take(sheets, request.form):
            uploaded.store_choices(upload, {sheet.layout.key: sheet.choice for sheet in sheets})
            for sheet in sheets:
                if sheet.profile_name:
                    profiles.save(sheet.profile_name, sheet.layout, sheet.choice, current_user)
            uploaded.start(upload, current_user, uploaded.CHECK)
            return redirect(url_for(".upload_status", token=token))
        flash(_("映射有误，请按提示修改后再检查。"), "danger")
    return render_template("data/mapping.html", upload=upload, sheets=sheets, form=form,
                           kinds=[("", _("请选择")), *KINDS.items()], shown=mappings.shown)


@bp.route("/import/<token>")
@login_required
def upload_status(token: str):
    """A check or an import: its progress while it runs, then its report or its result."""
    upload = _upload(token)
    job = _job(upload)
    result = job.result if job is not None and job.state == "done" else None
    if result and "imported" in result:
        counts = result["imported"]
        return render_template("data/imported.html", upload=upload, counts=counts)
    if result is not None and "refused" not in result:
        shown = result["errors"][:mappings.MAX_SHOWN_ERRORS]
        return render_template("data/report.html", upload=upload, job=job, result=result, errors=shown,
                               editable=mappings.editable(shown), form=StepForm(),
                               more_errors=max(0, result["error_count"] - len(shown)),
                               has_bureau_sheets=bool(upload.choices), reviewed=review.required(current_user),
                               change_request=review.request_for_upload(upload))
    return render_template("data/progress.html", upload=upload, job=job,
                           refused=result.get("refused") if result else None)


def _current_result(upload) -> dict | None:
    """The report the user answered (None, with a flash, when a newer one has replaced it)."""
    job = _job(upload)
    if job is None or job.state != "done" or request.form.get("job") != job.id:
        flash(_("检查报告已更新，请查看最新的报告后再操作。"), "warning")
        return None
    return job.result


@bp.route("/import/<token>/check", methods=["POST"])
@login_required
def check_again(token: str):
    """Keep the cells corrected and the duplicates settled on the report, and check the file again."""
    upload = _step(token)
    result = _current_result(upload)
    if result is not None:
        uploaded.store_corrections(upload, mappings.corrections_from(result, request.form))
        uploaded.store_decisions(upload, mappings.decisions_from(result, request.form))
        uploaded.start(upload, current_user, uploaded.CHECK)
    return redirect(url_for(".upload_status", token=token))


@bp.route("/import/<token>/confirm", methods=["POST"])
@login_required
def confirm_import(token: str):
    """Import a checked upload, all or nothing (checked again: the register may have changed)."""
    upload = _step(token)
    result = _current_result(upload)
    if result is None:
        return redirect(url_for(".upload_status", token=token))
    decided = mappings.decisions_from(result, request.form)
    refusal = uploaded.why_not_import(result, decided, backdated_confirmed(), review.request_for_upload(upload))
    if refusal:
        flash(refusal, "danger")
        return redirect(url_for(".upload_status", token=token))
    uploaded.store_decisions(upload, decided)
    if review.required(current_user):  # a district's file waits for the city bureau, as one request
        change = review.submit_import(current_user, upload, result)
        db.session.commit()
        flash(_("已提交%(bureau)s审核：%(name)s。审核通过后写入。", bureau=BUREAUS[change.department],
                name=upload.filename), "success")
        return redirect(url_for("review.detail", request_id=change.id))
    uploaded.start(upload, current_user, uploaded.IMPORT, {"confirmed": backdated_confirmed()})
    return redirect(url_for(".upload_status", token=token))


@bp.route("/import/<token>/errors.xlsx")
@login_required
def error_rows(token: str):
    """The rows that cannot be imported, as the file holds them, with a 错误说明 column."""
    upload = _upload(token)
    job = _job(upload)
    if job is None or job.state != "done" or not job.result or "errors" not in job.result or not upload.content:
        abort(404)
    body = uploaded.error_workbook(upload, job.result)
    name = f"{Path(upload.filename).stem}-错误清单.xlsx"
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": attachment(name)})


@bp.route("/import/<token>/cancel", methods=["POST"])
@login_required
def cancel_import(token: str):
    """Drop an upload that has not been imported; nothing of it was written."""
    upload = _step(token)
    change = review.request_for_upload(upload)
    if change is not None and change.is_pending:
        flash(_("此文件正在等待审核，请先撤回申请再取消。"), "warning")
        return redirect(url_for(".upload_status", token=token))
    db.session.delete(upload)
    db.session.commit()
    flash(_("已取消导入“%(name)s”，没有写入任何数据。", name=upload.filename), "info")
    return redirect(url_for(".import_file"))


@bp.route("/template.xlsx")
@login_required
def template():
    """The empty import template with the Chinese headers and the allowed values."""
    return Response(exports.template(), mimetype=XLSX,
                    headers={"Content-Disposition": attachment("医养结合登记导入模板.xlsx")})


def _institutions_query():
    query = permissions.institutions_for(current_user)
    if request.args.get("kind") in (ELDERCARE, MEDICAL):
        query = query.where(Institution.kind == request.args["kind"])
    filters = filters_from_request(institution_service.ListFilters)
    return institution_service.filtered(query, filters, clock.today()).order_by(None)


def _agreements_query():
    filters = filters_from_request(agreement_service.ListFilters)
    return agreement_service.filtered(permissions.agreements_for(current_user), filters, clock.today()).order_by(None)


@bp.route("/export/<any(institutions, agreements, registry):table>.<any(csv, xlsx):fmt>")
@login_required
def export(table: str, fmt: str):
    """A list (with the page's filters) or the whole register in the exchange format, in the user's scope."""
    stamp = clock.today().isoformat()
    if table == "registry":
        if fmt != "xlsx":
            abort(404)
        body = exports.write_xlsx([
            (exchange.INSTITUTIONS, exports.institution_rows(permissions.institutions_for(current_user))),
            (exchange.AGREEMENTS, exports.agreement_rows(permissions.agreements_for(current_user))),
        ])
        return Response(body, mimetype=XLSX, headers={"Content-Disposition": attachment(f"医养结合登记-{stamp}.xlsx")})
    if table == "institutions":
        spec, rows, title = exchange.INSTITUTIONS, exports.institution_rows(_institutions_query()), "机构"
    else:
        spec, rows, title = exchange.AGREEMENTS, exports.agreement_rows(_agreements_query()), "签约协议"
    if fmt == "csv":
        return Response(exports.write_csv(spec, rows), mimetype="text/csv",
                        headers={"Content-Disposition": attachment(f"{title}-{stamp}.csv")})
    return Response(exports.write_xlsx([(spec, rows)]), mimetype=XLSX,
                    headers={"Content-Disposition": attachment(f"{title}-{stamp}.xlsx")})

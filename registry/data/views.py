"""Import with a validation report first, then a confirmation; exports; the template."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from registry import permissions
from registry.data import bp
from registry.data.forms import ConfirmForm, UploadForm
from registry.display import region_names
from registry.extensions import db
from registry.listing import filters_from_request
from registry.models import Institution, clock
from registry.services import agreements as agreement_service
from registry.services import imports
from registry.services import institutions as institution_service
from registry.services.formats import bureau, exchange, exports
from registry.services.infra import uploads
from registry.vocab import ELDERCARE, MEDICAL

MAX_SHOWN_ERRORS = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _can_import() -> bool:
    return any(permissions.can_create(current_user, kind) for kind in (ELDERCARE, MEDICAL, "agreement"))


def _plan(filename: str, content: bytes, kind: str | None) -> imports.Plan:
    """Read a file as the exchange format or a bureau's own register, and check it as the current user."""
    reading = bureau.read_data(content, filename, kind or None, region_names())
    return imports.plan_reading(reading, current_user)


def _report(filename: str, content: bytes, kind: str | None, upload=None):
    """Validate a file as the current user and show what an import would do."""
    try:
        plan = _plan(filename, content, kind)
    except exchange.FileRefused as refused:
        flash(str(refused), "danger")
        return redirect(url_for(".import_file"))
    db.session.rollback()  # planning writes nothing; drop what the reads loaded
    if plan.ok and upload is None:
        upload = uploads.keep(current_user, filename, content)
        db.session.commit()
    return render_template(
        "data/report.html", plan=plan, filename=filename, counts=plan.counts(),
        errors=plan.errors[:MAX_SHOWN_ERRORS], more_errors=max(0, len(plan.errors) - MAX_SHOWN_ERRORS),
        upload=upload if plan.ok else None, form=ConfirmForm(kind=kind or ""),
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_file():
    """Upload a spreadsheet: every row is checked before anything is written."""
    if not _can_import():
        abort(403)
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        return _report(Path(upload.filename or "upload").name, upload.read(), form.kind.data)
    return render_template("data/import.html", form=form)


@bp.route("/import/<token>/confirm", methods=["POST"])
@login_required
def confirm_import(token: str):
    """Import a validated upload, all or nothing (checked again: the register may have changed)."""
    if not _can_import():
        abort(403)
    upload = uploads.find(current_user, token)
    if upload is None:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    plan = _plan(upload.filename, upload.content, form.kind.data)
    if not plan.ok:
        db.session.rollback()
        return _report(upload.filename, upload.content, form.kind.data, upload)
    counts = imports.apply(plan, current_user, upload.filename)
    db.session.delete(upload)
    db.session.commit()
    imports.refresh_statistics(counts)
    flash(_("导入完成：机构新增 %(ic)s、更新 %(iu)s、未变 %(in_)s；签约协议新增 %(ac)s、更新 %(au)s、未变 %(an)s",
            ic=counts["institutions"]["create"], iu=counts["institutions"]["update"],
            in_=counts["institutions"]["unchanged"], ac=counts["agreements"]["create"],
            au=counts["agreements"]["update"], an=counts["agreements"]["unchanged"]), "success")
    return redirect(url_for(".import_file"))


@bp.route("/template.xlsx")
@login_required
def template():
    """The empty import template with the Chinese headers and the allowed values."""
    return Response(exports.template(), mimetype=XLSX,
                    headers={"Content-Disposition": _attachment("医养结合登记导入模板.xlsx")})


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=registry-export; filename*=UTF-8''{quote(filename)}"


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
        return Response(body, mimetype=XLSX, headers={"Content-Disposition": _attachment(f"医养结合登记-{stamp}.xlsx")})
    if table == "institutions":
        spec, rows, title = exchange.INSTITUTIONS, exports.institution_rows(_institutions_query()), "机构"
    else:
        spec, rows, title = exchange.AGREEMENTS, exports.agreement_rows(_agreements_query()), "签约协议"
    if fmt == "csv":
        return Response(exports.write_csv(spec, rows), mimetype="text/csv",
                        headers={"Content-Disposition": _attachment(f"{title}-{stamp}.csv")})
    return Response(exports.write_xlsx([(spec, rows)]), mimetype=XLSX,
                    headers={"Content-Disposition": _attachment(f"{title}-{stamp}.xlsx")})

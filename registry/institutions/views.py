"""Pages for institutions: lists, the record page, register, edit, close, delete."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from registry import permissions, vocab
from registry.extensions import db
from registry.forms import backdated_confirmed, flash_saved, region_choices, submit
from registry.institutions import bp
from registry.institutions.forms import CloseForm, ConfirmDeleteForm, EldercareForm, MedicalForm
from registry.listing import filters_from_request, paginate
from registry.models import Agreement, Institution, Region, clock
from registry.services import agreements as agreement_service
from registry.services import audit, changes, geo, name_search, review, todo
from registry.services import institutions as service
from registry.services.infra import geocoding
from registry.vocab import ELDERCARE, MEDICAL

FORMS = {ELDERCARE: EldercareForm, MEDICAL: MedicalForm}
HOST_FIELD = {"host": "host_code"}  # the service's field → the form's


def _form(kind: str, **kwargs):
    """The kind's form: regions the user may register in, a host among what they may read."""
    form = FORMS[kind](scope=permissions.institutions_for(current_user), **kwargs)
    form.region_code.choices = region_choices(current_user)
    return form


@bp.route("/homes")
@login_required
def homes():
    """养老机构 list."""
    return _list(ELDERCARE)


@bp.route("/medical")
@login_required
def medical():
    """医疗卫生机构 list."""
    return _list(MEDICAL)


def _list(kind: str):
    filters = filters_from_request(service.ListFilters)
    query = (permissions.institutions_for(current_user).where(Institution.kind == kind)
             .options(selectinload(Institution.host)))  # the host column, without a query per row
    page = paginate(service.filtered(query, filters, clock.today()))
    return render_template(
        "institutions/list.html",
        kind=kind,
        page=page,
        editable=permissions.editable_institution_ids(current_user, page.items),  # the 操作 column, one query
        filters=filters,
        today=clock.today(),
        can_create=permissions.can_create(current_user, kind),
        export_args=request.args.to_dict() | {"kind": kind},
        waiting=review.waiting_creations(current_user, kind),
    )


@bp.route("/institutions/search.json")
@login_required
def search():
    """Names and codes for the party and host pickers (scoped, at most 20)."""
    term = (request.args.get("q") or "").strip()
    query = permissions.institutions_for(current_user)
    if request.args.get("kind") in (ELDERCARE, MEDICAL):
        query = query.where(Institution.kind == request.args["kind"])
    if term:
        query = query.where(name_search.matching(term))
    rows = db.session.scalars(name_search.by_name(query).order_by(Institution.id).limit(20))
    return jsonify([
        {"code": i.code, "name": i.name, "region": i.region_code, "kind": i.kind,
         "closed": i.closed_on is not None}
        for i in rows
    ])


@bp.route("/institutions/geocode", methods=["POST"])
@login_required
def geocode():
    """从地址获取坐标 for the form's button (JSON); commits only the cache row."""
    if not (permissions.can_create(current_user, ELDERCARE) or permissions.can_create(current_user, MEDICAL)):
        abort(403)
    address = (request.form.get("address") or "")[:300]
    region = db.session.get(Region, request.form.get("region_code") or "")
    region_name = region.name if region else None
    db.session.commit()  # no transaction stays open through the network call
    result = geocoding.geocode(address, region_name)
    db.session.commit()
    return jsonify(status=result.status, lat=result.lat, lon=result.lon, source=result.source,
                   message=result.message)


@bp.route("/institutions/new", methods=["GET", "POST"])
@login_required
def create():
    """Register a home or a medical institution; `?host=ID` files an in-house unit."""
    kind = request.args.get("kind", ELDERCARE)
    if kind not in FORMS:
        abort(404)
    permissions.require_create(current_user, kind)
    host_id = request.args.get("host", type=int)
    host = permissions.get_institution_or_404(current_user, host_id) if host_id else None
    if host is not None and host.closed_on is not None:
        flash(_("%(name)s 已于 %(day)s 停业，不能再设立运营中的内设机构", name=host.name,
                day=host.closed_on.isoformat()), "danger")
        return redirect(url_for(".detail", institution_id=host.id))
    form = _form(kind)
    if request.method == "GET" and host is not None:
        form.host_code.data = host.code
        form.region_code.data = host.region_code
        form.address.data = host.address
        form.lat.data, form.lon.data = host.lat, host.lon
    saved, outcome = submit(form, lambda: changes.create_institution(current_user, kind, form.values(),
                                                                     backdated_confirmed()),
                            lambda: service.problems(kind, form.values()), HOST_FIELD)
    if saved and outcome.request is not None:
        flash(_("已提交%(bureau)s审核：%(name)s。审核通过后登记生效。", bureau=vocab.BUREAUS[outcome.request.department],
                name=outcome.request.summary), "success")
        return redirect(url_for("review.detail", request_id=outcome.request.id))
    if saved:
        flash(_("已登记：%(name)s", name=outcome.record.name), "success")
        return redirect(url_for(".detail", institution_id=outcome.record.id))
    return render_template("institutions/form.html", form=form, kind=kind, institution=None,
                           host=host, reviewed=review.required(current_user))


@bp.route("/institutions/<int:institution_id>")
@login_required
def detail(institution_id: int):
    """The record page: fields, host, in-house units, agreements, change history."""
    institution = permissions.get_institution_or_404(current_user, institution_id)
    today = clock.today()
    party = Agreement.eldercare_id if institution.is_eldercare else Agreement.medical_id
    agreements = list(db.session.scalars(
        permissions.agreements_for(current_user).where(party == institution.id)
        .options(joinedload(Agreement.eldercare), joinedload(Agreement.medical))  # not one query per row
        .order_by(Agreement.valid_to.desc())
    ))
    return render_template(
        "institutions/detail.html",
        institution=institution,
        units=list(db.session.scalars(name_search.by_name(permissions.institutions_for(current_user)
                                                          .where(Institution.host_id == institution.id)))),
        can_read_host=permissions.can_read_institution(current_user, institution.host),
        agreements=[(a, agreement_service.status_on(a, today)) for a in agreements],
        history=audit.history("institutions", institution.id),
        pending=review.pending_for("institutions", institution.id),
        can_edit=permissions.can_edit_institution(current_user, institution),
        can_add_unit=permissions.can_create(current_user,
                                            MEDICAL if institution.is_eldercare else ELDERCARE),
        can_add_agreement=institution.is_eldercare and permissions.can_create(current_user, "agreement"),
        can_delete=current_user.is_admin,
        today=today,
        distance_km=geo.distance_km,
        warnings=todo.record_warnings(institution, today),
        nearby=(geo.nearest_medical(institution.lat, institution.lon, today, 5,
                                    scope=permissions.institutions_for(current_user), home_id=institution.id)
                if institution.is_eldercare and institution.lat is not None else []),
        nearby_km=current_app.config["NEARBY_KM"],
    )


@bp.route("/institutions/<int:institution_id>/edit", methods=["GET", "POST"])
@login_required
def edit(institution_id: int):
    """Edit a record; a save over someone else's newer save is refused."""
    institution = permissions.require_edit_institution(current_user, institution_id)
    form = _form(institution.kind, obj=institution, record=institution)
    if request.method == "GET":
        form.host_code.data = institution.host.code if institution.host else ""
    saved, outcome = submit(form, lambda: changes.update_institution(
        current_user, institution, form.values(), form.version_number(), backdated_confirmed()),
        lambda: service.problems(institution.kind, form.values(), institution), HOST_FIELD)
    if saved:
        flash_saved(outcome)
        return redirect(url_for(".detail", institution_id=institution.id))
    return render_template("institutions/form.html", form=form, kind=institution.kind,
                           institution=institution, host=institution.host, reviewed=review.required(current_user))


@bp.route("/institutions/<int:institution_id>/close", methods=["GET", "POST"])
@login_required
def close(institution_id: int):
    """停业 with a date; offers to close the in-house units too. Never deletes."""
    institution = permissions.require_edit_institution(current_user, institution_id)
    form = CloseForm(record=institution)

    operating_units = [u for u in institution.units if u.closed_on is None]
    editable = permissions.editable_institution_ids(current_user, operating_units)  # one query for all units

    def may_edit(unit: Institution) -> bool:
        return unit.id in editable

    if request.method == "GET":
        form.closed_on.data = clock.today()
        form.close_units.data = any(may_edit(u) for u in operating_units)
    saved, outcome = submit(form, lambda: changes.close_institution(
        current_user, institution, form.closed_on.data, form.close_units.data, form.version_number(), may_edit,
        backdated_confirmed()))
    if saved and outcome.request is not None:
        flash(_("停业申请已提交%(bureau)s审核，审核通过后生效。", bureau=vocab.BUREAUS[outcome.request.department]),
              "success")
        return redirect(url_for(".detail", institution_id=institution.id))
    if saved:
        closed, left = outcome.result
        flash(_("已办理停业：%(names)s", names="、".join(i.name for i in closed)), "success")
        for unit in left:
            flash(_("%(name)s 须由%(department)s办理停业，已列入其待办", name=unit.name,
                    department=vocab.DEPARTMENTS[unit.kind]), "warning")
        return redirect(url_for(".detail", institution_id=institution.id))
    return render_template("institutions/close.html", form=form, institution=institution,
                           units=[u for u in operating_units if may_edit(u)],
                           others=[u for u in operating_units if not may_edit(u)])


@bp.route("/institutions/<int:institution_id>/delete", methods=["GET", "POST"])
@login_required
def delete(institution_id: int):
    """Delete a record entered in error (administrators; only with nothing referring to it)."""
    institution = permissions.get_institution_or_404(current_user, institution_id)
    if not current_user.is_admin:
        abort(403)
    form = ConfirmDeleteForm()
    references = service.references(institution)
    kind, name = institution.kind, institution.name
    if submit(form, lambda: service.delete(institution))[0]:
        flash(_("已删除：%(name)s", name=name), "success")
        return redirect(url_for(".homes" if kind == ELDERCARE else ".medical"))
    return render_template("institutions/delete.html", form=form, institution=institution,
                           references=references)

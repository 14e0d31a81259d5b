"""Who may read and edit what (docs/permissions.md), enforced in this one place.

A record outside a user's scope answers 404, never 403, so its existence is
not revealed; a record in scope that the role may not edit answers 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, NoReturn

from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import Select, false, or_, select

from registry.display import region_names
from registry.errors import Refused
from registry.extensions import db
from registry.models import Agreement, ChangeRequest, Institution, PeriodReport, TrainingRecord, User
from registry.services import audit
from registry.vocab import (
    ADMIN,
    AGREEMENT,
    CIVIL_AFFAIRS,
    DEPARTMENTS,
    DISTRICT_OFFICIAL,
    ELDERCARE,
    HEALTH,
    MEDICAL,
    REVIEWERS,
)

# Edit rights follow the kind of record (63号 clause 十一): the department of vocab.REVIEWERS, and administrators.
EDITORS = {kind: frozenset({ADMIN, role}) for kind, role in REVIEWERS.items()}

# What a refusal names: the records of each kind a department registers, hosted ones included.
RECORDS = {
    ELDERCARE: _l("养老机构（含医疗卫生机构设立的养老机构）"),
    MEDICAL: _l("医疗卫生机构（含养老机构内设医疗机构）"),
    AGREEMENT: _l("签约协议"),
}


def role_required(*roles: str) -> Callable:
    """Allow only logged-in users of `roles` (403 for other roles)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def scope_regions(user: User) -> frozenset[str] | None:
    """The regions whose records the user reads and edits; None means every region.

    Staff bound to a district bureau, and district officials, have their region;
    city-level users have all. Every scoped query below starts from this.
    """
    return None if user.region_code is None else frozenset({user.region_code})


def reads_region(user: User, region_code: str | None) -> bool:
    """Whether region-level pages of `region_code` (figures, 待办) are the user's to read."""
    regions = scope_regions(user)
    return regions is None or region_code in regions


def _in_scope(user: User, model) -> Select:
    """Records of `model` (by their region_code) in the user's regions."""
    query = select(model)
    regions = scope_regions(user)
    return query if regions is None else query.where(model.region_code.in_(sorted(regions)))


def institutions_for(user: User) -> Select:
    """Institutions the user may read."""
    return _in_scope(user, Institution)


def _party_in_scope(user: User, party) -> Any:
    scoped = institutions_for(user).with_only_columns(Institution.id).where(Institution.id == party)
    return scoped.exists()


def agreements_for(user: User) -> Select:
    """Agreements the user may read: the home's region or the medical party's."""
    query = select(Agreement)
    if scope_regions(user) is not None:
        query = query.where(or_(_party_in_scope(user, Agreement.eldercare_id),
                                _party_in_scope(user, Agreement.medical_id)))
    return query


def editable_agreements(user: User) -> Select:
    """Agreements the user may edit: the home's region (docs/permissions.md), for the roles that edit them."""
    query = select(Agreement)
    if user.role not in EDITORS["agreement"]:
        return query.where(false())
    if scope_regions(user) is not None:
        query = query.where(_party_in_scope(user, Agreement.eldercare_id))
    return query


def readable_ids(user: User, model, ids: Iterable[int]) -> set[int]:
    """Which of these institution or agreement ids the user may read (one scoped query a chunk)."""
    scoped = {Institution: institutions_for, Agreement: agreements_for}[model](user)
    return _ids_in(scoped, model, ids)


def editable_agreement_ids(user: User, ids: Iterable[int]) -> set[int]:
    """Which of these agreement ids the user may edit."""
    return _ids_in(editable_agreements(user), Agreement, ids)


def _ids_in(scoped: Select, model, ids: Iterable[int]) -> set[int]:
    wanted = sorted({i for i in ids if i is not None and i > 0})
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found |= set(db.session.scalars(scoped.with_only_columns(model.id).where(model.id.in_(chunk))))
    return found


def deny_as_not_found(entity: str, entity_id: int) -> NoReturn:
    """A record outside the user's scope: audited as an access attempt, answered as not found."""
    audit.note("denied", entity, entity_id, f"{request.method} {request.path}"[:300], user=current_user)
    db.session.commit()
    abort(404)


MAX_ID = 2**31 - 1  # larger ids exist nowhere, and overflow SQLite's integer binding


def _get_or_404(user: User, model, record_id: int, scoped: Select, entity: str):
    """The record through the user's scoped query; 404 (audited) when it exists outside it."""
    if not 0 < record_id <= MAX_ID:
        abort(404)
    record = db.session.scalar(scoped.where(model.id == record_id))
    if record is None:
        if db.session.get(model, record_id) is not None:
            deny_as_not_found(entity, record_id)
        abort(404)
    return record


def get_institution_or_404(user: User, institution_id: int) -> Institution:
    """The institution when the user may read it; 404 otherwise."""
    return _get_or_404(user, Institution, institution_id, institutions_for(user), "institutions")


def get_agreement_or_404(user: User, agreement_id: int) -> Agreement:
    """The agreement when the user may read it; 404 otherwise."""
    return _get_or_404(user, Agreement, agreement_id, agreements_for(user), "agreements")


def can_read_institution(user: User, institution: Institution | None) -> bool:
    """Whether the user may open this institution's page (a host's or a party's link)."""
    return institution is not None and institution.id in readable_ids(user, Institution, [institution.id])


def can_create(user: User, kind: str) -> bool:
    """Whether the user's role registers records of `kind` (or agreements)."""
    return user.role in EDITORS[kind]


def editable_institution_ids(user: User, institutions: Iterable[Institution]) -> set[int]:
    """Which of these institutions the user may edit: the role edits their kind, and they are in scope."""
    wanted = [i for i in institutions if user.role in EDITORS[i.kind]]
    return readable_ids(user, Institution, [i.id for i in wanted])


def can_edit_institution(user: User, institution: Institution) -> bool:
    """Whether the user may edit this institution."""
    return bool(editable_institution_ids(user, [institution]))


def can_edit_agreement(user: User, agreement: Agreement) -> bool:
    """Agreements belong to the home's region for editing."""
    return bool(editable_agreement_ids(user, [agreement.id]))


def refuse(user: User, kind: str, region_code: str | None = None) -> NoReturn:
    """403 that names the department which registers and edits records of `kind` (or agreements).

    `region_code` is the region the record is edited in, for a user of that department
    who reads it from another region (an agreement belongs to its home's region).
    """
    department = DEPARTMENTS[kind]
    if user.role in EDITORS[kind] and region_code is not None:
        raise Refused(_("%(records)s由%(region)s的%(department)s修改，请联系%(region)s%(department)s。",
                        records=RECORDS[kind], region=region_names().get(region_code, region_code),
                        department=department))
    raise Refused(_("%(records)s由%(department)s登记和修改，请联系%(department)s。",
                    records=RECORDS[kind], department=department))


def require_create(user: User, kind: str) -> None:
    """403, naming the department that does it, unless the user's role registers records of `kind`."""
    if not can_create(user, kind):
        refuse(user, kind)


def require_edit_institution(user: User, institution_id: int) -> Institution:
    """The institution when the user may edit it: 404 out of scope, 403 read-only."""
    institution = get_institution_or_404(user, institution_id)
    if not can_edit_institution(user, institution):
        refuse(user, institution.kind)
    return institution


def require_edit_agreement(user: User, agreement_id: int) -> Agreement:
    """The agreement when the user may edit it: 404 out of scope, 403 read-only."""
    agreement = get_agreement_or_404(user, agreement_id)
    if not can_edit_agreement(user, agreement):
        refuse(user, AGREEMENT, agreement.eldercare.region_code)
    return agreement


def region_options(user: User) -> dict[str, str]:
    """The regions the user may choose wherever a region is offered (forms, list filters, the map's picker):
    code → name in the interface language, in the regions' order; a district-bound user's own region only."""
    regions = scope_regions(user)
    return {code: name for code, name in region_names().items() if regions is None or code in regions}


def editable_regions(user: User) -> list[str] | None:
    """Region codes the user may register records in; None means every region."""
    regions = scope_regions(user)
    return None if regions is None else sorted(regions)


def report_regions(user: User) -> list[str] | None:
    """Regions whose figures the user sees in full; None means every region.

    A district official (or district staff) sees their own region in full and
    the city totals as numbers only.
    """
    return editable_regions(user)


def require_drill_down(user: User, scope: str) -> None:
    """404 unless the user may list the institutions behind a number of `scope`."""
    if scope == "city":
        if scope_regions(user) is not None:
            abort(404)
    elif not reads_region(user, scope):
        abort(404)


TRAINING_EDITORS = frozenset({ADMIN, CIVIL_AFFAIRS, HEALTH})


def training_for(user: User) -> Select:
    """Training records the user may read."""
    return _in_scope(user, TrainingRecord)


def require_edit_training(user: User, record_id: int) -> TrainingRecord:
    """The training record when the user may edit it: 404 out of scope, 403 read-only."""
    record = _get_or_404(user, TrainingRecord, record_id, training_for(user), "training_records")
    if user.role not in TRAINING_EDITORS:
        abort(403)
    return record


# --- review and reporting (docs/review-and-reporting.md) -----------------------------------------------


def change_requests_for(user: User) -> Select:
    """Change requests the user may read: their own; a department's staff its requests (a district's, its
    region's); a district official their region's; an administrator all."""
    query = select(ChangeRequest)
    own = ChangeRequest.submitted_by_id == user.id
    if user.role == ADMIN:
        return query
    regions = scope_regions(user)
    if user.role == DISTRICT_OFFICIAL:
        return query.where(or_(own, ChangeRequest.region_code.in_(sorted(regions or ()))))
    mine = ChangeRequest.department == user.role
    if regions is not None:
        mine = mine & ChangeRequest.region_code.in_(sorted(regions))
    return query.where(or_(own, mine))


def get_change_request_or_404(user: User, request_id: int) -> ChangeRequest:
    """The change request when the user may read it; 404 otherwise."""
    return _get_or_404(user, ChangeRequest, request_id, change_requests_for(user), "change_requests")


def reviews(user: User) -> bool:
    """Whether the user decides change requests: the city bureaus' staff and administrators."""
    return user.role == ADMIN or (user.role in (CIVIL_AFFAIRS, HEALTH) and user.region_code is None)


def can_decide(user: User, request: ChangeRequest) -> bool:
    """Approve or return: the city bureau of the request's department, or an administrator."""
    return reviews(user) and user.role in (ADMIN, request.department) and request.submitted_by_id != user.id


def reports_for(user: User) -> Select:
    """Period reports the user may read: a district's own region's; city-level users every region's."""
    return _in_scope(user, PeriodReport)


def can_submit_report(user: User, region_code: str) -> bool:
    """上报: the district bureaus' staff, for their own region."""
    return user.role in (CIVIL_AFFAIRS, HEALTH) and user.region_code == region_code


def decides_reports(user: User) -> bool:
    """审核 a period's reports: city health staff and administrators (卫生健康部门牵头)."""
    return user.role == ADMIN or (user.role == HEALTH and user.region_code is None)

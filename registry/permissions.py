"""Who may read and edit what (DESIGN §5), enforced in this one place.

A record outside a user's scope answers 404, never 403, so its existence is
not revealed; a record in scope that the role may not edit answers 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import NoReturn

from flask import abort, request
from flask_login import current_user, login_required
from sqlalchemy import Select, exists, or_, select

from registry.extensions import db
from registry.models import Agreement, Institution, TrainingRecord, User
from registry.services import audit
from registry.vocab import ADMIN, CIVIL_AFFAIRS, ELDERCARE, HEALTH, MEDICAL

# Edit rights follow the kind of record (63号 clause 十一).
EDITORS = {
    ELDERCARE: frozenset({ADMIN, CIVIL_AFFAIRS}),
    MEDICAL: frozenset({ADMIN, HEALTH}),
    "agreement": frozenset({ADMIN, HEALTH}),
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


def in_region(user: User, region_code: str) -> bool:
    """Whether a user reads records of `region_code` (city-level users read all)."""
    return user.region_code is None or user.region_code == region_code


def institutions_for(user: User) -> Select:
    """Institutions the user may read."""
    query = select(Institution)
    if user.region_code is not None:
        query = query.where(Institution.region_code == user.region_code)
    return query


def agreements_for(user: User) -> Select:
    """Agreements the user may read: the home's region or the medical party's."""
    query = select(Agreement)
    if user.region_code is not None:
        query = query.where(
            or_(
                exists().where(
                    Institution.id == Agreement.eldercare_id,
                    Institution.region_code == user.region_code,
                ),
                exists().where(
                    Institution.id == Agreement.medical_id,
                    Institution.region_code == user.region_code,
                ),
            )
        )
    return query


def deny_as_not_found(entity: str, entity_id: int) -> NoReturn:
    """A record outside the user's scope: audited as an access attempt, answered as not found."""
    audit.note("denied", entity, entity_id, f"{request.method} {request.path}"[:300], user=current_user)
    db.session.commit()
    abort(404)


MAX_ID = 2**31 - 1  # larger ids exist nowhere, and overflow SQLite's integer binding


def _get(model, record_id: int):
    if not 0 < record_id <= MAX_ID:
        abort(404)
    return db.session.get(model, record_id)


def get_institution_or_404(user: User, institution_id: int) -> Institution:
    """The institution when the user may read it; 404 otherwise."""
    institution = _get(Institution, institution_id)
    if institution is None:
        abort(404)
    if not in_region(user, institution.region_code):
        deny_as_not_found("institutions", institution_id)
    return institution


def get_agreement_or_404(user: User, agreement_id: int) -> Agreement:
    """The agreement when the user may read it; 404 otherwise."""
    agreement = _get(Agreement, agreement_id)
    if agreement is None:
        abort(404)
    if not (in_region(user, agreement.eldercare.region_code) or in_region(user, agreement.medical.region_code)):
        deny_as_not_found("agreements", agreement_id)
    return agreement


def can_create(user: User, kind: str) -> bool:
    """Whether the user's role registers records of `kind` (or agreements)."""
    return user.role in EDITORS[kind]


def can_edit_institution(user: User, institution: Institution) -> bool:
    """Whether the user may edit this institution."""
    return user.role in EDITORS[institution.kind] and in_region(user, institution.region_code)


def can_edit_agreement(user: User, agreement: Agreement) -> bool:
    """Agreements belong to the home's region for editing."""
    return user.role in EDITORS["agreement"] and in_region(user, agreement.eldercare.region_code)


def require_edit_institution(user: User, institution_id: int) -> Institution:
    """The institution when the user may edit it: 404 out of scope, 403 read-only."""
    institution = get_institution_or_404(user, institution_id)
    if not can_edit_institution(user, institution):
        abort(403)
    return institution


def require_edit_agreement(user: User, agreement_id: int) -> Agreement:
    """The agreement when the user may edit it: 404 out of scope, 403 read-only."""
    agreement = get_agreement_or_404(user, agreement_id)
    if not can_edit_agreement(user, agreement):
        abort(403)
    return agreement


def editable_regions(user: User) -> list[str] | None:
    """Region codes the user may register records in; None means every region."""
    return None if user.region_code is None else [user.region_code]


def report_regions(user: User) -> list[str] | None:
    """Regions whose figures the user sees in full; None means every region.

    A district official (or district staff) sees their own region in full and
    the city totals as numbers only.
    """
    return None if user.region_code is None else [user.region_code]


def require_drill_down(user: User, scope: str) -> None:
    """404 unless the user may list the institutions behind a number of `scope`."""
    if scope == "city":
        if user.region_code is not None:
            abort(404)
    elif not in_region(user, scope):
        abort(404)


TRAINING_EDITORS = frozenset({ADMIN, CIVIL_AFFAIRS, HEALTH})


def training_for(user: User) -> Select:
    """Training records the user may read."""
    query = select(TrainingRecord)
    if user.region_code is not None:
        query = query.where(TrainingRecord.region_code == user.region_code)
    return query


def require_edit_training(user: User, record_id: int) -> TrainingRecord:
    """The training record when the user may edit it: 404 out of scope, 403 read-only."""
    record = _get(TrainingRecord, record_id)
    if record is None:
        abort(404)
    if not in_region(user, record.region_code):
        deny_as_not_found("training_records", record_id)
    if user.role not in TRAINING_EDITORS:
        abort(403)
    return record

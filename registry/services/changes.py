"""Every change a person makes to the register, whichever page it comes from, goes through here.

Two rules of docs/review-and-reporting.md meet here, so no page has to remember them:

* a district's change that moves an indicator waits for review (services/review.py): the
  fields that move one become a change request, the others apply at once;
* a change that applies and alters an approved period report is refused until the user
  confirms it (services/reports.py, `reports.BackdatedChange`), then recorded against
  the report.

The services below (institutions, agreements) keep the rules of each record; the
caller owns the transaction, as with them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from typing import Any

from registry.models import Agreement, ChangeRequest, Institution, TrainingRecord, User
from registry.services import RecordInvalid, StaleEdit, agreements, institutions, reports, review, training
from registry.vocab import AGREEMENT


@dataclass
class Outcome:
    """What a save did: the record as saved now (None for a new one still waiting), whether anything
    changed now, the request waiting for review, and what the service returned (a closing's lists)."""

    record: Institution | Agreement | None
    changed: bool
    request: ChangeRequest | None = None
    result: Any = None


def _check_version(record: Institution | Agreement, version: int | None) -> None:
    if version is not None and version != record.version:
        raise StaleEdit()


def _watch(moves_indicators: bool, confirmed: bool):
    """Watch for approved reports only around a change that can move a figure."""
    return reports.watching(confirmed) if moves_indicators else nullcontext()


def create_institution(user: User, kind: str, values: dict[str, Any], confirmed: bool = False) -> Outcome:
    """Register a home or a medical institution, or ask for it to be registered."""
    if review.required(user):
        errors = institutions.problems(kind, values)
        if errors:
            raise RecordInvalid(errors)
        return Outcome(None, False, review.submit(user, kind, "create", values))
    with reports.watching(confirmed):
        return Outcome(institutions.create(kind, values), True)


def update_institution(user: User, institution: Institution, values: dict[str, Any], version: int | None,
                       confirmed: bool = False) -> Outcome:
    """Save an edit: what moves an indicator waits when the user's changes are reviewed."""
    _check_version(institution, version)
    waiting = review.reviewed_changes(institution.kind, institution, values)
    if waiting and review.required(user):
        errors = institutions.problems(institution.kind, values, institution)
        if errors:
            raise RecordInvalid(errors)
        now = {f: v for f, v in values.items() if f not in review.REVIEWED_FIELDS[institution.kind]}
        changed = institutions.update(institution, now, version)
        return Outcome(institution, changed, review.submit(user, institution.kind, "update", waiting, institution))
    with _watch(bool(waiting), confirmed):
        return Outcome(institution, institutions.update(institution, values, version))


def close_institution(user: User, institution: Institution, day: date, close_units: bool, version: int | None,
                      may_edit: Callable[[Institution], bool], confirmed: bool = False) -> Outcome:
    """停业, with the units the user may close; a district's closing waits for review."""
    _check_version(institution, version)
    if review.required(user):
        request = review.submit(user, institution.kind, "close", {"closed_on": day, "close_units": close_units},
                                institution)
        return Outcome(institution, False, request)
    with reports.watching(confirmed):
        result = institutions.close(institution, day, close_units, version, may_edit)
    return Outcome(institution, True, result=result)


def create_agreement(user: User, values: dict[str, Any], services: list[str], confirmed: bool = False) -> Outcome:
    """Record a signed agreement, or ask for it to be recorded."""
    if review.required(user):
        errors = agreements.problems(values, services)
        if errors:
            raise RecordInvalid(errors)
        return Outcome(None, False, review.submit(user, AGREEMENT, "create", values | {"services": services}))
    with reports.watching(confirmed):
        return Outcome(agreements.create(values, services), True)


def update_agreement(user: User, agreement: Agreement, values: dict[str, Any], services: list[str] | None,
                     version: int | None, confirmed: bool = False) -> Outcome:
    """Save an agreement's edit: its parties, dates and services wait when the user's changes are reviewed."""
    _check_version(agreement, version)
    asked = values | ({"services": services} if services is not None else {})
    waiting = review.reviewed_changes(AGREEMENT, agreement, asked)
    if waiting and review.required(user):
        errors = agreements.problems(values, services, agreement)
        if errors:
            raise RecordInvalid(errors)
        now = {f: v for f, v in values.items() if f not in review.REVIEWED_FIELDS[AGREEMENT]}
        changed = agreements.update(agreement, now, None, version)
        return Outcome(agreement, changed, review.submit(user, AGREEMENT, "update", waiting, agreement))
    with _watch(bool(waiting), confirmed):
        return Outcome(agreement, agreements.update(agreement, values, services, version))


def terminate_agreement(user: User, agreement: Agreement, day: date, version: int | None,
                        confirmed: bool = False) -> Outcome:
    """已终止 from `day`; a district's termination waits for review."""
    _check_version(agreement, version)
    if review.required(user):
        return Outcome(agreement, False, review.submit(user, AGREEMENT, "terminate", {"terminated_on": day}, agreement))
    with reports.watching(confirmed):
        agreements.terminate(agreement, day, version)
    return Outcome(agreement, True)


# Training records move `trained_in_year` (十九); they are not reviewed (docs/review-and-reporting.md lists no training), but a
# save that changes an approved report is confirmed first like any other.


def create_training(values: dict[str, Any], confirmed: bool = False) -> TrainingRecord:
    """Record a training session."""
    with reports.watching(confirmed):
        return training.create(values)


def update_training(record: TrainingRecord, values: dict[str, Any], version: int | None,
                    confirmed: bool = False) -> None:
    """Save a training record's edit."""
    with reports.watching(confirmed):
        training.update(record, values, version)


def delete_training(record: TrainingRecord, confirmed: bool = False) -> None:
    """Delete a training record entered in error."""
    with reports.watching(confirmed):
        training.delete(record)

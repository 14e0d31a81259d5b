"""Records as the JSON API answers them: the DESIGN §8 field names, dates as YYYY-MM-DD.

Pure functions, model → dict: the caller loads what they read (the host, the
parties, the services) and supplies what depends on the day asked about.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from registry.models import Agreement, Institution


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def institution(record: Institution) -> dict[str, Any]:
    """An institution's §8 columns plus its `id`; `region` is the region code."""
    return {
        "id": record.id,
        "code": record.code,
        "kind": record.kind,
        "name": record.name,
        "uscc": record.uscc,
        "region": record.region_code,
        "address": record.address or None,
        "lat": record.lat,
        "lon": record.lon,
        "ownership": record.ownership,
        "opened_on": _day(record.opened_on),
        "closed_on": _day(record.closed_on),
        "beds_total": record.beds_total,
        "beds_nursing": record.beds_nursing,
        "rating": record.rating,
        "filing_no": record.filing_no,
        "medical_type": record.medical_type,
        "level": record.level,
        "licence_no": record.licence_no,
        "two_in_one": bool(record.two_in_one),
        "host_code": record.host.code if record.host is not None else None,
        "insurance_applied_on": _day(record.insurance_applied_on),
        "insurance_designated_on": _day(record.insurance_designated_on),
    }


def institution_detail(record: Institution) -> dict[str, Any]:
    """An institution with the codes of the units it set up (内设机构)."""
    return institution(record) | {"unit_codes": [unit.code for unit in record.units]}


def agreement(record: Agreement, status: str) -> dict[str, Any]:
    """An agreement's §8 columns plus its `id` and its `status` on the day asked about."""
    return {
        "id": record.id,
        "code": record.code,
        "eldercare_code": record.eldercare.code,
        "medical_code": record.medical.code,
        "signed_on": _day(record.signed_on),
        "valid_from": _day(record.valid_from),
        "valid_to": _day(record.valid_to),
        "terminated_on": _day(record.terminated_on),
        "services": record.services,
        "visit_frequency": record.visit_frequency or None,
        "fees": record.fees or None,
        "status": status,
    }


def agreement_detail(record: Agreement, status: str, distance_km: float | None) -> dict[str, Any]:
    """An agreement with the geodesic distance between its parties (null without coordinates)."""
    return agreement(record, status) | {"distance_km": distance_km}


def page(pagination: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of a list: its items and where it stands (Flask-SQLAlchemy's Pagination)."""
    return {
        "items": items,
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
        "pages": pagination.pages,
    }

"""Records as the JSON API answers them: the DESIGN §8 field names, dates as YYYY-MM-DD.

Pure functions, model → dict: the caller loads what they read (the host, the
parties, the services) and supplies what depends on the day asked about.
"""

from __future__ import annotations

from typing import Any

from registry.models import Agreement, Institution
from registry.services.formats import columns
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS


def institution(record: Institution) -> dict[str, Any]:
    """An institution's §8 columns plus its `id`; `region` is the region code."""
    return {"id": record.id} | {c.key: columns.api_value(c, record) for c in INSTITUTIONS.columns}


def institution_detail(record: Institution) -> dict[str, Any]:
    """An institution with the codes of the units it set up (内设机构)."""
    return institution(record) | {"unit_codes": [unit.code for unit in record.units]}


def agreement(record: Agreement, status: str) -> dict[str, Any]:
    """An agreement's §8 columns plus its `id` and its `status` on the day asked about."""
    return ({"id": record.id} | {c.key: columns.api_value(c, record) for c in AGREEMENTS.columns}
            | {"status": status})


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

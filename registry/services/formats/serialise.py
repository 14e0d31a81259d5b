"""Records as the JSON API answers them: the exchange format's field names (docs/exchange-format.md), dates as YYYY-MM-DD,
moments as ISO 8601 in UTC (2026-12-07T08:00:00Z).

Pure functions, model → dict: the caller loads what they read (the host, the
parties, the services, a request's users) and supplies what depends on the day asked about.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from registry.models import Agreement, ChangeRequest, Institution, PeriodReport
from registry.models.review import APPROVED
from registry.services import compliance
from registry.services.formats import columns
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS
from registry.services.periods import Period
from registry.services.reports import RegionStatus


def institution(record: Institution) -> dict[str, Any]:
    """An institution's exchange columns plus its `id`; `region` is the region code."""
    return {"id": record.id} | {c.key: columns.api_value(c, record) for c in INSTITUTIONS.columns}


def institution_detail(record: Institution) -> dict[str, Any]:
    """An institution with the codes of the units it set up (内设机构)."""
    return institution(record) | {"unit_codes": [unit.code for unit in record.units]}


def agreement(record: Agreement, status: str) -> dict[str, Any]:
    """An agreement's exchange columns plus its `id` and its `status` on the day asked about."""
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


def moment(value: datetime | None) -> str | None:
    """A stored (naive UTC) timestamp as ISO 8601 with its zone, to the second; None stays None."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def change_request(record: ChangeRequest) -> dict[str, Any]:
    """A change request (待审核变更) with its users' names and the indicators it moves (`impact`)."""
    return {
        "id": record.id, "subject": record.subject, "action": record.action, "department": record.department,
        "region": record.region_code, "entity": record.entity, "entity_id": record.entity_id,
        "summary": record.summary, "values": record.values, "before": record.before, "status": record.status,
        "submitted_by": record.submitted_by.username, "submitted_at": moment(record.submitted_at),
        "decided_by": record.decided_by.username if record.decided_by else None,
        "decided_at": moment(record.decided_at), "reason": record.reason, "impact": record.impact,
    }


def _region_report(status: RegionStatus) -> dict[str, Any]:
    """Where a region's newest version stands (nulls when it never submitted)."""
    report = status.report
    return {
        "status": status.status, "version": report.version if report else None,
        "submitted_at": moment(report.submitted_at) if report else None,
        "decided_at": moment(report.decided_at) if report else None, "late": status.late,
    }


def _reported_figure(report: PeriodReport | None, key: str) -> dict[str, Any]:
    """An indicator's figure as a version's snapshot holds it, without its member lists ({"value": null}: none)."""
    entry = report.snapshot["indicators"].get(key) if report else None
    if entry is None:
        return {"value": None}
    return {field: entry[field] for field in ("value", "numerator", "denominator") if field in entry}


def period_reports(period: Period, deadline: date, statuses: list[RegionStatus],
                   city: dict[str, compliance.Figure], regions: Iterable[str] | None) -> dict[str, Any]:
    """A period's reports (上报): each region's newest version and its figures, the city's approved sum.

    `statuses` are every region's (`approved` counts them all); `regions` limits which appear
    (None: every one), as on /compliance.
    """
    wanted = None if regions is None else set(regions)
    shown = [s for s in statuses if wanted is None or s.region.code in wanted]
    return {
        "period": period.key, "label": period.label, "as_of": period.last_day.isoformat(),
        "deadline": deadline.isoformat(),
        "approved": sum(1 for s in statuses if s.status == APPROVED),
        "regions": {s.region.code: _region_report(s) for s in shown},
        "indicators": {key: {"city": figure.as_json(),
                             "regions": {s.region.code: _reported_figure(s.report, key) for s in shown}}
                       for key, figure in city.items()},
    }

"""A region's figures on a day as plain data: what a period report stores and compares (docs/review-and-reporting.md).

A snapshot holds every indicator's value (with numerator and denominator for a share), the
rows behind it and the shortfall list (id, code, name), and the region's targets as judged
on that day. It is JSON, so it can be kept unchanged in the database and compared later
with the register as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select

from registry.extensions import db
from registry.models import TrainingRecord
from registry.services import compliance

Member = tuple[int, str, str]  # id, code (a training record's day), name (its organiser)


def _members(query: Select) -> list[list[Any]]:
    entity = query.column_descriptions[0]["entity"]
    if entity is TrainingRecord:
        columns = (TrainingRecord.id, TrainingRecord.held_on, TrainingRecord.organiser)
    else:
        columns = (entity.id, entity.code, entity.name)
    rows = db.session.execute(query.with_only_columns(*columns))
    return [[row[0], row[1].isoformat() if isinstance(row[1], date) else row[1], row[2]] for row in rows]


def take(region: str, day: date, target_set_id: str = compliance.DEFAULT_TARGET_SET) -> dict[str, Any]:
    """The region's figures, members and targets on `day`, read now in the caller's transaction."""
    report = compliance.compute(day, target_set_id)
    indicators = {}
    for key, indicator in compliance.INDICATORS.items():
        entry = report.figure(key, region).as_json()
        entry["members"] = _members(compliance.members(key, day, region))
        if indicator.has_missing:
            entry["missing"] = _members(compliance.members(key, day, region, missing=True))
        indicators[key] = entry
    targets = [result.as_json() | {"gap": result.gap, "judged_on": result.judged_on.isoformat()
                                   if result.judged_on else None}
               for result in report.targets if result.target.scope == region]
    return {"as_of": day.isoformat(), "region": region,
            "target_set": report.target_set.id if report.target_set else None,
            "indicators": indicators, "targets": targets}


def fingerprint(day: date) -> dict[tuple[str, str], tuple]:
    """What decides whether the snapshots of `day` still hold: (indicator, region) → its figure and members' ids.

    Cheaper than `take` (no names, no targets; two grouped queries an indicator for every
    region at once), for checking the approved reports around a save. A member is counted in
    its own region: a unit lies in its host's region (institutions.check).
    """
    found: dict[tuple[str, str], tuple] = {}
    for key, indicator in compliance.INDICATORS.items():
        members = compliance.members(key, day).order_by(None)
        entity = members.column_descriptions[0]["entity"]
        ids: dict[str, set[int]] = {}
        for region, member in db.session.execute(members.with_only_columns(entity.region_code, entity.id)):
            ids.setdefault(region, set()).add(member)
        for region, figure in indicator.counts(day).items():
            found[(key, region)] = (figure, frozenset(ids.get(region, ())))
    return found


@dataclass
class Difference:
    """How one indicator of a snapshot differs from another: the figures, who joined and left each list."""

    indicator: str
    before: dict[str, Any]
    after: dict[str, Any]
    added: list[list[Any]] = field(default_factory=list)  # counted now, not then
    removed: list[list[Any]] = field(default_factory=list)
    missing_added: list[list[Any]] = field(default_factory=list)  # in the shortfall list now, not then
    missing_removed: list[list[Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(compliance.INDICATORS[self.indicator].label)


def _figure(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("value", "numerator", "denominator") if k in entry}


def _joined_and_left(before: list[list[Any]], after: list[list[Any]]) -> tuple[list[list[Any]], list[list[Any]]]:
    was, now = {m[0]: m for m in before}, {m[0]: m for m in after}
    return [now[i] for i in now.keys() - was.keys()], [was[i] for i in was.keys() - now.keys()]


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[Difference]:
    """The indicators whose figure or lists differ between two snapshots, in the indicators' order."""
    found = []
    for key in compliance.INDICATORS:
        before, after = old["indicators"].get(key), new["indicators"].get(key)
        if before is None or after is None:
            continue
        added, removed = _joined_and_left(before["members"], after["members"])
        missing_added, missing_removed = _joined_and_left(before.get("missing", []), after.get("missing", []))
        if _figure(before) != _figure(after) or added or removed or missing_added or missing_removed:
            found.append(Difference(key, _figure(before), _figure(after), added, removed, missing_added,
                                    missing_removed))
    return found

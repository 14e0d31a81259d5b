"""The start page's figures: the register by region on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from registry import permissions
from registry.extensions import db
from registry.models import Agreement, Institution, Region, User
from registry.vocab import ELDERCARE, MEDICAL


@dataclass
class RegionCounts:
    """Operating homes, medical institutions, beds and active agreements of a region."""

    region: Region
    homes: int = 0
    medical: int = 0
    beds: int = 0
    agreements: int = 0


def counts_by_region(user: User, day: date) -> list[RegionCounts]:
    """One row per region the user may read, counted in SQL as of `day`."""
    regions = select(Region).order_by(Region.position)
    readable = permissions.scope_regions(user)
    if readable is not None:
        regions = regions.where(Region.code.in_(sorted(readable)))
    rows = {r.code: RegionCounts(r) for r in db.session.scalars(regions)}

    institutions = (
        permissions.institutions_for(user)
        .where(Institution.operating_on(day))
        .with_only_columns(
            Institution.region_code, Institution.kind, func.count(), func.sum(Institution.beds_total)
        )
        .group_by(Institution.region_code, Institution.kind)
    )
    for region_code, kind, count, beds in db.session.execute(institutions):
        if region_code in rows:
            if kind == ELDERCARE:
                rows[region_code].homes = count
                rows[region_code].beds = int(beds or 0)
            elif kind == MEDICAL:
                rows[region_code].medical = count

    home = aliased(Institution)
    agreements = (
        select(home.region_code, func.count())
        .select_from(Agreement)
        .join(home, home.id == Agreement.eldercare_id)
        .where(Agreement.active_on(day))
        .group_by(home.region_code)
    )
    for region_code, count in db.session.execute(agreements):
        if region_code in rows:
            rows[region_code].agreements = count
    return list(rows.values())

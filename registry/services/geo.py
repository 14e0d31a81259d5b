"""Places: distances (the WGS-84 geodesic), district boundaries, nearby institutions."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from geographiclib.geodesic import Geodesic
from sqlalchemy import Select, or_, select

from registry.extensions import db
from registry.models import Institution
from registry.vocab import MEDICAL

BOUNDARIES = Path(__file__).resolve().parent.parent.parent / "static" / "geo" / "maoming-districts.geojson"
KM_PER_DEGREE_LAT = 110.574  # the shortest a degree of latitude gets (at the equator)
MAX_SEARCH_KM = 400
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
# The spherical distance differs from the WGS-84 geodesic by under 0.6%; twice that as a margin.
SPHERE_ERROR = 0.012


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The WGS-84 geodesic in km: geopy's `geodesic(...).km`, asked of geographiclib directly.

    geopy builds and checks two Point objects around the same call, which doubled its cost on
    the record page (one distance per agreement, more for the nearby list).
    """
    return Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"] / 1000


def distance_km(a: Institution, b: Institution) -> float | None:
    """Geodesic distance in km, or None when either has no coordinates."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    return geodesic_km(a.lat, a.lon, b.lat, b.lon)


# --- district boundaries ----------------------------------------------------------------------

Ring = list[tuple[float, float]]  # (lon, lat) as GeoJSON writes them


@lru_cache(maxsize=1)
def _polygons() -> dict[str, list[list[Ring]]]:
    """Region code → polygons (each an exterior ring and its holes), read once per process."""
    data = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    polygons: dict[str, list[list[Ring]]] = {}
    for feature in data["features"]:
        geometry = feature["geometry"]
        parts = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        polygons[feature["properties"]["code"]] = [
            [[(float(x), float(y)) for x, y in ring] for ring in part] for part in parts
        ]
    return polygons


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Ray casting: does a ray eastward from the point cross the ring an odd number of times?"""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def in_region(lat: float, lon: float, region_code: str) -> bool | None:
    """Whether a WGS-84 point lies in the region; None when the region has no boundary."""
    polygons = _polygons().get(region_code)
    if polygons is None:
        return None
    return any(
        _in_ring(lon, lat, exterior) and not any(_in_ring(lon, lat, hole) for hole in holes)
        for exterior, *holes in polygons
    )


def outside_its_region(institution: Institution) -> bool:
    """A warning only: coordinates that lie outside the institution's own district.

    A region is never inferred from coordinates (the zones lie inside 电白区 and 茂南区).
    """
    if institution.lat is None or institution.lon is None:
        return False
    return in_region(institution.lat, institution.lon, institution.region_code) is False


# --- nearby ---------------------------------------------------------------------------------


@dataclass
class Nearby:
    """A medical institution and its distance from the home asked about."""

    institution: Institution
    km: float


def _box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """A latitude/longitude box that contains the circle of `km` around the point."""
    dlat = km / KM_PER_DEGREE_LAT
    cos = max(math.cos(math.radians(min(89.0, abs(lat) + dlat))), 0.01)
    dlon = km / (KM_PER_DEGREE_LAT * cos)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the mean earth radius: cheap, and within 0.6% of geodesic."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _nearest_in(rows: list[tuple[int, float, float]], lat: float, lon: float, km: float,
                limit: int) -> list[tuple[float, int]]:
    """(geodesic km, id) of the `limit` nearest rows within `km`, nearest first, ties by id.

    The spherical distance bounds the geodesic one (±SPHERE_ERROR), so only the rows
    that could be among the answer are measured with the geodesic.
    """
    cheap = [(_haversine_km(lat, lon, r_lat, r_lon), row_id, r_lat, r_lon) for row_id, r_lat, r_lon in rows]
    uppers = sorted(h * (1 + SPHERE_ERROR) for h, *_ in cheap)
    bound = min(km, uppers[limit - 1]) if len(uppers) >= limit else km
    measured = [
        (geodesic_km(lat, lon, r_lat, r_lon), row_id)
        for h, row_id, r_lat, r_lon in cheap
        if h * (1 - SPHERE_ERROR) <= bound
    ]
    return sorted(m for m in measured if m[0] <= km)[:limit]


def nearest_medical(lat: float, lon: float, day: date, limit: int = 10, medical_type: str | None = None,
                    scope: Select | None = None, home_id: int | None = None,
                    start_km: float = 2.0) -> list[Nearby]:
    """The `limit` nearest operating medical institutions, by geodesic distance.

    An indexed latitude/longitude box is searched first and widened until it
    holds `limit` institutions within the circle it contains, so the answer is
    exact without measuring the distance to every row. Only ids and coordinates
    are read from the box; the winners are loaded once at the end. The units
    `home_id` set up itself are left out: a host does not sign with its own unit. `scope`
    (a user's `permissions.institutions_for`) limits the search to what they may read.
    """
    if limit < 1:
        return []
    km = start_km
    while True:
        south, north, west, east = _box(lat, lon, km)
        query = (scope if scope is not None else select(Institution)).with_only_columns(
            Institution.id, Institution.lat, Institution.lon).where(
            Institution.lat.between(south, north),
            Institution.lon.between(west, east),
            Institution.kind == MEDICAL,
            Institution.operating_on(day),
        )
        if medical_type:
            query = query.where(Institution.medical_type == medical_type)
        if home_id is not None:
            query = query.where(or_(Institution.host_id.is_(None), Institution.host_id != home_id))
        within = _nearest_in(list(db.session.execute(query).tuples()), lat, lon, km, limit)
        if len(within) >= limit or km >= MAX_SEARCH_KM:
            break
        # The circle's area grows with the square of its radius: widen by what the count
        # found so far suggests (2× to 4×), so sparse areas need few boxes.
        km = min(MAX_SEARCH_KM, km * min(4.0, max(2.0, 1.5 * math.sqrt(limit / max(len(within), 1)))))
    loaded = {i.id: i for i in db.session.scalars(select(Institution).where(
        Institution.id.in_([row_id for _, row_id in within])))}
    return [Nearby(loaded[row_id], distance) for distance, row_id in within]

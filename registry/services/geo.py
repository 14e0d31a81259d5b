"""Places: distances between institutions (geopy's geodesic on WGS-84)."""

from __future__ import annotations

from geopy.distance import geodesic

from registry.models import Institution


def distance_km(a: Institution, b: Institution) -> float | None:
    """Geodesic distance in km, or None when either has no coordinates."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    return geodesic((a.lat, a.lon), (b.lat, b.lon)).km

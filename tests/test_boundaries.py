"""Sanity checks on static/geo/maoming-districts.geojson (pure Python, no app, no shapely)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GEOJSON = ROOT / "static" / "geo" / "maoming-districts.geojson"
EXPECTED = {
    "440902": "茂南区",
    "440904": "电白区",
    "440981": "高州市",
    "440982": "化州市",
    "440983": "信宜市",
}
# (lat, lon, code): known places, WGS-84.
PLACES = [
    (21.66, 110.92, "440902"),  # 茂名 city centre
    (21.92, 110.85, "440981"),  # 高州 centre
    (22.35, 110.95, "440983"),  # 信宜 centre
    (21.66, 110.64, "440982"),  # 化州 centre
    (21.51, 111.01, "440904"),  # 电白 水东
]


def _polygons(geometry: dict) -> list:
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def _in_ring(lon: float, lat: float, ring: list) -> bool:
    """Ray casting: count the ring edges crossed by a ray going east from the point."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def contains(geometry: dict, lat: float, lon: float) -> bool:
    """Inside the exterior ring of some polygon and outside its holes."""
    return any(
        _in_ring(lon, lat, rings[0]) and not any(_in_ring(lon, lat, hole) for hole in rings[1:])
        for rings in _polygons(geometry)
    )


def districts_at(features: list, lat: float, lon: float) -> list[str]:
    return [f["properties"]["code"] for f in features if contains(f["geometry"], lat, lon)]


@pytest.fixture(scope="module")
def features() -> list:
    return json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]


def test_file_is_small():
    assert GEOJSON.stat().st_size < 150 * 1024


def test_one_feature_per_district_with_code_and_name(features):
    assert {f["properties"]["code"]: f["properties"]["name"] for f in features} == EXPECTED
    assert len(features) == len(EXPECTED)
    for f in features:
        assert f["type"] == "Feature"
        assert f["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_rings_are_closed_lon_lat_in_maoming(features):
    for f in features:
        for rings in _polygons(f["geometry"]):
            for ring in rings:
                assert len(ring) >= 4 and ring[0] == ring[-1]
                for lon, lat in ring:  # GeoJSON order is lon, lat
                    assert 110.2 < lon < 111.8 and 21.3 < lat < 22.8
                    assert round(lon, 5) == lon and round(lat, 5) == lat


@pytest.mark.parametrize(("lat", "lon", "code"), PLACES)
def test_place_lies_in_exactly_its_district(features, lat, lon, code):
    assert districts_at(features, lat, lon) == [code]


def test_points_outside_maoming_are_in_no_district(features):
    assert districts_at(features, 21.27, 110.36) == []  # 湛江
    assert districts_at(features, 23.13, 113.26) == []  # 广州


def _build_script():
    spec = importlib.util.spec_from_file_location(
        "build_boundaries", ROOT / "scripts" / "build_boundaries.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gcj02_inverse_is_exact_and_shift_is_about_half_a_kilometre():
    build = _build_script()
    for lat, lon, _ in PLACES:
        gcj = build.wgs84_to_gcj02(lon, lat)
        back = build.gcj02_to_wgs84(*gcj)
        assert math.dist(back, (lon, lat)) < 1e-8  # ~1 mm
        assert 300 < build.distance_m((lon, lat), gcj) < 700

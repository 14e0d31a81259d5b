"""Benchmark: the nearby search (an indexed latitude/longitude box) against a brute-force scan.

Inserts 1,000,000 operating medical institutions spread over a Guangdong-sized area
(with a denser cluster around Maoming) on SQLite and PostgreSQL, times
`registry.services.geo.nearest_medical(lat, lon, day, limit=10)` for random query
points (without and with a `medical_type` filter), then, for a few of those points, a
brute-force scan: every operating medical institution's (id, lat, lon) selected and
measured with geopy's geodesic (what `nearest_medical` uses), and with a plain
haversine for a cheaper baseline; the answers are compared. Progress goes to stderr,
the tables to stdout.

    .venv/bin/python bench/nearby.py [--rows 1000000] [--backends sqlite,postgresql]
        [--queries 50] [--brute-points 2] [--types 诊所,护理院] [--explain]

Rows are bulk-inserted (core `insert()` on SQLite, COPY on PostgreSQL), never through
the service layer. PostgreSQL uses its own database, `bench_nearby`, created and
dropped here; nothing else is touched. See bench/README.md.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    BACKENDS,
    MEDICAL_TYPE_WEIGHTS,
    PG_SERVER,
    Scratch,
    analyse_tables,
    chunks,
    comma_list,
    elapsed,
    insert_rows,
    institution_row,
    print_table,
    progress,
    run_time,
)
from geopy.distance import geodesic  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.models import Institution, Region  # noqa: E402
from registry.services import geo, seeding  # noqa: E402
from registry.vocab import MEDICAL, OWNERSHIPS  # noqa: E402

DAY = date(2024, 6, 30)
LIMIT = 10
PG_DATABASE = "bench_nearby"

# Where the rows lie: a Guangdong-sized box, and a denser cluster around Maoming.
AREA_LAT, AREA_LON = (20.2, 25.5), (109.6, 117.3)
MAOMING = (21.66, 110.92)
CLUSTER_SD = 0.3  # degrees
CLUSTER_SHARE = 0.3  # of the rows
# Medical types follow MEDICAL_TYPE_WEIGHTS (in _common), the mix of bench/compliance.py.
EARTH_KM = 6371.0088  # mean radius, for the haversine baseline
# geodesic/haversine stays within ±0.6% anywhere: haversine candidates within this factor
# of the k-th haversine distance hold every one of the k nearest by geodesic.
HAVERSINE_MARGIN = 1.02


# --- the rows -------------------------------------------------------------------------------


def _point(rng: random.Random, clustered: bool) -> tuple[float, float]:
    """A point in the area: uniform, or normal around Maoming (redrawn until inside)."""
    if not clustered:
        return rng.uniform(*AREA_LAT), rng.uniform(*AREA_LON)
    while True:
        lat, lon = rng.gauss(MAOMING[0], CLUSTER_SD), rng.gauss(MAOMING[1], CLUSTER_SD)
        if AREA_LAT[0] <= lat <= AREA_LAT[1] and AREA_LON[0] <= lon <= AREA_LON[1]:
            return lat, lon


def generate(count: int, regions: list[str], seed: str) -> Iterator[dict[str, Any]]:
    """Operating medical institutions (opened before DAY, none closed), ids 1..count."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    types, weights = list(MEDICAL_TYPE_WEIGHTS), list(MEDICAL_TYPE_WEIGHTS.values())
    ownerships = list(OWNERSHIPS)
    first, last = date(2000, 1, 1).toordinal(), DAY.toordinal()
    for row_id in range(1, count + 1):
        lat, lon = _point(rng, rng.random() < CLUSTER_SHARE)
        medical_type = rng.choices(types, weights=weights)[0]
        yield institution_row(
            row_id, MEDICAL, name=f"【基准】{medical_type}{row_id}", region_code=rng.choice(regions),
            lat=round(lat, 6), lon=round(lon, 6), ownership=rng.choice(ownerships),
            opened_on=date.fromordinal(rng.randint(first, last)), medical_type=medical_type,
        )


def query_points(count: int, seed: str) -> list[tuple[float, float, str]]:
    """Query points alternating between the Maoming cluster and anywhere in the area."""
    rng = random.Random(f"{seed}-queries")  # noqa: S311 - synthetic data
    points = []
    for index in range(count):
        clustered = index % 2 == 0
        lat, lon = _point(rng, clustered)
        points.append((round(lat, 6), round(lon, 6), "Maoming" if clustered else "anywhere"))
    return points


def load(rows: Iterable[dict[str, Any]], use_copy: bool) -> int:
    """Insert the rows in chunks: COPY on PostgreSQL, else a core executemany insert."""
    table = Institution.__table__
    count = 0
    for chunk in chunks(rows):
        insert_rows(table, chunk, use_copy)
        db.session.commit()
        count += len(chunk)
        if count % 200_000 == 0:
            progress(f"  {count:,} rows")
    return count


# --- timing ---------------------------------------------------------------------------------


class StatementCounter:
    """SELECTs issued on the engine (one per box `nearest_medical` tries), and their text."""

    def __init__(self) -> None:
        self.count = 0
        self.last: tuple[str, Any] | None = None

    def __call__(self, _conn, _cursor, statement, parameters, _context, _executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.count += 1
            self.last = (statement, parameters)


@dataclass
class Sample:
    point: tuple[float, float, str]
    ms: float
    boxes: int
    ids: list[int]
    km: list[float]


def time_nearest(points: list[tuple[float, float, str]], medical_type: str | None,
                 counter: StatementCounter) -> list[Sample]:
    """nearest_medical for each point, each in a fresh session whose transaction is already begun."""
    samples = []
    for index, point in enumerate([points[0], *points]):  # the first run is a warm-up
        db.session.remove()
        db.session.connection()
        counter.count = 0
        started = time.perf_counter()
        found = geo.nearest_medical(point[0], point[1], DAY, limit=LIMIT, medical_type=medical_type)
        elapsed = (time.perf_counter() - started) * 1000
        boxes = counter.count
        db.session.rollback()
        if index:
            samples.append(Sample(point, elapsed, boxes, [n.institution.id for n in found],
                                  [n.km for n in found]))
    db.session.remove()
    return samples


def haversine_nearest(lat: float, lon: float, rows: list[Any], limit: int) -> list[tuple[float, int]]:
    """(km, id) of the `limit` nearest rows on a sphere, in pure Python."""
    phi, lam = math.radians(lat), math.radians(lon)
    cos_phi = math.cos(phi)
    sin, cos, asin, sqrt, radians = math.sin, math.cos, math.asin, math.sqrt, math.radians
    distances = []
    for row_id, row_lat, row_lon in rows:
        phi2 = radians(row_lat)
        a = sin((phi2 - phi) / 2) ** 2 + cos_phi * cos(phi2) * sin((radians(row_lon) - lam) / 2) ** 2
        distances.append((2 * EARTH_KM * asin(sqrt(a)), row_id))
    return heapq.nsmallest(limit, distances)


def geodesic_nearest(lat: float, lon: float, rows: list[Any], limit: int) -> list[tuple[float, int]]:
    """(km, id) of the `limit` nearest rows by geopy's geodesic, ties by id (as nearest_medical)."""
    origin = (lat, lon)
    return heapq.nsmallest(limit, ((geodesic(origin, (row_lat, row_lon)).km, row_id)
                                   for row_id, row_lat, row_lon in rows))


def exact_nearest(lat: float, lon: float, rows: list[Any], limit: int) -> list[tuple[float, int]]:
    """The geodesic answer, measuring only the rows haversine cannot rule out (for checks)."""
    rough = haversine_nearest(lat, lon, rows, limit)
    if not rough:
        return []
    bound = rough[-1][0] * HAVERSINE_MARGIN if len(rough) == limit else math.inf
    phi, lam = math.radians(lat), math.radians(lon)
    candidates = []
    for row_id, row_lat, row_lon in rows:
        phi2 = math.radians(row_lat)
        a = (math.sin((phi2 - phi) / 2) ** 2
             + math.cos(phi) * math.cos(phi2) * math.sin((math.radians(row_lon) - lam) / 2) ** 2)
        if 2 * EARTH_KM * math.asin(math.sqrt(a)) <= bound:
            candidates.append((row_id, row_lat, row_lon))
    return geodesic_nearest(lat, lon, candidates, limit)


def fetch_all(medical_type: str | None = None) -> list[Any]:
    """Every operating medical institution's (id, lat, lon): the brute force's scan."""
    query = select(Institution.id, Institution.lat, Institution.lon).where(
        Institution.kind == MEDICAL, Institution.operating_on(DAY), Institution.lat.is_not(None),
        Institution.lon.is_not(None),
    )
    if medical_type:
        query = query.where(Institution.medical_type == medical_type)
    return db.session.execute(query).all()


@dataclass
class Brute:
    point: tuple[float, float, str]
    nearest_ms: float  # nearest_medical at this point (from the timed runs)
    fetch_ms: float
    geodesic_ms: float  # computing only; the scan is fetch + compute
    haversine_ms: float
    agrees: bool  # the geodesic scan's ids == nearest_medical's, in order
    haversine_agrees: bool
    max_km: float  # distance of the 10th

    @property
    def geodesic_scan_ms(self) -> float:
        return self.fetch_ms + self.geodesic_ms

    @property
    def haversine_scan_ms(self) -> float:
        return self.fetch_ms + self.haversine_ms


def brute_force(samples: list[Sample], count: int) -> list[Brute]:
    results = []
    for sample in samples[:count]:
        lat, lon, _where = sample.point
        db.session.remove()
        db.session.connection()
        started = time.perf_counter()
        rows = fetch_all()
        fetched = time.perf_counter()
        by_geodesic = geodesic_nearest(lat, lon, rows, LIMIT)
        measured = time.perf_counter()
        by_haversine = haversine_nearest(lat, lon, rows, LIMIT)
        done = time.perf_counter()
        db.session.rollback()
        result = Brute(
            sample.point, sample.ms, (fetched - started) * 1000, (measured - fetched) * 1000,
            (done - measured) * 1000, [i for _, i in by_geodesic] == sample.ids,
            [i for _, i in by_haversine] == sample.ids, by_geodesic[-1][0] if by_geodesic else math.nan,
        )
        progress(f"    brute force at {lat:.4f}, {lon:.4f} ({sample.point[2]}): {len(rows):,} rows fetched in "
                 f"{result.fetch_ms:,.0f} ms, geodesic {result.geodesic_ms:,.0f} ms, haversine "
                 f"{result.haversine_ms:,.0f} ms; nearest_medical {sample.ms:.1f} ms; same answer: "
                 f"{'yes' if result.agrees else 'NO'} (haversine: {'yes' if result.haversine_agrees else 'no'}); "
                 f"10th at {result.max_km:.2f} km")
        if not result.agrees:
            progress(f"      nearest_medical: {list(zip(sample.ids, (round(k, 3) for k in sample.km), strict=True))}")
            progress(f"      geodesic scan:   {[(i, round(k, 3)) for k, i in by_geodesic]}")
        del rows
        results.append(result)
    db.session.remove()
    return results


def check_typed(samples: list[Sample], count: int, medical_type: str) -> tuple[int, int]:
    """(agreeing, checked): nearest_medical with a type filter against the exact answer."""
    agreeing = 0
    db.session.remove()
    rows = fetch_all(medical_type)
    db.session.remove()
    for sample in samples[:count]:
        exact = exact_nearest(sample.point[0], sample.point[1], rows, LIMIT)
        if [i for _, i in exact] == sample.ids:
            agreeing += 1
        else:
            progress(f"    {medical_type} at {sample.point[:2]}: nearest_medical {sample.ids} != exact "
                     f"{[i for _, i in exact]}")
    return agreeing, min(count, len(samples))


def explain(backend: str, counter: StatementCounter, point: tuple[float, float, str],
            medical_type: str | None) -> None:
    """The plan of the last box statement nearest_medical issues at `point`, to stderr."""
    db.session.remove()
    geo.nearest_medical(point[0], point[1], DAY, limit=LIMIT, medical_type=medical_type)
    db.session.remove()
    statement, parameters = counter.last
    progress(f"--- plan of the last box query at {point[:2]} (type {medical_type or 'any'}) ---\n{statement}\n"
             f"-- parameters: {parameters}")
    with db.engine.connect() as connection:
        if backend == "sqlite":
            for _node, _parent, _unused, detail in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters).all():
                progress("  " + detail)
        else:
            for (line,) in connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters):
                progress("  " + line)
        connection.rollback()


# --- one backend ----------------------------------------------------------------------------


@dataclass
class Timing:
    medical_type: str | None
    samples: list[Sample]
    agreeing: int | None = None  # against the exact answer, for the brute-force points
    checked: int = 0

    def ms(self) -> list[float]:
        return [s.ms for s in self.samples]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.ms())

    @property
    def p95_ms(self) -> float:
        values = self.ms()
        return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]

    @property
    def boxes(self) -> float:
        return statistics.mean(s.boxes for s in self.samples)

    def median_where(self, where: str) -> float | None:
        values = [s.ms for s in self.samples if s.point[2] == where]
        return statistics.median(values) if values else None


@dataclass
class Result:
    backend: str
    rows: int
    load_s: float
    timings: list[Timing] = field(default_factory=list)
    brute: list[Brute] = field(default_factory=list)


def run_one(backend: str, url: str, args: argparse.Namespace) -> Result:
    app = create_app({"TESTING": True, "SECRET_KEY": "bench-nearby", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        counter = StatementCounter()
        try:
            db.create_all()
            seeding.load_regions()
            db.session.commit()
            regions = [r.code for r in db.session.scalars(select(Region).order_by(Region.position))]
            started = time.perf_counter()
            count = load(generate(args.rows, regions, args.seed), use_copy=backend == "postgresql")
            progress("  analysing")
            analyse_tables(backend, ("institutions", "regions"), numbered=("institutions",))
            load_s = time.perf_counter() - started
            stored = db.session.scalar(select(func.count()).select_from(Institution))
            db.session.remove()
            progress(f"  {stored:,} rows loaded in {load_s:.1f} s")
            result = Result(backend, count, load_s)

            event.listen(db.engine, "before_cursor_execute", counter)
            points = query_points(args.queries, args.seed)
            for medical_type in [None, *args.types]:
                timing = Timing(medical_type, time_nearest(points, medical_type, counter))
                progress(f"  nearest_medical (type {medical_type or 'any'}): median {timing.median_ms:.1f} ms, "
                         f"p95 {timing.p95_ms:.1f} ms, max {max(timing.ms()):.1f} ms, "
                         f"{timing.boxes:.1f} boxes/query; Maoming {timing.median_where('Maoming') or 0:.1f} ms, "
                         f"anywhere {timing.median_where('anywhere') or 0:.1f} ms")
                result.timings.append(timing)
                if args.explain:
                    explain(backend, counter, points[0], medical_type)
                    explain(backend, counter, points[1], medical_type)
            event.remove(db.engine, "before_cursor_execute", counter)

            progress(f"  brute force at {args.brute_points} points")
            result.brute = brute_force(result.timings[0].samples, args.brute_points)
            result.timings[0].agreeing = sum(b.agrees for b in result.brute)
            result.timings[0].checked = len(result.brute)
            for timing in result.timings[1:]:
                timing.agreeing, timing.checked = check_typed(timing.samples, args.brute_points, timing.medical_type)
            return result
        finally:
            db.session.remove()
            db.engine.dispose()


# --- output ---------------------------------------------------------------------------------

MAIN_HEADERS = ("backend", "rows", "medical_type", "queries", "median ms", "p95 ms", "max ms", "boxes/query",
                "brute geodesic ms", "brute haversine ms", "speed-up (geodesic)", "speed-up (haversine)",
                "same answer", "load s")
BRUTE_HEADERS = ("backend", "point", "where", "nearest ms", "fetch ms", "geodesic ms", "haversine ms",
                 "scan ms (geodesic)", "scan ms (haversine)", "10th km", "same answer")


def print_tables(results: list[Result], args: argparse.Namespace, total_s: float) -> None:
    print(f"nearest_medical(lat, lon, {DAY.isoformat()}, limit={LIMIT}[, medical_type]) on {args.rows:,} operating "
          f"medical institutions; {args.queries} query points (half around Maoming, half anywhere), "
          "each in a fresh session after one warm-up")
    print(f"brute force: select every operating medical institution's (id, lat, lon), then the {LIMIT} nearest by "
          "geopy geodesic / by a pure-Python haversine; mean over the brute-force points; speed-up = brute "
          "scan ms / nearest_medical median ms")
    print("same answer: the brute-force points where nearest_medical's ids equal the exact geodesic answer "
          "(with a type filter: the exact answer from the rows of that type)")
    print()
    rows = []
    for result in results:
        brute = result.brute
        geodesic_ms = statistics.mean(b.geodesic_scan_ms for b in brute) if brute else None
        haversine_ms = statistics.mean(b.haversine_scan_ms for b in brute) if brute else None
        for timing in result.timings:
            unfiltered = timing.medical_type is None
            rows.append([
                result.backend, f"{result.rows:,}", timing.medical_type or "any", str(len(timing.samples)),
                f"{timing.median_ms:.1f}", f"{timing.p95_ms:.1f}", f"{max(timing.ms()):.1f}", f"{timing.boxes:.1f}",
                f"{geodesic_ms:,.0f}" if unfiltered and geodesic_ms else "—",
                f"{haversine_ms:,.0f}" if unfiltered and haversine_ms else "—",
                f"{geodesic_ms / timing.median_ms:,.0f}×" if unfiltered and geodesic_ms else "—",
                f"{haversine_ms / timing.median_ms:,.0f}×" if unfiltered and haversine_ms else "—",
                f"{timing.agreeing}/{timing.checked}" if timing.checked else "—",
                f"{result.load_s:.1f}",
            ])
    print_table(MAIN_HEADERS, rows, numeric=set(range(len(MAIN_HEADERS))) - {0, 2, 12})
    rows = []
    for result in results:
        for index, b in enumerate(result.brute, 1):
            rows.append([
                result.backend, f"{index}: {b.point[0]:.4f}, {b.point[1]:.4f}", b.point[2], f"{b.nearest_ms:.1f}",
                f"{b.fetch_ms:,.0f}", f"{b.geodesic_ms:,.0f}", f"{b.haversine_ms:,.0f}",
                f"{b.geodesic_scan_ms:,.0f}", f"{b.haversine_scan_ms:,.0f}", f"{b.max_km:.2f}",
                "yes" if b.agrees else "NO",
            ])
    if rows:
        print("Brute-force points:")
        print()
        print_table(BRUTE_HEADERS, rows, numeric=set(range(len(BRUTE_HEADERS))) - {0, 1, 2, 10})
    print("Median ms by where the query point lies:")
    print()
    rows = [[r.backend, t.medical_type or "any", f"{t.median_where('Maoming') or 0:.1f}",
             f"{t.median_where('anywhere') or 0:.1f}"] for r in results for t in r.timings]
    print_table(("backend", "medical_type", "Maoming cluster ms", "anywhere ms"), rows, numeric={2, 3})
    print(run_time(total_s, with_load=True))


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="operating medical institutions")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--queries", type=int, default=50, help="query points")
    parser.add_argument("--brute-points", type=int, default=2,
                        help="query points also answered by the brute-force scan (each takes over a minute)")
    parser.add_argument("--types", default="诊所,护理院",
                        help="medical_type filters to time too (comma-separated; empty for none)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of the box query at the first two points to stderr")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--seed", default="10", help="random seed (same rows on both backends)")
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, without a database")
    args = parser.parse_args(argv)
    args.backends = comma_list(parser, args.backends, BACKENDS, "backend")
    args.types = [t.strip() for t in args.types.split(",") if t.strip()]
    unknown = [t for t in args.types if t not in MEDICAL_TYPE_WEIGHTS]
    if unknown:
        parser.error(f"unknown medical_type: {', '.join(unknown)}")
    if args.rows < 1 or args.queries < 1 or args.brute_points < 0:
        parser.error("--rows and --queries must be at least 1, --brute-points at least 0")
    args.brute_points = min(args.brute_points, args.queries)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", "SECRET_KEY is not set")  # settings.load warns before our key applies
    databases = Scratch(PG_DATABASE, args.backends, args.pg_server, args.keep,
                        sqlite_kept="the SQLite file {folder}/nearby.sqlite3")
    results: list[Result] = []
    try:
        for backend in args.backends:
            progress(f"{backend}: {args.rows:,} medical institutions")
            url = databases.sqlite_url("nearby") if backend == "sqlite" else databases.pg.url
            results.append(run_one(backend, url, args))
    finally:
        databases.close()
    print_tables(results, args, elapsed())
    return 0


if __name__ == "__main__":
    sys.exit(main())

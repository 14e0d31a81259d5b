"""Benchmark: all compliance indicators for one day against a plain aggregate.

Builds a synthetic register at three sizes (city, province, national) on SQLite
and PostgreSQL, times `registry.services.compliance.compute(day)` and the plain
`SELECT region_code, count(*) FROM institutions GROUP BY region_code`, and prints
a table (text and markdown). Progress goes to stderr, the table to stdout.

    .venv/bin/python bench/compliance.py [--sizes city,province,national]
        [--backends sqlite,postgresql] [--runs 5] [--keep] [--explain]

Rows are bulk-inserted (core `insert()` on SQLite, COPY on PostgreSQL), never
through the service layer. PostgreSQL uses its own database, `bench_compliance`
(one schema per size), created and dropped here; nothing else is touched.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    BACKENDS,
    HOSPITAL_TYPES,
    MEDICAL_TYPE_WEIGHTS,
    PG_SERVER,
    REGION_WEIGHTS,
    STAMP,
    UNIT_TYPE_WEIGHTS,
    Scratch,
    analyse_tables,
    chunks,
    comma_list,
    elapsed,
    insert_rows,
    institution_row,
    opening_dates,
    pick,
    print_table,
    progress,
    random_day,
    run_time,
)
from sqlalchemy import event, select, text  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.models import (  # noqa: E402
    Agreement,
    AgreementService,
    Institution,
    Region,
    TrainingRecord,
)
from registry.services import compliance, seeding  # noqa: E402
from registry.vocab import (  # noqa: E402
    ELDERCARE,
    HOME_HOSTING_TYPES,
    MEDICAL,
    OWNERSHIPS,
    REFERRAL_SERVICES,
    SERVICES,
)

DAY = date(2024, 6, 30)
BASELINE_SQL = "SELECT region_code, count(*) FROM institutions GROUP BY region_code"
PG_DATABASE = "bench_compliance"
AIM_RATIO = 10.0
AIM_NATIONAL_MS = 1000.0


@dataclass(frozen=True)
class Size:
    """How many homes, medical institutions (hosted units included) and agreements."""

    name: str
    homes: int
    medical: int
    agreements: int
    training: int = 300


SIZES = {
    s.name: s
    for s in (
        Size("city", 300, 4_000, 600),
        Size("province", 3_000, 60_000, 9_000),
        Size("national", 40_000, 1_000_000, 120_000),
    )
}

# --- the synthetic register (region and type weights in _common) ----------------------------

HOME_UNIT_SHARE = 0.15  # of homes host a medical unit
MEDICAL_HOST_SHARE = 0.03  # of medical institutions host a home
LARGE_SHARE = 0.20  # of homes with 200 beds or more
LARGE_HOST_P = 0.40  # chance that a large home hosts a unit
TERMINATED_SHARE = 0.08
BOTH_REFERRAL_SHARE = 0.5

OPEN_FIRST, OPEN_LAST = date(2000, 1, 1), date(2026, 12, 31)
AGREEMENT_FIRST, AGREEMENT_LAST = date(2018, 1, 1), date(2030, 12, 31)


@dataclass
class Plan:
    """Ids handed out so far and the hosts later rows refer to."""

    size: Size
    regions: list[str]
    rng: random.Random
    next_id: int = 1
    medical_hosts: list[tuple[int, str, date, date | None]] = field(default_factory=list)
    home_hosts: list[tuple[int, str, date, date | None]] = field(default_factory=list)
    free_medical: range = range(0)  # ids of free-standing medical institutions
    homes: list[range] = field(default_factory=list)  # id ranges holding the homes

    @property
    def units(self) -> int:
        return round(self.size.homes * HOME_UNIT_SHARE)

    def region(self) -> str:
        return self.rng.choices(self.regions, weights=REGION_WEIGHTS[: len(self.regions)])[0]

    def _row(self, kind: str, **values: Any) -> dict[str, Any]:
        rng, row_id = self.rng, self.next_id
        self.next_id += 1
        return institution_row(
            row_id, kind, lat=round(rng.uniform(21.5, 22.5), 6), lon=round(rng.uniform(110.5, 111.3), 6),
            ownership=rng.choice(list(OWNERSHIPS)), **values,
        )

    def _home(self, region: str, opened: date, closed: date | None, host_id: int | None = None,
              hosts_unit: bool = False) -> dict[str, Any]:
        rng = self.rng
        # Large homes set up a unit more often; the overall share of large homes stays LARGE_SHARE.
        if hosts_unit:
            p_large = LARGE_HOST_P * LARGE_SHARE / HOME_UNIT_SHARE
        else:
            p_large = (1 - LARGE_HOST_P) * LARGE_SHARE / (1 - HOME_UNIT_SHARE)
        large = rng.random() < p_large
        beds = rng.randint(200, 400) if large else rng.randint(10, 199)
        return self._row(
            ELDERCARE, name=f"【基准】颐康养老院{self.next_id}", region_code=region, opened_on=opened,
            closed_on=closed, beds_total=beds, beds_nursing=rng.randint(0, beds),
            rating=rng.choice(["1星", "2星", "3星", "4星", "5星"]) if rng.random() < 0.3 else None,
            host_id=host_id,
        )

    def _medical(self, medical_type: str, region: str, opened: date, closed: date | None,
                 host_id: int | None = None) -> dict[str, Any]:
        level = self.rng.choice(["一级", "二级", "三级", "未定级"]) if medical_type in HOSPITAL_TYPES else None
        return self._row(
            MEDICAL, name=f"【基准】{medical_type}{self.next_id}", region_code=region, opened_on=opened,
            closed_on=closed, medical_type=medical_type, level=level, host_id=host_id,
        )

    def free_medicals(self) -> Iterator[dict[str, Any]]:
        """Free-standing medical institutions; ~3% of them (hospitals, 卫生院…) host a home."""
        count = self.size.medical - self.units
        hosting_weight = sum(w for t, w in MEDICAL_TYPE_WEIGHTS.items() if t in HOME_HOSTING_TYPES)
        host_p = MEDICAL_HOST_SHARE * sum(MEDICAL_TYPE_WEIGHTS.values()) / hosting_weight
        max_hosts = self.size.homes - self.units  # the homes hosting units are free-standing
        types = self.rng.choices(list(MEDICAL_TYPE_WEIGHTS), weights=list(MEDICAL_TYPE_WEIGHTS.values()),
                                 k=count)
        first = self.next_id
        for medical_type in types:
            opened, closed = opening_dates(self.rng, OPEN_FIRST, OPEN_LAST)
            row = self._medical(medical_type, self.region(), opened, closed)
            if (medical_type in HOME_HOSTING_TYPES and len(self.medical_hosts) < max_hosts
                    and self.rng.random() < host_p):
                self.medical_hosts.append((row["id"], row["region_code"], opened, closed))
            yield row
        self.free_medical = range(first, self.next_id)

    def free_homes(self) -> Iterator[dict[str, Any]]:
        """Homes not set up by a medical institution; 15% of all homes host a unit."""
        count = self.size.homes - len(self.medical_hosts)
        hosting = set(self.rng.sample(range(count), self.units))
        first = self.next_id
        for index in range(count):
            opened, closed = opening_dates(self.rng, OPEN_FIRST, OPEN_LAST)
            row = self._home(self.region(), opened, closed, hosts_unit=index in hosting)
            if index in hosting:
                self.home_hosts.append((row["id"], row["region_code"], opened, closed))
            yield row
        self.homes.append(range(first, self.next_id))

    def hosted(self) -> Iterator[dict[str, Any]]:
        """Units inside homes, then homes set up by medical institutions (hosts are already in)."""
        for host_id, region, host_opened, host_closed in self.home_hosts:
            opened, closed = opening_dates(self.rng, host_opened, OPEN_LAST, host_closed)
            yield self._medical(pick(self.rng, UNIT_TYPE_WEIGHTS), region, opened, closed, host_id)
        first = self.next_id
        for host_id, region, host_opened, host_closed in self.medical_hosts:
            opened, closed = opening_dates(self.rng, host_opened, OPEN_LAST, host_closed)
            yield self._home(region, opened, closed, host_id=host_id)
        self.homes.append(range(first, self.next_id))

    def _any_home(self) -> int:
        index = self.rng.randrange(sum(len(r) for r in self.homes))
        for ids in self.homes:
            if index < len(ids):
                return ids[index]
            index -= len(ids)
        raise AssertionError("unreachable")

    def agreements(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Agreements with their service rows; about half cover both referral services."""
        rng = self.rng
        referral = sorted(REFERRAL_SERVICES)
        others = [s for s in SERVICES if s not in REFERRAL_SERVICES]
        for agreement_id in range(1, self.size.agreements + 1):
            valid_from = random_day(rng, AGREEMENT_FIRST, date(2029, 12, 31))
            valid_to = min(valid_from + timedelta(days=365 * rng.choice((1, 2, 3, 5)) - 1), AGREEMENT_LAST)
            terminated = None
            if rng.random() < TERMINATED_SHARE and valid_to > valid_from:
                terminated = random_day(rng, valid_from + timedelta(days=1), valid_to)
            if rng.random() < BOTH_REFERRAL_SHARE:
                services = referral + rng.sample(others, rng.randint(0, 3))
            else:
                services = rng.sample(others + [rng.choice(referral)], rng.randint(1, 5))
            row = {
                "id": agreement_id, "code": f"XY{agreement_id:08d}", "eldercare_id": self._any_home(),
                "medical_id": rng.choice(self.free_medical),
                "signed_on": valid_from - timedelta(days=rng.randint(0, 30)), "valid_from": valid_from,
                "valid_to": valid_to, "terminated_on": terminated, "visit_frequency": "每周一次",
                "fees": "", "referral_terms": "", "eldercare_duties": "", "medical_duties": "",
                "scan_name": None, "version": 1, "created_at": STAMP, "updated_at": STAMP,
            }
            yield row, [{"agreement_id": agreement_id, "service": s} for s in services]

    def training(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        for record_id in range(1, self.size.training + 1):
            yield {
                "id": record_id, "held_on": random_day(rng, date(2019, 1, 1), date(2026, 12, 31)),
                "organiser": "【基准】市卫生健康局", "region_code": self.region(),
                "medical_nursing": rng.randint(0, 120), "caregivers": rng.randint(0, 120), "note": "",
                "version": 1, "created_at": STAMP, "updated_at": STAMP,
            }


# --- loading --------------------------------------------------------------------------------


def load(plan: Plan, use_copy: bool) -> dict[str, int]:
    """Insert the whole register in chunks (hosts before the units that refer to them)."""
    counts = dict.fromkeys(("institutions", "agreements", "agreement_services", "training"), 0)
    institutions = Institution.__table__
    for phase in (plan.free_medicals, plan.free_homes, plan.hosted):
        for chunk in chunks(phase()):
            insert_rows(institutions, chunk, use_copy)
            db.session.commit()
            counts["institutions"] += len(chunk)
        progress(f"  institutions: {counts['institutions']:,} ({phase.__name__})")
    for chunk in chunks(plan.agreements()):
        insert_rows(Agreement.__table__, [a for a, _ in chunk], use_copy)
        services = [s for _, rows in chunk for s in rows]
        insert_rows(AgreementService.__table__, services, use_copy)
        db.session.commit()
        counts["agreements"] += len(chunk)
        counts["agreement_services"] += len(services)
    for chunk in chunks(plan.training()):
        insert_rows(TrainingRecord.__table__, chunk, use_copy)
        db.session.commit()
        counts["training"] += len(chunk)
    return counts


def analyse(backend: str) -> None:
    """Statistics for the planner (and, on PostgreSQL, the visibility map autovacuum would set)."""
    analyse_tables(
        backend,
        ("institutions", "agreements", "agreement_services", "training_records", "regions", "target_sets",
         "targets"),
        numbered=("institutions", "agreements", "training_records"),  # their ids were given explicitly
    )


# --- timing ---------------------------------------------------------------------------------


def timed(action: Callable[[], Any], runs: int) -> float:
    """Median milliseconds of `runs` runs after one warm-up, each in a fresh session.

    The session's connection is checked out and its transaction begun outside the timing,
    so both measurements cover statements only (and compute()'s Python around them).
    """
    samples = []
    for index in range(runs + 1):
        db.session.remove()
        db.session.connection()
        start = time.perf_counter()
        action()
        elapsed = (time.perf_counter() - start) * 1000
        db.session.rollback()
        if index:
            samples.append(elapsed)
    db.session.remove()
    return statistics.median(samples)


def baseline() -> list[Any]:
    return db.session.execute(text(BASELINE_SQL)).all()


def compute() -> compliance.Report:
    return compliance.compute(DAY)


def capture_statements() -> list[tuple[str, Any]]:
    """The statements one compute() issues, with their driver parameters."""
    captured: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE hook
            captured.append((statement, parameters))

    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        compute()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        db.session.remove()
    return captured


def label(statement: str, index: int, seen: dict[str, int]) -> str:
    """A readable name for a statement compute() issues."""
    lowered = " ".join(statement.split()).lower()
    if "from training_records" in lowered:
        return "trained_in_year"
    if "from agreements" in lowered:
        return "referral_coverage" if "agreement_services" in lowered else "agreement_coverage"
    if "beds_total >=" in lowered:
        return "large_home_medical"
    if "in (select host.id" in lowered:
        return "integrated_with_specialty"
    if " as unit" in lowered:
        seen["hosted"] = seen.get("hosted", 0) + 1
        return ("eldercare_run_medical", "medical_run_eldercare")[min(seen["hosted"], 2) - 1]
    if "from regions" in lowered:
        return "regions"
    if "from target_sets" in lowered:
        return "target set"
    if "from targets" in lowered:
        return "targets"
    return f"statement {index}"


def profile_statements(backend: str, runs: int, explain: bool) -> list[tuple[str, float, int]]:
    """Each statement of compute() re-run alone: (label, median ms, rows); plans when `explain`."""
    results = []
    seen: dict[str, int] = {}
    for index, (statement, parameters) in enumerate(capture_statements(), 1):
        name = label(statement, index, seen)
        rows = 0

        def run(statement=statement, parameters=parameters) -> None:
            nonlocal rows
            rows = len(db.session.connection().exec_driver_sql(statement, parameters).all())

        ms = timed(run, max(1, min(runs, 3)))
        results.append((name, ms, rows))
        if explain:
            show_plan(backend, name, ms, statement, parameters)
    return results


def show_plan(backend: str, name: str, ms: float, statement: str, parameters: Any) -> None:
    progress(f"\n--- {name} ({ms:.1f} ms) ---\n{statement}\n-- parameters: {parameters}")
    with db.engine.connect() as connection:
        if backend == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            depth: dict[int, int] = {0: 0}
            for node, parent, _unused, detail in rows:
                depth[node] = depth.get(parent, 0) + 1
                progress("  " * depth[node] + detail)
        else:
            rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            for (line,) in rows:
                progress(line)
        connection.rollback()


# --- one backend at one size ----------------------------------------------------------------


@dataclass
class Result:
    backend: str
    size: str
    institutions: int
    agreements: int
    baseline_ms: float
    indicators_ms: float
    load_s: float
    statements: list[tuple[str, float, int]]

    @property
    def sql_ms(self) -> float:
        """The statements' own times, summed: what compute() costs beyond its Python."""
        return sum(ms for _, ms, _ in self.statements)

    @property
    def ratio(self) -> float:
        return self.indicators_ms / self.baseline_ms if self.baseline_ms else float("inf")

    @property
    def meets_aim(self) -> bool:
        fast_enough = self.size != "national" or self.indicators_ms < AIM_NATIONAL_MS
        return self.ratio <= AIM_RATIO and fast_enough


def run_one(backend: str, size: Size, url: str, args: argparse.Namespace) -> Result:
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "bench-compliance",
        "SQLALCHEMY_DATABASE_URI": url,
    })
    with app.app_context():
        try:
            db.create_all()
            seeding.load_regions()
            seeding.load_target_sets()
            db.session.commit()
            regions = [r.code for r in db.session.scalars(select(Region).order_by(Region.position))]

            started = time.perf_counter()
            plan = Plan(size, regions, random.Random(f"{args.seed}-{size.name}"))  # noqa: S311
            counts = load(plan, use_copy=backend == "postgresql" and not args.no_copy)
            progress(f"  analysing ({counts['agreement_services']:,} agreement services)")
            analyse(backend)
            load_s = time.perf_counter() - started
            progress(f"  loaded in {load_s:.1f} s")

            report = compute()
            progress("  indicators on " + DAY.isoformat() + ": " + ", ".join(
                f"{key}={_show(report.figure(key, compliance.CITY))}" for key in compliance.INDICATORS
            ))
            base_ms = timed(baseline, args.runs)
            progress(f"  baseline   {base_ms:9.1f} ms")
            indicators_ms = timed(compute, args.runs)
            progress(f"  indicators {indicators_ms:9.1f} ms  ({indicators_ms / base_ms:.1f}×)")
            statements = profile_statements(backend, args.runs, args.explain)
            for name, ms, rows in statements:
                progress(f"    {ms:9.1f} ms  {rows:4d} rows  {name}")
            return Result(backend, size.name, counts["institutions"], counts["agreements"],
                          base_ms, indicators_ms, load_s, statements)
        finally:
            db.session.remove()
            db.engine.dispose()


def _show(figure: compliance.Figure) -> str:
    if figure.denominator is None:
        return str(figure.value)
    value = "—" if figure.value is None else f"{figure.value:.1%}"
    return f"{value} ({figure.numerator}/{figure.denominator})"


# --- output ---------------------------------------------------------------------------------

HEADERS = ("backend", "size", "institutions", "agreements", "baseline ms", "indicators ms", "ratio",
           "aim met", "SQL alone ms", "load s")


def _cells(result: Result) -> list[str]:
    return [
        result.backend, result.size, f"{result.institutions:,}", f"{result.agreements:,}",
        f"{result.baseline_ms:.1f}", f"{result.indicators_ms:.1f}", f"{result.ratio:.1f}×",
        "yes" if result.meets_aim else "NO", f"{result.sql_ms:.1f}", f"{result.load_s:.1f}",
    ]


def print_tables(results: list[Result], total_s: float, runs: int, pg_options: str = "") -> None:
    print(f"compute({DAY.isoformat()}) vs `{BASELINE_SQL}`: median of {runs} runs after 1 warm-up")
    print(f"aim: indicators ≤ {AIM_RATIO:g}× baseline, and < {AIM_NATIONAL_MS:g} ms at national size")
    print("SQL alone: the statements compute() issues, each re-run alone, summed (no ORM/Python work)")
    if pg_options:
        print(f"PostgreSQL connection options: {pg_options}")
    print()
    print_table(HEADERS, [_cells(r) for r in results], numeric=set(range(2, len(HEADERS))) - {7})
    print("Statements of compute(), each re-run alone (median ms):")
    print()
    names = list(dict.fromkeys(name for r in results for name, _, _ in r.statements))
    print("| statement | " + " | ".join(f"{r.backend} {r.size}" for r in results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for name in names:
        cells = []
        for r in results:
            times = [f"{ms:.1f}" for n, ms, _ in r.statements if n == name]
            cells.append(" + ".join(times) or "—")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print(run_time(total_s))


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated: city,province,national")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up (median)")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    parser.add_argument("--explain", action="store_true",
                        help="print each statement's plan (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) to stderr")
    parser.add_argument("--no-copy", action="store_true",
                        help="load PostgreSQL with core inserts instead of COPY")
    parser.add_argument("--seed", default="63", help="random seed (same data on both backends)")
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, without a database")
    parser.add_argument("--pg-options", default="",
                        help='extra libpq options for the app\'s connections, e.g. "-c jit=off"')
    args = parser.parse_args(argv)
    args.sizes = comma_list(parser, args.sizes, SIZES, "size")
    args.backends = comma_list(parser, args.backends, BACKENDS, "backend")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", "SECRET_KEY is not set")  # settings.load warns before our key applies
    databases = Scratch(PG_DATABASE, args.backends, args.pg_server, args.keep,
                        pg_kept="PostgreSQL database {database} (schemas named after the sizes)")
    results: list[Result] = []
    try:
        for size_name in args.sizes:
            size = SIZES[size_name]
            for backend in args.backends:
                progress(f"{backend} {size.name}: {size.homes:,} homes, {size.medical:,} medical, "
                         f"{size.agreements:,} agreements")
                url = databases.url(backend, size.name, args.pg_options)
                results.append(run_one(backend, size, url, args))
    finally:
        databases.close()
    print_tables(results, elapsed(), args.runs, args.pg_options)
    return 0


if __name__ == "__main__":
    sys.exit(main())

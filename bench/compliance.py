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
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

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
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_DATABASE = "bench_compliance"
CHUNK = 20_000
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
BACKENDS = ("sqlite", "postgresql")

# --- the synthetic register -----------------------------------------------------------------

# Weights of the 7 seeded regions, in seeds/regions.csv order (the zones are small).
REGION_WEIGHTS = (22, 20, 22, 18, 14, 2, 2)
# Free-standing medical institutions, roughly as a prefecture's register is made up.
MEDICAL_TYPE_WEIGHTS = {
    "村卫生室": 440, "诊所": 200, "社区卫生服务站": 50, "门诊部": 40, "医务室": 30,
    "卫生院": 35, "综合医院": 40, "社区卫生服务中心": 15, "中医医院": 15, "康复医院": 7,
    "护理院": 5, "老年病医院": 3, "护理站": 5, "其他": 15,
}
# In-house units of homes (养老机构内设医疗机构).
UNIT_TYPE_WEIGHTS = {"医务室": 55, "护理站": 20, "诊所": 15, "护理院": 10}
HOME_UNIT_SHARE = 0.15  # of homes host a medical unit
MEDICAL_HOST_SHARE = 0.03  # of medical institutions host a home
CLOSED_SHARE = 0.10
LARGE_SHARE = 0.20  # of homes with 200 beds or more
LARGE_HOST_P = 0.40  # chance that a large home hosts a unit
TERMINATED_SHARE = 0.08
BOTH_REFERRAL_SHARE = 0.5
HOSPITAL_TYPES = {"综合医院", "中医医院", "康复医院", "老年病医院", "护理院"}

OPEN_FIRST, OPEN_LAST = date(2000, 1, 1), date(2026, 12, 31)
AGREEMENT_FIRST, AGREEMENT_LAST = date(2018, 1, 1), date(2030, 12, 31)
STAMP = datetime(2026, 1, 1)


def _day(rng: random.Random, first: date, last: date) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


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

    def dates(self, first: date = OPEN_FIRST, last: date = OPEN_LAST,
              closed: date | None = None) -> tuple[date, date | None]:
        """Opening day, and a closing day for ~10% (or the host's, when it closed)."""
        rng = self.rng
        opened = _day(rng, first, min(last, closed or last))
        if closed is not None:
            return opened, closed
        if rng.random() < CLOSED_SHARE:
            return opened, opened + timedelta(days=rng.randint(30, 8 * 365))
        return opened, None

    def _row(self, kind: str, **values: Any) -> dict[str, Any]:
        rng, row_id = self.rng, self.next_id
        self.next_id += 1
        prefix = "YL" if kind == ELDERCARE else "YY"
        row = {
            "id": row_id, "code": f"{prefix}{row_id:07d}", "kind": kind, "name": "", "uscc": None,
            "region_code": None, "address": "", "lat": round(rng.uniform(21.5, 22.5), 6),
            "lon": round(rng.uniform(110.5, 111.3), 6), "coord_source": "manual",
            "ownership": rng.choice(list(OWNERSHIPS)), "opened_on": None, "closed_on": None,
            "beds_total": None, "beds_nursing": None, "rating": None, "filing_no": None,
            "medical_type": None, "level": None, "licence_no": None, "two_in_one": False,
            "insurance_applied_on": None, "insurance_designated_on": None, "host_id": None,
            "version": 1, "created_at": STAMP, "updated_at": STAMP,
        }
        row.update(values)
        return row

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
            opened, closed = self.dates()
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
            opened, closed = self.dates()
            row = self._home(self.region(), opened, closed, hosts_unit=index in hosting)
            if index in hosting:
                self.home_hosts.append((row["id"], row["region_code"], opened, closed))
            yield row
        self.homes.append(range(first, self.next_id))

    def hosted(self) -> Iterator[dict[str, Any]]:
        """Units inside homes, then homes set up by medical institutions (hosts are already in)."""
        for host_id, region, host_opened, host_closed in self.home_hosts:
            opened, closed = self.dates(first=host_opened, closed=host_closed)
            yield self._medical(_pick(self.rng, UNIT_TYPE_WEIGHTS), region, opened, closed, host_id)
        first = self.next_id
        for host_id, region, host_opened, host_closed in self.medical_hosts:
            opened, closed = self.dates(first=host_opened, closed=host_closed)
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
            valid_from = _day(rng, AGREEMENT_FIRST, date(2029, 12, 31))
            valid_to = min(valid_from + timedelta(days=365 * rng.choice((1, 2, 3, 5)) - 1), AGREEMENT_LAST)
            terminated = None
            if rng.random() < TERMINATED_SHARE and valid_to > valid_from:
                terminated = _day(rng, valid_from + timedelta(days=1), valid_to)
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
                "id": record_id, "held_on": _day(rng, date(2019, 1, 1), date(2026, 12, 31)),
                "organiser": "【基准】市卫生健康局", "region_code": self.region(),
                "medical_nursing": rng.randint(0, 120), "caregivers": rng.randint(0, 120), "note": "",
                "version": 1, "created_at": STAMP, "updated_at": STAMP,
            }


# --- loading --------------------------------------------------------------------------------


def _chunks(rows: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _insert(table, rows: list[dict[str, Any]], use_copy: bool) -> None:
    """One chunk into `table`: COPY on PostgreSQL, else a core executemany insert."""
    if not rows:
        return
    if not use_copy:
        db.session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def load(plan: Plan, use_copy: bool) -> dict[str, int]:
    """Insert the whole register in chunks (hosts before the units that refer to them)."""
    counts = dict.fromkeys(("institutions", "agreements", "agreement_services", "training"), 0)
    institutions = Institution.__table__
    for phase in (plan.free_medicals, plan.free_homes, plan.hosted):
        for chunk in _chunks(phase()):
            _insert(institutions, chunk, use_copy)
            db.session.commit()
            counts["institutions"] += len(chunk)
        progress(f"  institutions: {counts['institutions']:,} ({phase.__name__})")
    for chunk in _chunks(plan.agreements()):
        _insert(Agreement.__table__, [a for a, _ in chunk], use_copy)
        services = [s for _, rows in chunk for s in rows]
        _insert(AgreementService.__table__, services, use_copy)
        db.session.commit()
        counts["agreements"] += len(chunk)
        counts["agreement_services"] += len(services)
    for chunk in _chunks(plan.training()):
        _insert(TrainingRecord.__table__, chunk, use_copy)
        db.session.commit()
        counts["training"] += len(chunk)
    return counts


def analyse(backend: str) -> None:
    """Statistics for the planner (and, on PostgreSQL, the visibility map autovacuum would set)."""
    db.session.remove()
    with db.engine.connect() as connection:
        if backend == "sqlite":
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
            raw = db.engine.raw_connection()  # autocommit: the app's connect hook sets isolation_level None
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
            return
        for table in ("institutions", "agreements", "training_records"):  # ids were given explicitly
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 - fixed names
            )
        connection.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(
            "VACUUM (ANALYZE) institutions, agreements, agreement_services, training_records, "
            "regions, target_sets, targets"
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
        return "home shares (referral/agreement/large)"
    if "count(distinct" in lowered:
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


# --- databases ------------------------------------------------------------------------------


class Databases:
    """Where each backend's register lives: SQLite files in a temp dir, PostgreSQL schemas."""

    def __init__(self, backends: list[str], pg_server: str, keep: bool, pg_options: str = ""):
        self.keep = keep
        self.pg_options = pg_options
        self.folder = Path(tempfile.mkdtemp(prefix="bench-compliance-")) if "sqlite" in backends else None
        self.pg_server = pg_server.rstrip("/")
        self.admin = None
        if "postgresql" in backends:
            self.admin = create_engine(f"{self.pg_server}/postgres", isolation_level="AUTOCOMMIT")
            self._drop_pg()
            with self.admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{PG_DATABASE}"')
            progress(f"created PostgreSQL database {PG_DATABASE}")

    def url(self, backend: str, size: Size) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.folder / f'{size.name}.sqlite3'}"
        engine = create_engine(f"{self.pg_server}/{PG_DATABASE}")
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{size.name}" CASCADE')
            connection.exec_driver_sql(f'CREATE SCHEMA "{size.name}"')
        engine.dispose()
        options = " ".join(filter(None, (f"-c search_path={size.name}", self.pg_options)))
        return f"{self.pg_server}/{PG_DATABASE}?options={quote(options)}"

    def _drop_pg(self) -> None:
        assert make_url(f"{self.pg_server}/{PG_DATABASE}").database == PG_DATABASE != "test"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')

    def close(self) -> None:
        if self.keep:
            if self.folder:
                progress(f"kept SQLite files in {self.folder}")
            if self.admin:
                progress(f"kept PostgreSQL database {PG_DATABASE} (schemas named after the sizes)")
        else:
            if self.folder:
                shutil.rmtree(self.folder, ignore_errors=True)
            if self.admin:
                self._drop_pg()
        if self.admin:
            self.admin.dispose()


# --- output ---------------------------------------------------------------------------------

_STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


HEADERS = ("backend", "size", "institutions", "agreements", "baseline ms", "indicators ms", "ratio",
           "aim met", "SQL alone ms", "load s")


def _cells(result: Result) -> list[str]:
    return [
        result.backend, result.size, f"{result.institutions:,}", f"{result.agreements:,}",
        f"{result.baseline_ms:.1f}", f"{result.indicators_ms:.1f}", f"{result.ratio:.1f}×",
        "yes" if result.meets_aim else "NO", f"{result.sql_ms:.1f}", f"{result.load_s:.1f}",
    ]


def print_tables(results: list[Result], total_s: float, runs: int, pg_options: str = "") -> None:
    rows = [_cells(r) for r in results]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    numeric = set(range(2, len(HEADERS))) - {7}

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    print(f"compute({DAY.isoformat()}) vs `{BASELINE_SQL}`: median of {runs} runs after 1 warm-up")
    print(f"aim: indicators ≤ {AIM_RATIO:g}× baseline, and < {AIM_NATIONAL_MS:g} ms at national size")
    print("SQL alone: the statements compute() issues, each re-run alone, summed (no ORM/Python work)")
    if pg_options:
        print(f"PostgreSQL connection options: {pg_options}")
    print()
    print(line(HEADERS))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print()
    print("| " + " | ".join(HEADERS) + " |")
    print("|" + "|".join(" --- " if i not in numeric else " ---: " for i in range(len(HEADERS))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
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
    print(f"total run time: {total_s:.0f} s ({total_s / 60:.1f} min)")


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
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for value, known, what in ((args.sizes, SIZES, "size"), (args.backends, BACKENDS, "backend")):
        unknown = [v for v in value if v not in known]
        if unknown:
            parser.error(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", "SECRET_KEY is not set")  # settings.load warns before our key applies
    databases = Databases(args.backends, args.pg_server, args.keep, args.pg_options)
    results: list[Result] = []
    try:
        for size_name in args.sizes:
            size = SIZES[size_name]
            for backend in args.backends:
                progress(f"{backend} {size.name}: {size.homes:,} homes, {size.medical:,} medical, "
                         f"{size.agreements:,} agreements")
                results.append(run_one(backend, size, databases.url(backend, size), args))
    finally:
        databases.close()
    print_tables(results, time.perf_counter() - _STARTED, args.runs, args.pg_options)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmark scripts share: progress lines, tables, scratch databases, the register's mix.

Imported by the scripts in this folder (`import _common` works because a script's own folder
is on sys.path when it runs), after they have put the repository root on sys.path.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Table, create_engine, insert
from sqlalchemy.engine import make_url

from registry.extensions import db
from registry.vocab import ELDERCARE

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
BACKENDS = ("sqlite", "postgresql")
CHUNK = 20_000

# --- progress and the run's figures ---------------------------------------------------------

_STARTED = time.perf_counter()
_LOAD_AT_START = os.getloadavg()[0]


def elapsed() -> float:
    """Seconds since the run started (since this module was first imported)."""
    return time.perf_counter() - _STARTED


def progress(message: str) -> None:
    """`[   12.3s] message` to stderr: the run's clock, then the message."""
    print(f"[{elapsed():7.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> float:
    """The machine's load average over the last minute."""
    return os.getloadavg()[0]


def run_time(total_s: float, with_load: bool = False) -> str:
    """The closing line: the run's length and, `with_load`, how busy the machine was at each end."""
    line = f"total run time: {total_s:.0f} s ({total_s / 60:.1f} min)"
    if with_load:
        line += (f"; load average (1 min) at the start {_LOAD_AT_START:.2f}, at the end {load_average():.2f} "
                 f"on {os.cpu_count()} CPUs")
    return line


def comma_list(parser: argparse.ArgumentParser, value: str, known: Collection[str], what: str) -> list[str]:
    """The comma-separated choices in `value`; a usage error names any that is not in `known`."""
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        parser.error(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})")
    return chosen


# --- tables ---------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Collection[int]) -> None:
    """The table as aligned plain text, then as markdown; the `numeric` columns right-aligned."""
    widths = [max([_width(h), *(_width(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (width - _width(cell))
            padded.append(pad + cell if i in numeric else cell + pad)
        return "  ".join(padded)

    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print()
    print("| " + " | ".join(headers) + " |")
    print("|" + "".join(" ---: |" if i in numeric else " --- |" for i in range(len(headers))))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


# --- scratch databases ----------------------------------------------------------------------


class ScratchDatabase:
    """A PostgreSQL database of the script's own (`bench_…`): an old one dropped, a new one created."""

    def __init__(self, server: str, name: str) -> None:
        self.server = server.rstrip("/")
        self.name = name
        self.url = f"{self.server}/{name}"
        self.admin = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
        self.drop()
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        progress(f"created PostgreSQL database {name}")

    def drop(self) -> None:
        """DROP DATABASE IF EXISTS … WITH (FORCE): only ever the benchmark's own, never `test`."""
        assert self.name.startswith("bench_") and make_url(self.url).database == self.name != "test"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def schema_url(self, schema: str, options: str = "") -> str:
        """A fresh empty `schema` (an old one dropped), and a URL whose search_path is it."""
        engine = create_engine(self.url)
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine.dispose()
        options = " ".join(filter(None, (f"-c search_path={schema}", options)))
        return f"{self.url}?options={quote(options)}"

    def close(self, keep: bool) -> None:
        """Drop the database unless `keep`; release the admin connections."""
        if not keep:
            self.drop()
        self.admin.dispose()


class Scratch:
    """Where a script's registers live: SQLite files in a temporary folder, its own PostgreSQL database.

    `sqlite_kept` and `pg_kept` say what `--keep` leaves behind (`{folder}` and `{database}` filled in).
    """

    def __init__(self, database: str, backends: Collection[str], pg_server: str, keep: bool, *,
                 folder: bool | None = None, sqlite_kept: str = "SQLite files in {folder}",
                 pg_kept: str = "PostgreSQL database {database}") -> None:
        self.keep = keep
        self.sqlite_kept, self.pg_kept = sqlite_kept, pg_kept
        if folder is None:
            folder = "sqlite" in backends
        prefix = database.replace("_", "-") + "-"
        self.folder = Path(tempfile.mkdtemp(prefix=prefix)) if folder else None
        self.pg = ScratchDatabase(pg_server, database) if "postgresql" in backends else None

    def sqlite_url(self, name: str) -> str:
        """The URL of the SQLite file `<name>.sqlite3` in the folder."""
        assert self.folder is not None
        return f"sqlite:///{self.folder / f'{name}.sqlite3'}"

    def url(self, backend: str, name: str, pg_options: str = "") -> str:
        """A fresh database called `name`: a SQLite file, or a PostgreSQL schema."""
        if backend == "sqlite":
            return self.sqlite_url(name)
        assert self.pg is not None
        return self.pg.schema_url(name, pg_options)

    def close(self) -> None:
        """Remove the folder and drop the database, or with `keep` say where they are."""
        if self.keep:
            if self.folder:
                progress("kept " + self.sqlite_kept.format(folder=self.folder))
            if self.pg:
                progress("kept " + self.pg_kept.format(database=self.pg.name))
        elif self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.pg:
            self.pg.close(self.keep)


# --- loading --------------------------------------------------------------------------------


def chunks(rows: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """`rows` in lists of `size` (the last one shorter)."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def insert_rows(table: Table, rows: list[dict[str, Any]], use_copy: bool) -> None:
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


def analyse_tables(backend: str, tables: Sequence[str], numbered: Sequence[str]) -> None:
    """Statistics for the planner (and, on PostgreSQL, the visibility map autovacuum would set).

    `numbered` are the tables whose ids were given explicitly: their sequences move past them.
    """
    db.session.remove()
    if backend == "sqlite":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        raw = db.engine.raw_connection()  # autocommit: the app's connect hook sets isolation_level None
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return
    with db.engine.connect() as connection:
        for table in numbered:
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 - fixed names
            )
        connection.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(tables)}")


# --- the synthetic register -----------------------------------------------------------------

STAMP = datetime(2026, 1, 1)  # created_at / updated_at of every generated row
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
HOSPITAL_TYPES = {"综合医院", "中医医院", "康复医院", "老年病医院", "护理院"}
CLOSED_SHARE = 0.10  # of institutions (not hosted ones) closed at a later date
# Every column of `institutions`, as institution_row leaves it when not told otherwise.
_INSTITUTION: dict[str, Any] = {
    "id": None, "code": None, "kind": None, "name": "", "uscc": None, "region_code": None, "address": "",
    "lat": None, "lon": None, "coord_source": "manual", "ownership": None, "opened_on": None,
    "closed_on": None, "beds_total": None, "beds_nursing": None, "rating": None, "filing_no": None,
    "medical_type": None, "level": None, "licence_no": None, "two_in_one": False,
    "insurance_applied_on": None, "insurance_designated_on": None, "host_id": None, "version": 1,
    "contact_person": "", "phone": "", "note": "", "special_support": False,
    "created_at": STAMP, "updated_at": STAMP,
}


def random_day(rng: random.Random, first: date, last: date) -> date:
    """A day from `first` to `last`, both included."""
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    """One key of `weights`, drawn by its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def opening_dates(rng: random.Random, first: date, last: date,
                  host_closed: date | None = None) -> tuple[date, date | None]:
    """An opening day from `first` to `last` and a closing day.

    A hosted unit or home opens before its host closed and closes with it; others close
    30 days to 8 years after opening, one in ten (CLOSED_SHARE).
    """
    opened = random_day(rng, first, min(last, host_closed or last))
    if host_closed is not None:
        return opened, host_closed
    if rng.random() < CLOSED_SHARE:
        return opened, opened + timedelta(days=rng.randint(30, 8 * 365))
    return opened, None


def institution_row(row_id: int, kind: str, **values: Any) -> dict[str, Any]:
    """An `institutions` row, its id given (code `YL…` for homes, else `YY…`); other columns empty."""
    code = f"{'YL' if kind == ELDERCARE else 'YY'}{row_id:07d}"
    return _INSTITUTION | {"id": row_id, "code": code, "kind": kind} | values

"""Benchmark: importing the exchange format (CSV and xlsx) and a bureau's own workbook against a plain executemany insert.

Builds a synthetic register (100,000 institutions and 20,000 agreements by default),
writes it out with the project's own exporter (`exports.write_csv` / `exports.write_xlsx`)
and as a bureau keeps it (one workbook: homes, medical institutions, agreements, in the
bureaus' words and shapes, hosts and parties named), then, on SQLite and PostgreSQL, each
time on a fresh empty schema: inserts the rows with a plain core `insert()` executemany
(the baseline), imports each file the way the CLI does (read → `imports.plan_reading` →
`imports.apply` → commit) and re-imports the CSV and the bureau workbook into the filled
register. Progress goes to stderr, the tables to stdout.

    .venv/bin/python bench/import.py [--backends sqlite,postgresql]
        [--institutions 100000] [--agreements 20000] [--formats csv,xlsx,bureau] [--profile DIR]

PostgreSQL uses its own database, `bench_import` (one schema per step), created and
dropped here; nothing else is touched. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import ctypes
import gc
import io
import pstats
import random
import resource
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402
from _common import (  # noqa: E402
    BACKENDS,
    HOSPITAL_TYPES,
    MEDICAL_TYPE_WEIGHTS,
    PG_SERVER,
    REGION_WEIGHTS,
    STAMP,
    UNIT_TYPE_WEIGHTS,
    Scratch,
    chunks,
    comma_list,
    elapsed,
    institution_row,
    opening_dates,
    pick,
    print_table,
    progress,
    random_day,
    run_time,
)
from openpyxl.cell import WriteOnlyCell  # noqa: E402
from openpyxl.worksheet.cell_range import CellRange  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.models import (  # noqa: E402
    Agreement,
    AgreementService,
    AuditEvent,
    Institution,
    InstitutionSearchKey,
    Region,
)
from registry.services import imports, name_search, seeding  # noqa: E402
from registry.services.formats import bureau, exchange, exports  # noqa: E402
from registry.vocab import ELDERCARE, HOME_HOSTING_TYPES, LEVELS, MEDICAL, OWNERSHIPS, SERVICES  # noqa: E402
from tests.bureau_corpus import DATE_FORMAT, PERIOD, Grid, Heading, layout  # noqa: E402
from tests.bureau_corpus import Register as BureauSheet  # noqa: E402

# Types that are filed (备案) rather than licensed (执业许可): the synthetic register gives them a filing number.
FILED_TYPES = frozenset({"诊所", "医务室", "护理站"})

PG_DATABASE = "bench_import"
FORMATS = ("csv", "xlsx", "bureau")
REIMPORTED = ("csv", "bureau")  # the formats also re-imported into the register they filled
AIM_RATIO = 5.0
SOURCE = "bench"

# --- the synthetic register (region and type weights as bench/compliance.py, in _common) -----

HOME_SHARE = 0.03  # 3,000 of 100,000 institutions are homes
HOME_UNIT_SHARE = 0.15  # of homes host an in-house medical unit (host_code)
FILING_SHARE = 0.5  # of homes and filed clinics carry a (unique) 备案号
LICENCE_SHARE = 0.3  # of licensed medical institutions carry a (unique) 执业许可证登记号
INSURANCE_SHARE = 0.2  # of medical institutions with 医保定点 dates
LAT, LON = (21.4, 22.6), (110.4, 111.4)
OPEN_FIRST, OPEN_LAST = date(2000, 1, 1), date(2025, 12, 31)
AGREEMENT_FIRST, AGREEMENT_LAST = date(2018, 1, 1), date(2029, 12, 31)
TERMINATED_SHARE = 0.08


def _region_names() -> dict[str, str]:
    """The seeded regions, code → name, in seeds/regions.csv order."""
    with (seeding.SEEDS / "regions.csv").open(encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


@dataclass
class Register:
    """Rows as the tables hold them (ids given), hosts before the units that refer to them."""

    institutions: list[dict[str, Any]] = field(default_factory=list)
    agreements: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)

    @property
    def homes(self) -> int:
        return sum(1 for r in self.institutions if r["kind"] == ELDERCARE)

    @property
    def units(self) -> int:
        return sum(1 for r in self.institutions if r["host_id"] is not None)


def generate(institutions: int, agreements: int, seed: str) -> Register:
    """The synthetic register: homes, their in-house units, free-standing medical, agreements."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    regions = list(_region_names())
    register = Register()
    homes = max(1, round(institutions * HOME_SHARE))
    units = round(homes * HOME_UNIT_SHARE)
    free = institutions - homes - units
    if free < 1:
        raise SystemExit("--institutions is too small for homes, units and medical institutions")

    def row(row_id: int, kind: str, region: str, opened: date, closed: date | None, **values: Any) -> dict:
        return institution_row(
            row_id, kind, region_code=region, address=f"【基准】茂名市某路{row_id}号" if rng.random() < 0.5 else "",
            lat=round(rng.uniform(*LAT), 6), lon=round(rng.uniform(*LON), 6), coord_source="import",
            ownership=rng.choice(list(OWNERSHIPS)), opened_on=opened, closed_on=closed,
        ) | values

    def medical(row_id: int, medical_type: str, region: str, opened: date, closed: date | None,
                host_id: int | None = None) -> dict:
        values: dict[str, Any] = {"name": f"【基准】{medical_type}{row_id}", "medical_type": medical_type,
                                  "host_id": host_id}
        if medical_type in HOSPITAL_TYPES:
            values["level"] = rng.choice(list(LEVELS))
        if medical_type in FILED_TYPES:
            if rng.random() < FILING_SHARE:
                values["filing_no"] = f"医备{row_id:08d}"
        elif rng.random() < LICENCE_SHARE:
            values["licence_no"] = f"PDY{row_id:09d}"
        if rng.random() < INSURANCE_SHARE:
            applied = random_day(rng, opened, opened + timedelta(days=3 * 365))
            values["insurance_applied_on"] = applied
            values["insurance_designated_on"] = applied + timedelta(days=rng.randint(0, 180))
        return row(row_id, MEDICAL, region, opened, closed, **values)

    next_id = 1
    hosts: list[tuple[int, str, date, date | None]] = []
    hosting = set(rng.sample(range(homes), units))
    for index in range(homes):
        region = rng.choices(regions, weights=REGION_WEIGHTS[: len(regions)])[0]
        opened, closed = opening_dates(rng, OPEN_FIRST, OPEN_LAST)
        beds = rng.randint(200, 400) if rng.random() < 0.2 else rng.randint(10, 199)
        register.institutions.append(row(
            next_id, ELDERCARE, region, opened, closed, name=f"【基准】颐康养老院{next_id}",
            beds_total=beds, beds_nursing=rng.randint(0, beds),
            filing_no=f"民养备{next_id:07d}" if rng.random() < FILING_SHARE else None,
        ))
        if index in hosting:
            hosts.append((next_id, region, opened, closed))
        next_id += 1
    home_ids = range(1, next_id)
    for host_id, region, host_opened, host_closed in hosts:
        opened, closed = opening_dates(rng, host_opened, OPEN_LAST, host_closed)
        register.institutions.append(medical(next_id, pick(rng, UNIT_TYPE_WEIGHTS), region, opened, closed,
                                             host_id))
        next_id += 1
    types = rng.choices(list(MEDICAL_TYPE_WEIGHTS), weights=list(MEDICAL_TYPE_WEIGHTS.values()), k=free)
    first_free = next_id
    for medical_type in types:
        region = rng.choices(regions, weights=REGION_WEIGHTS[: len(regions)])[0]
        opened, closed = opening_dates(rng, OPEN_FIRST, OPEN_LAST)
        register.institutions.append(medical(next_id, medical_type, region, opened, closed))
        next_id += 1
    free_ids = range(first_free, next_id)

    services = list(SERVICES)
    closing = {row["id"]: row["closed_on"] for row in register.institutions}
    for agreement_id in range(1, agreements + 1):
        home_id, medical_id = rng.choice(home_ids), rng.choice(free_ids)
        valid_from = random_day(rng, AGREEMENT_FIRST, AGREEMENT_LAST)
        closes = [day for day in (closing[home_id], closing[medical_id]) if day is not None]
        if closes and min(closes) <= valid_from:  # no agreement starts after a party has closed
            valid_from = min(closes) - timedelta(days=rng.randint(1, 365))
        valid_to = valid_from + timedelta(days=365 * rng.choice((1, 2, 3, 5)) - 1)
        terminated = None
        if rng.random() < TERMINATED_SHARE:
            terminated = random_day(rng, valid_from + timedelta(days=1), valid_to)
        register.agreements.append({
            "id": agreement_id, "code": f"XY{agreement_id:08d}", "eldercare_id": home_id,
            "medical_id": medical_id, "signed_on": valid_from - timedelta(days=rng.randint(0, 30)),
            "valid_from": valid_from, "valid_to": valid_to, "terminated_on": terminated,
            "visit_frequency": rng.choice(("每周一次", "每月两次", "")), "fees": rng.choice(("免费", "")),
            "referral_terms": "", "eldercare_duties": "", "medical_duties": "", "scan_name": None,
            "version": 1, "created_at": STAMP, "updated_at": STAMP,
        })
        register.services += [{"agreement_id": agreement_id, "service": s}
                              for s in rng.sample(services, rng.randint(1, 4))]
    return register


def export_files(register: Register, folder: Path) -> tuple[dict[str, dict[str, bytes]], float]:
    """The register written by the project's exporter, per format; and the export's seconds.

    The rows are bulk-inserted into a scratch SQLite database (removed afterwards),
    then exported exactly as `flask registry export` does.
    """
    url = f"sqlite:///{folder / 'scratch.sqlite3'}"
    app = make_app(url)
    with app.app_context():
        try:
            db.create_all()
            seeding.load_regions()
            db.session.commit()
            insert_register(register, chunked=True)
            db.session.commit()
            started = time.perf_counter()
            files = {
                "csv": {
                    "institutions.csv": exports.write_csv(exchange.INSTITUTIONS,
                                                          exports.institution_rows(select(Institution))),
                    "agreements.csv": exports.write_csv(exchange.AGREEMENTS,
                                                        exports.agreement_rows(select(Agreement))),
                },
                "xlsx": {
                    "registry.xlsx": exports.write_xlsx([
                        (exchange.INSTITUTIONS, exports.institution_rows(select(Institution))),
                        (exchange.AGREEMENTS, exports.agreement_rows(select(Agreement))),
                    ]),
                },
            }
            return files, time.perf_counter() - started
        finally:
            db.session.remove()
            db.engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                (folder / f"scratch.sqlite3{suffix}").unlink(missing_ok=True)


def insert_register(register: Register, chunked: bool = False, keys: list[dict] | None = None) -> None:
    """The plain insert: core executemany of the rows, services after their agreements; with `keys`, the
    institutions' search keys too (the rows of `institution_search_keys`, which the database indexes)."""
    for table, rows in ((Institution.__table__, register.institutions),
                        (InstitutionSearchKey.__table__, keys or []),
                        (Agreement.__table__, register.agreements),
                        (AgreementService.__table__, register.services)):
        for chunk in (chunks(rows) if chunked else [rows]):
            db.session.execute(insert(table), chunk)


# --- the same register as bureaus keep it (issue 11) ------------------------------------------
#
# One workbook, three sheets, each laid out by tests/bureau_corpus.py's `layout` (merged title,
# 填报单位 line, 序号, a two-row merged header in the bureaus' words, 合计 row, 填表人 footer, 注)
# and written with openpyxl's write-only mode, row by row (the corpus's own writer keeps every
# cell of the workbook as an object until it saves: 1.5 million of them here).

BUREAU_FILE = "bureau.xlsx"
HOSTED_HOME_SHARE = 0.10  # of homes set up by a hospital, 卫生院 or 社区卫生服务中心 of the file
SHORT_REGIONS = {"440902": "茂南", "440904": "电白", "440981": "高州", "440982": "化州", "440983": "信宜",
                 "440900-BH": "滨海新区", "440900-GX": "高新区"}
OWNERSHIP_WORDS = {"公办": "公立", "民办": "民营"}  # what some staff write instead (bureau_values reads both)
GRADES = ("甲等", "乙等", "")  # after a graded level: 三级甲等
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
HEALTH_FILLER = ("填报单位：茂名市卫生健康局", "填报日期：2026年11月20日")
HEALTH_FOOTER = ("填表人：黄晓云", "审核人：吴建国")

HOME_HEADINGS = (
    Heading("单位名称", "name"), Heading("所在县（市、区）", "region"), Heading("地址", "address"),
    Heading("成立时间", "opened_on"), Heading("核定床位（张）", "beds_total", "床位情况"),
    Heading("其中：护理型床位（张）", "beds_nursing", "床位情况"), Heading("机构性质", "ownership"),
    Heading("举办单位", "host_code"), Heading("是否特困供养机构", "special_support"),
    Heading("备案号", "filing_no"), Heading("停业时间", "closed_on"),
)
MEDICAL_HEADINGS = (
    Heading("机构名称", "name"), Heading("所在县（市、区）", "region"), Heading("机构类别", "medical_type"),
    Heading("医院等级", "level"), Heading("举办单位", "host_code"), Heading("开业时间", "opened_on"),
    Heading("登记号", "licence_no"), Heading("备案号", "filing_no"), Heading("机构性质", "ownership"),
    Heading("地址", "address"), Heading("申请时间", "insurance_applied_on", "医保定点情况"),
    Heading("定点时间", "insurance_designated_on", "医保定点情况"), Heading("两证合一", "two_in_one"),
    Heading("停业时间", "closed_on"),
)
AGREEMENT_HEADINGS = (
    Heading("养老机构名称", "eldercare_code"), Heading("签约医疗卫生机构名称", "medical_code"),
    Heading("签约时间", "signed_on"), Heading("协议有效期", PERIOD),
    Heading("终止时间", "terminated_on"), Heading("服务内容", "services"), Heading("巡诊频次", "visit_frequency"),
    Heading("费用约定", "fees"),
)


class Typed:
    """How staff type a value into their own sheet: each value in one of the several ways they use."""

    def __init__(self, rng: random.Random, regions: dict[str, str]) -> None:
        self.rng, self.regions = rng, regions

    def day(self, day: date | None) -> Any:
        """An Excel date cell, 2019年3月5日, 2019.3.5, 2019/3/5, or ２０１９年３月５日."""
        if day is None:
            return ""
        way = self.rng.random()
        if way < 0.35:
            return day
        if way < 0.65:
            return f"{day.year}年{day.month}月{day.day}日"
        if way < 0.80:
            return f"{day.year}.{day.month}.{day.day}"
        if way < 0.90:
            return f"{day.year}/{day.month}/{day.day}"
        return f"{day.year}年{day.month}月{day.day}日".translate(FULL_WIDTH)

    def beds(self, count: int) -> Any:
        """150, 150张 or １５０张."""
        way = self.rng.random()
        if way < 0.5:
            return count
        return f"{count}张" if way < 0.85 else f"{count}张".translate(FULL_WIDTH)

    def region(self, code: str) -> str:
        """The full name (茂南区) or the short one (茂南, 滨海新区)."""
        return self.regions[code] if self.rng.random() < 0.4 else SHORT_REGIONS[code]

    def ownership(self, ownership: str) -> str:
        return OWNERSHIP_WORDS.get(ownership, ownership) if self.rng.random() < 0.15 else ownership

    def yes_no(self, value: bool) -> str:
        """是 or √; 否 or left empty."""
        return self.rng.choice(("是", "√")) if value else self.rng.choice(("否", ""))

    def level(self, level: str | None) -> str:
        """三级甲等, 二级乙等, 一级, 未定级."""
        if level is None or level == "未定级":
            return level or ""
        return level + self.rng.choice(GRADES)

    def period(self, start: date, end: date) -> str:
        """2021年1月1日至2023年12月31日, or 2021.1.1—2023.12.31."""
        if self.rng.random() < 0.75:
            return f"{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日"
        return f"{start.year}.{start.month}.{start.day}—{end.year}.{end.month}.{end.day}"


def home_hosts(register: Register, rng: random.Random) -> dict[int, int]:
    """Homes set up by a medical institution: home id → an operating, free-standing one of its region."""
    hosts: dict[str, list[int]] = {}
    for row in register.institutions:
        if (row["kind"] == MEDICAL and row["host_id"] is None and row["closed_on"] is None
                and row["medical_type"] in HOME_HOSTING_TYPES):
            hosts.setdefault(row["region_code"], []).append(row["id"])
    homes = [row for row in register.institutions if row["kind"] == ELDERCARE]
    chosen = rng.sample(homes, round(len(homes) * HOSTED_HOME_SHARE))
    return {home["id"]: rng.choice(hosts[home["region_code"]]) for home in chosen if hosts.get(home["region_code"])}


def bureau_sheets(register: Register, seed: str) -> tuple[dict[str, BureauSheet], int]:
    """The register as 民政 and 卫健 keep it, by sheet name; and how many homes name a medical host.

    Homes are grouped by region, a 小计 row after each; hosts and agreement parties are named.
    """
    rng = random.Random(f"bureau-{seed}")  # noqa: S311 - synthetic data
    regions = _region_names()
    typed = Typed(rng, regions)
    names = {row["id"]: row["name"] for row in register.institutions}
    hosts = home_hosts(register, rng)
    order = list(regions)
    homes = sorted((r for r in register.institutions if r["kind"] == ELDERCARE),
                   key=lambda r: order.index(r["region_code"]))
    home_rows: list[tuple[Any, ...]] = []
    for region, group in groupby(homes, key=lambda r: r["region_code"]):
        beds = nursing = 0
        for r in group:
            beds, nursing = beds + r["beds_total"], nursing + r["beds_nursing"]
            special = r["ownership"] == "公办" and rng.random() < 0.4
            home_rows.append((
                r["name"], typed.region(region), r["address"], typed.day(r["opened_on"]), typed.beds(r["beds_total"]),
                typed.beds(r["beds_nursing"]), typed.ownership(r["ownership"]), names.get(hosts.get(r["id"]), ""),
                typed.yes_no(special), r["filing_no"] or "", typed.day(r["closed_on"]),
            ))
        home_rows.append((f"{regions[region]}小计", "", "", "", beds, nursing, "", "", "", "", ""))
    medical_rows = [(
        r["name"], typed.region(r["region_code"]), r["medical_type"], typed.level(r["level"]),
        names.get(r["host_id"], ""), typed.day(r["opened_on"]), r["licence_no"] or "", r["filing_no"] or "",
        typed.ownership(r["ownership"]), r["address"], typed.day(r["insurance_applied_on"]),
        typed.day(r["insurance_designated_on"]), typed.yes_no(r["two_in_one"]), typed.day(r["closed_on"]),
    ) for r in register.institutions if r["kind"] == MEDICAL]
    services: dict[int, list[str]] = {}
    for row in register.services:
        services.setdefault(row["agreement_id"], []).append(row["service"])
    agreement_rows = [(
        names[a["eldercare_id"]], names[a["medical_id"]], typed.day(a["signed_on"]),
        typed.period(a["valid_from"], a["valid_to"]), typed.day(a["terminated_on"]), "、".join(services[a["id"]]),
        a["visit_frequency"], a["fees"],
    ) for a in register.agreements]
    beds = sum(r["beds_total"] for r in homes)
    sheets = {
        "2026年养老机构": BureauSheet(
            title="茂名市养老机构基本情况统计表", kind=ELDERCARE,
            filler=("填报单位（盖章）：茂名市民政局", "填报日期：2026年11月20日"), headings=HOME_HEADINGS,
            rows=tuple(home_rows), total={"核定床位（张）": f"{beds}张",
                                          "其中：护理型床位（张）": sum(r["beds_nursing"] for r in homes)},
            footer=("填表人：张敏", "审核人：李华", "联系电话：0668-2887001"),
            note="注：1. 成立时间以民政部门备案时间为准；2. 特困供养机构在“是否特困供养机构”栏打“√”或填“是”。"),
        "医疗卫生机构": BureauSheet(
            title="茂名市医疗卫生机构基本情况表", kind=MEDICAL, filler=HEALTH_FILLER, headings=MEDICAL_HEADINGS,
            rows=tuple(medical_rows), total={"机构类别": f"{len(medical_rows)}家"}, footer=HEALTH_FOOTER,
            note="注：医院等级按卫生健康部门评审结果填写，未评审的填“未定级”。"),
        "签约情况": BureauSheet(
            title="茂名市养老机构与医疗卫生机构签约服务情况表", kind=None, filler=HEALTH_FILLER,
            headings=AGREEMENT_HEADINGS, rows=tuple(agreement_rows), footer=HEALTH_FOOTER,
            note="注：协议有效期填写起止日期。"),
    }
    return sheets, len(hosts)


def bureau_grid(sheet: BureauSheet) -> Grid:
    """The sheet laid out as the corpus lays it out; a 小计 row gives back the 序号 it was given."""
    grid = layout(sheet)
    number = 0
    for cells in grid.cells[sheet.first_data_row:sheet.first_data_row + len(sheet.rows)]:
        if str(cells[1]).endswith("小计"):
            cells[0] = None
        else:
            number += 1
            cells[0] = number
    return grid


def write_bureau_xlsx(path: Path, sheets: dict[str, BureauSheet]) -> None:
    """The workbook, written row by row (openpyxl write-only): merged ranges, date cells as yyyy/m/d."""
    workbook = openpyxl.Workbook(write_only=True)
    for title, sheet in sheets.items():
        worksheet = workbook.create_sheet(title)
        grid = bureau_grid(sheet)
        for first_row, first_col, last_row, last_col in grid.merges:
            worksheet.merged_cells.add(CellRange(min_row=first_row + 1, min_col=first_col + 1,
                                                 max_row=last_row + 1, max_col=last_col + 1))
        for row in grid.cells:
            worksheet.append([_date_cell(worksheet, value) if isinstance(value, date) else value for value in row])
    workbook.save(path)


def _date_cell(worksheet, day: date) -> WriteOnlyCell:
    cell = WriteOnlyCell(worksheet, value=day)
    cell.number_format = DATE_FORMAT
    return cell


# --- memory ---------------------------------------------------------------------------------


def reset_peak() -> None:
    """Give freed memory back to the system, then reset the process's peak resident set (Linux ≥ 4.0).

    Without the trim, memory an earlier step freed but the allocator kept would be reused unseen,
    and a step's growth would read lower the later it runs (PostgreSQL's baseline grew "+0").
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc only
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def memory_mib(field_name: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) in MiB; ru_maxrss when /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the steps ------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    step: str  # baseline | csv | xlsx | bureau | csv again | bureau again
    institutions: int  # rows written (or looked at, for a re-import)
    agreements: int
    read_s: float | None
    plan_s: float | None
    write_s: float  # apply + commit, or the baseline's insert + commit
    peak_mib: float
    grown_mib: float
    counts: dict[str, dict[str, int]] | None = None
    ratio: float | None = None  # total over the baseline's
    baseline_s: float | None = None  # the same backend's baseline total, for each phase's ratio

    @property
    def total_s(self) -> float:
        return (self.read_s or 0) + (self.plan_s or 0) + self.write_s

    @property
    def rows(self) -> int:
        return self.institutions + self.agreements

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.total_s if self.total_s else float("inf")


def make_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "bench-import", "SQLALCHEMY_DATABASE_URI": url})


def fresh_schema() -> None:
    db.create_all()
    seeding.load_regions()
    db.session.commit()
    db.session.remove()


def table_counts() -> dict[str, int]:
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Institution, Agreement, AgreementService, AuditEvent)}


def search_keys(register: Register) -> list[dict]:
    """The institutions' search keys as the importer writes them (name_search.key_rows), made before the clock."""
    return name_search.key_rows((r["id"], r["name"], r["address"], r["code"], r["uscc"]) for r in register.institutions)


def run_baseline(backend: str, register: Register) -> Result:
    """The same rows into the same tables, the search keys included: every index the register keeps is filled
    by both the baseline and the import; computing the keys (pinyin) counts against the import alone."""
    keys = search_keys(register)
    db.session.remove()
    db.session.connection()  # connection checked out, transaction begun, before the clock starts
    reset_peak()
    before = memory_mib("VmRSS")
    started = time.perf_counter()
    insert_register(register, keys=keys)
    db.session.commit()
    elapsed = time.perf_counter() - started
    peak = memory_mib("VmHWM")
    counts = table_counts()
    db.session.remove()
    if counts["institutions"] != len(register.institutions) or counts["agreements"] != len(register.agreements):
        raise SystemExit(f"baseline wrote {counts}")
    return Result(backend, "baseline", len(register.institutions), len(register.agreements), None, None,
                  elapsed, peak, peak - before)


Reader = Callable[[], bureau.Reading]  # a file read as the CLI reads it, inside the clock


def exchange_reader(files: dict[str, bytes]) -> Reader:
    """The exchange format's CSV files or workbook, each read with `exchange.read_upload`."""
    return lambda: bureau.Reading([sheet for name, data in files.items()
                                   for sheet in exchange.read_upload(data, name)])


def bureau_reader(path: Path) -> Reader:
    """A bureau's own workbook, read with `bureau.read_file` as `flask registry import` reads it (no --kind)."""
    def read() -> bureau.Reading:
        regions = {r.code: r.name for r in db.session.scalars(select(Region))}
        return bureau.read_file(path, None, regions)
    return read


def run_import(backend: str, step: str, read: Reader, profile_dir: Path | None) -> Result:
    """read → plan_reading → apply → commit, as `flask registry import` does; timed in three parts."""
    db.session.remove()
    db.session.connection()
    profiler = cProfile.Profile() if profile_dir else None
    reset_peak()
    before = memory_mib("VmRSS")
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    reading = read()
    read_done = time.perf_counter()
    plan = imports.plan_reading(reading, None)  # names turned into codes, then every row planned
    plan_done = time.perf_counter()
    if not plan.ok:
        db.session.rollback()
        for error in plan.errors[:20]:
            progress(f"    {error}")
        raise SystemExit(f"{backend} {step}: {len(plan.errors):,} errors in the plan, nothing imported")
    counts = imports.apply(plan, None, SOURCE)
    db.session.commit()
    imports.refresh_statistics(counts)  # as the CLI does: ANALYZE on PostgreSQL
    done = time.perf_counter()
    if profiler:
        profiler.disable()
    peak = memory_mib("VmHWM")
    if profiler:
        path = profile_dir / f"import-{backend}-{step.replace(' ', '-')}.prof"
        profiler.dump_stats(path)
        progress(f"    profile written to {path}; top functions by cumulative time:")
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(30)
        progress(buffer.getvalue())
    for warning in plan.warnings:
        progress(f"    warning: {warning[:200]}{'…' if len(warning) > 200 else ''}")
    del plan, reading
    db.session.remove()
    return Result(backend, step, sum(counts["institutions"].values()), sum(counts["agreements"].values()),
                  read_done - started, plan_done - read_done, done - plan_done, peak, peak - before, counts)


def check_written(register: Register, step: str, hosted_homes: int | None) -> None:
    """The tables hold every row of the register; a bureau's homes kept the medical hosts they named."""
    written = table_counts()
    progress(f"    tables after the import: {written}")
    expected = (len(register.institutions), len(register.agreements), len(register.services))
    if (written["institutions"], written["agreements"], written["agreement_services"]) != expected:
        raise SystemExit(f"the {step} import wrote {written}, expected {expected}")
    hosted = select(func.count()).select_from(Institution).where(Institution.host_id.is_not(None))
    units = db.session.scalar(hosted.where(Institution.kind == MEDICAL))
    homes = db.session.scalar(hosted.where(Institution.kind == ELDERCARE))
    if units != register.units or homes != (hosted_homes or 0):
        raise SystemExit(f"the {step} import wrote {units} hosted units and {homes} hosted homes, "
                         f"expected {register.units} and {hosted_homes or 0}")


def run_backend(backend: str, register: Register, readers: dict[str, Reader], hosted_homes: int,
                databases: Scratch, args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []

    def step(name: str, action: Callable[[], Result], keep_open: bool = False):
        app = make_app(databases.url(backend, name.replace(" ", "_")))
        context = app.app_context()
        context.push()
        fresh_schema()
        result = action()
        progress(f"  {backend} {name}: {describe(result)}")
        results.append(result)
        if keep_open:
            return context
        db.session.remove()
        db.engine.dispose()
        context.pop()
        return None

    step("baseline", lambda: run_baseline(backend, register))
    for fmt in args.formats:
        context = step(fmt, lambda fmt=fmt: run_import(backend, fmt, readers[fmt], args.profile),
                       keep_open=fmt in REIMPORTED)
        if context is None:
            continue
        try:
            check_written(register, fmt, hosted_homes if fmt == "bureau" else None)
            # On the import's own connection: the statements psycopg prepared while the tables
            # were empty are still there (the ANALYZE after the import makes them re-plan).
            db.session.remove()
            again = run_import(backend, f"{fmt} again", readers[fmt], args.profile)
            progress(f"  {backend} {fmt} again: {describe(again)}")
            if any(c["create"] or c["update"] for c in again.counts.values()):
                raise SystemExit(f"the {fmt} re-import changed the register: {again.counts}")
            results.append(again)
        finally:
            db.session.remove()
            db.engine.dispose()
            context.pop()
    baseline = results[0].total_s
    for result in results:
        result.ratio = result.total_s / baseline if baseline else None
        result.baseline_s = baseline
    return results


def describe(result: Result) -> str:
    parts = []
    if result.read_s is not None:
        parts.append(f"read {result.read_s:.2f} s, plan {result.plan_s:.2f} s, apply+commit {result.write_s:.2f} s")
    parts.append(f"total {result.total_s:.2f} s, {result.rows_per_s:,.0f} rows/s, "
                 f"peak RSS {result.peak_mib:,.0f} MiB (+{result.grown_mib:,.0f})")
    if result.counts:
        parts.append(" ".join(f"{t}: {c['create']:,} created, {c['update']:,} updated, "
                              f"{c['unchanged']:,} unchanged;" for t, c in result.counts.items()))
    return "; ".join(parts)


# --- output ---------------------------------------------------------------------------------

HEADERS = ("backend", "step", "institutions", "agreements", "read s", "plan s", "apply+commit s", "total s",
           "rows/s", "× baseline", "aim met", "peak RSS MiB")
PHASE_HEADERS = ("backend", "step", "read × baseline", "plan × baseline", "apply+commit × baseline",
                 "total × baseline")
STEP_LABELS = {"baseline": "baseline (executemany)", "csv": "import CSV", "xlsx": "import xlsx",
               "bureau": "import bureau workbook", "csv again": "re-import CSV (unchanged)",
               "bureau again": "re-import bureau workbook (unchanged)"}


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _cells(result: Result) -> list[str]:
    if result.step in FORMATS:
        aim = "yes" if result.ratio is not None and result.ratio <= AIM_RATIO else "NO"
    else:
        aim = "—"
    return [
        result.backend, STEP_LABELS[result.step], f"{result.institutions:,}", f"{result.agreements:,}",
        _seconds(result.read_s), _seconds(result.plan_s), _seconds(result.write_s), _seconds(result.total_s),
        f"{result.rows_per_s:,.0f}", "—" if result.ratio is None else f"{result.ratio:.1f}×", aim,
        f"{result.peak_mib:,.0f} (+{result.grown_mib:,.0f})",
    ]


def _phase_cells(result: Result) -> list[str]:
    def ratio(seconds: float | None) -> str:
        return "—" if seconds is None or not result.baseline_s else f"{seconds / result.baseline_s:.2f}×"

    return [result.backend, STEP_LABELS[result.step], ratio(result.read_s), ratio(result.plan_s),
            ratio(result.write_s), ratio(result.total_s)]


def print_tables(results: list[Result], sizes: dict[str, int], made_s: dict[str, float], register: Register,
                 hosted_homes: int, total_s: float, profiled: bool) -> None:
    print(f"register: {len(register.institutions):,} institutions ({register.homes:,} homes, "
          f"{register.units:,} in-house units), {len(register.agreements):,} agreements, "
          f"{len(register.services):,} agreement services")
    print("files (written by exports.write_csv / write_xlsx in " f"{made_s['export']:.1f} s): "
          + ", ".join(f"{name} {size / 1024 / 1024:.1f} MiB" for name, size in sizes.items() if name != BUREAU_FILE))
    if BUREAU_FILE in sizes:
        print(f"bureau workbook (openpyxl write-only, {made_s['bureau']:.1f} s): {BUREAU_FILE} "
              f"{sizes[BUREAU_FILE] / 1024 / 1024:.1f} MiB; the same register, {hosted_homes:,} of its homes "
              "set up by a medical institution of the file (named as 举办单位)")
    print(f"upload limit MAX_UPLOAD = {ORIGINAL_MAX_UPLOAD / 1024 / 1024:g} MiB, lifted for this run")
    print("rows/s: (institutions + agreements) / total s; × baseline: total s over the baseline's total s "
          f"on the same backend; aim: imports ≤ {AIM_RATIO:g}× baseline")
    print("peak RSS: the process's peak resident set during the step (reset before it), "
          "and in brackets its growth over the resident set at the step's start")
    if profiled:
        print("PROFILED RUN (cProfile on the import steps): import times are inflated")
    print()
    print_table(HEADERS, [_cells(r) for r in results], numeric=set(range(len(HEADERS))) - {0, 1, 10})
    print("each phase's seconds over the same backend's baseline total:")
    print()
    print_table(PHASE_HEADERS, [_phase_cells(r) for r in results if r.step != "baseline"], numeric={2, 3, 4, 5})
    print(run_time(total_s, with_load=True))


# --- main -----------------------------------------------------------------------------------

ORIGINAL_MAX_UPLOAD = exchange.MAX_UPLOAD


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: csv,xlsx,bureau")
    parser.add_argument("--institutions", type=int, default=100_000, help="institutions in the file")
    parser.add_argument("--agreements", type=int, default=20_000, help="agreements in the file")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="profile each import with cProfile: .prof files in DIR, top functions to stderr")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--seed", default="8", help="random seed")
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, without a database")
    parser.add_argument("--pg-database", default=PG_DATABASE,
                        help="the script's own PostgreSQL database (dropped and created), bench_…")
    args = parser.parse_args(argv)
    args.backends = comma_list(parser, args.backends, BACKENDS, "backend")
    args.formats = comma_list(parser, args.formats, FORMATS, "format")
    if args.institutions < 100 or args.agreements < 0:
        parser.error("--institutions must be at least 100 and --agreements at least 0")
    if not args.pg_database.startswith("bench_"):
        parser.error("--pg-database must start with bench_")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", "SECRET_KEY is not set")  # settings.load warns before our key applies
    progress(f"generating {args.institutions:,} institutions and {args.agreements:,} agreements")
    register = generate(args.institutions, args.agreements, args.seed)
    databases = Scratch(args.pg_database, args.backends, args.pg_server, args.keep, folder=True,
                        pg_kept="PostgreSQL database {database} (one schema per step)")
    results: list[Result] = []
    made_s: dict[str, float] = {}
    hosted_homes = 0
    try:
        progress("exporting them through a scratch SQLite database")
        files, made_s["export"] = export_files(register, databases.folder)
        sizes = {name: len(data) for by_name in files.values() for name, data in by_name.items()}
        progress("  " + ", ".join(f"{name} {size:,} bytes" for name, size in sizes.items())
                 + f" in {made_s['export']:.1f} s")
        readers = {fmt: exchange_reader(files[fmt]) for fmt in ("csv", "xlsx")}
        if "bureau" in args.formats:
            progress("writing them as a bureau's own workbook")
            started = time.perf_counter()
            sheets, hosted_homes = bureau_sheets(register, args.seed)
            path = databases.folder / BUREAU_FILE
            write_bureau_xlsx(path, sheets)
            del sheets
            made_s["bureau"] = time.perf_counter() - started
            sizes[BUREAU_FILE] = path.stat().st_size
            readers["bureau"] = bureau_reader(path)
            progress(f"  {BUREAU_FILE} {sizes[BUREAU_FILE]:,} bytes in {made_s['bureau']:.1f} s")
        # A file this large is refused by the upload form (10 MB): lift the limit for this process only.
        exchange.MAX_UPLOAD = bureau.MAX_UPLOAD = max(ORIGINAL_MAX_UPLOAD, *sizes.values())
        for backend in args.backends:
            progress(f"{backend}")
            results += run_backend(backend, register, readers, hosted_homes, databases, args)
    finally:
        exchange.MAX_UPLOAD = bureau.MAX_UPLOAD = ORIGINAL_MAX_UPLOAD
        databases.close()
    print_tables(results, sizes, made_s, register, hosted_homes, elapsed(), bool(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())

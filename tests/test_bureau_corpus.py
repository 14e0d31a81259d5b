"""The bureau corpus itself: its files open as the app reads them, and its cells say what its records say.

The import of these files is tested where the importer reads bureau files; here the reading of a
cell is done by a small reader of the test's own, so a mistake in the corpus shows as a
disagreement between the typed cells and the expected register.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from registry import vocab
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS
from tests import bureau_corpus as corpus

ROOT = Path(__file__).resolve().parents[1]
with (ROOT / "seeds" / "regions.csv").open(encoding="utf-8") as _regions:
    REGION_NAMES = {row["code"]: row["name"] for row in csv.DictReader(_regions)}

SINGLE = [f"{stem}.{suffix}" for stem in corpus.REGISTERS for suffix in ("xlsx", "xls", "csv")]
COMBINED = ["combined.xlsx", "combined.xls"]
# Every (file, sheet, register) the corpus writes.
SHEETS = [(f"{stem}.{suffix}", corpus.SHEET_NAMES[stem], register)
          for stem, register in corpus.REGISTERS.items() for suffix in ("xlsx", "xls", "csv")]
SHEETS += [(name, sheet, register) for name in COMBINED for sheet, register in corpus.COMBINED.items()]


@pytest.fixture(scope="module")
def outdir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("bureaus")
    corpus.write_corpus(directory)
    return directory


def read(path: Path, sheet: str) -> list[list[Any]]:
    """A sheet's cells as the app meets them: calamine for workbooks, GB18030 text for CSV."""
    if path.suffix == ".csv":
        with path.open(encoding="gb18030", newline="") as file:
            return list(csv.reader(file))
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def data_rows(register: corpus.Register, cells: list[list[Any]]) -> list[list[Any]]:
    start = register.first_data_row
    return cells[start:start + len(register.rows)]


# --- the test's own reading of a bureau cell ----------------------------------------------------

DAY = re.compile(r"(\d{4})[年./](\d{1,2})[月./](\d{1,2})日?")
PERIOD_SPLIT = re.compile(r"至|—|－")


def text(cell: Any) -> str:
    return unicodedata.normalize("NFKC", str(cell)).strip()


def day(cell: Any) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) or text(cell).isdigit():  # an Excel serial (as a CSV writes it too)
        return corpus.EXCEL_EPOCH + timedelta(days=int(float(cell)))
    match = DAY.fullmatch(text(cell))
    assert match, f"not a whole date: {cell!r}"
    return date(*map(int, match.groups()))


def region(cell: Any) -> str:
    matches = [code for code, name in REGION_NAMES.items() if text(cell) in name]
    assert len(matches) == 1, f"{cell!r} names {matches}"
    return matches[0]


def level(cell: Any) -> str:
    matches = [name for name in vocab.LEVELS if text(cell).startswith(name)]
    assert len(matches) == 1, f"{cell!r} is not a level"
    return matches[0]


READERS: dict[str, Callable[[Any], Any]] = {
    "text": text, "code_of": text, "date": day, "region": region,
    "int": lambda cell: int(float(text(cell).removesuffix("张"))),
    "bool": lambda cell: {"是": True, "√": True, "否": False}[text(cell)],
    "services": lambda cell: text(cell).split("、"),
}


def understood(register: corpus.Register, row: list[Any]) -> dict[str, Any]:
    """A data row (序号 first) as the exchange format's values; empty cells are absent."""
    table = INSTITUTIONS if register.kind else AGREEMENTS
    record: dict[str, Any] = {"kind": register.kind} if register.kind else {}
    for heading, cell in zip(register.headings, row[1:], strict=True):
        if cell in ("", None):
            continue
        if heading.key == corpus.PERIOD:
            record["valid_from"], record["valid_to"] = map(day, PERIOD_SPLIT.split(text(cell)))
        elif heading.key == "level":
            record["level"] = level(cell)
        else:
            record[heading.key] = READERS[table.column(heading.key).type](cell)
    return record


def expected(register: corpus.Register, row: dict[str, Any]) -> dict[str, Any]:
    """The register's record a data row stands for, found by its name (or its parties)."""
    if register.kind is None:
        return next(a for a in corpus.AGREEMENTS
                    if (a["eldercare_code"], a["medical_code"]) == (row["eldercare_code"], row["medical_code"]))
    return next(r for r in corpus.INSTITUTIONS if r["name"] == row["name"])


# --- the files ----------------------------------------------------------------------------------


def test_the_command_writes_every_file_and_says_so(tmp_path):
    done = subprocess.run([sys.executable, "tests/bureau_corpus.py", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    written = [Path(line) for line in done.stdout.splitlines()]
    assert sorted(p.name for p in written) == sorted(SINGLE + COMBINED)
    assert all(p.parent == tmp_path / "out" and p.stat().st_size > 0 for p in written)


@pytest.mark.parametrize("name", SINGLE[:2] + SINGLE[3:5] + SINGLE[6:8] + COMBINED)
def test_each_workbook_opens_with_calamine_and_names_its_sheets(outdir, name):
    stem = name.split(".")[0]
    sheets = list(corpus.COMBINED) if stem == "combined" else [corpus.SHEET_NAMES[stem]]
    assert CalamineWorkbook.from_path(str(outdir / name)).sheet_names == sheets


@pytest.mark.parametrize("name", [n for n in SINGLE if n.endswith(".csv")])
def test_a_csv_is_gb18030_with_crlf_as_wps_saves_it(outdir, name):
    data = (outdir / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gb18030").startswith(corpus.REGISTERS[name.removesuffix(".csv")].title)
    assert data.count(b"\r\n") == data.count(b"\n") > 5


@pytest.mark.parametrize(("name", "sheet", "register"), SHEETS)
def test_every_cell_reads_back_as_laid_out(outdir, name, sheet, register):
    """Workbooks keep numbers and date cells; CSV holds what a date cell shows; merges keep the first cell."""
    grid = corpus.layout(register).cells
    if name.endswith(".csv"):
        grid = [[corpus.csv_text(cell) for cell in row] for row in grid]
    else:
        grid = [["" if cell is None else cell for cell in row] for row in grid]
    assert read(outdir / name, sheet) == grid


@pytest.mark.parametrize(("name", "sheet", "register"), [s for s in SHEETS if not s[0].endswith(".csv")])
def test_workbooks_hold_real_merged_cells(outdir, name, sheet, register):
    merged = CalamineWorkbook.from_path(str(outdir / name)).get_sheet_by_name(sheet).merged_cell_ranges
    assert sorted(merged) == sorted(((r, c), (r2, c2)) for r, c, r2, c2 in corpus.layout(register).merges)
    assert ((0, 0), (0, register.width - 1)) in merged  # the title spans the table


@pytest.mark.parametrize(("name", "sheet", "register"), SHEETS)
def test_title_and_filler_line_head_every_sheet(outdir, name, sheet, register):
    title, filler, header = read(outdir / name, sheet)[:3]
    assert title[0] == register.title and not any(title[1:])
    assert [cell for cell in filler if cell] == list(register.filler)
    assert filler[0].startswith("填报单位") and filler[-1] == ""
    assert any(str(cell).startswith("填报日期") for cell in filler[1:])
    assert header[0] == "序号"


@pytest.mark.parametrize("name", [n for n in SINGLE if n.startswith("medical")] + COMBINED)
def test_the_insurance_header_is_two_rows_with_its_group_over_both_dates(outdir, name):
    sheet = "Sheet1" if name.startswith("combined") else corpus.SHEET_NAMES["medical"]
    upper, lower = read(outdir / name, sheet)[2:4]
    group = upper.index("医保定点情况")
    assert upper[group + 1] == "" and lower[group:group + 2] == ["申请时间", "定点时间"]
    assert upper[:4] == ["序号", "机构名称", "所在县（市、区）", "机构类别"] and not any(lower[:4])
    if not name.endswith(".csv"):
        merged = CalamineWorkbook.from_path(str(outdir / name)).get_sheet_by_name(sheet).merged_cell_ranges
        assert ((2, group), (2, group + 1)) in merged and ((2, 1), (3, 1)) in merged


@pytest.mark.parametrize(("name", "sheet", "register"), SHEETS)
def test_rows_are_numbered_and_the_footer_follows(outdir, name, sheet, register):
    cells = read(outdir / name, sheet)
    rows = data_rows(register, cells)
    assert [int(float(row[0])) for row in rows] == list(range(1, len(register.rows) + 1))
    after = [cell for row in cells[register.first_data_row + len(rows):] for cell in row if cell]
    assert after[:1] == (["合计"] if register.total else [register.footer[0]])
    assert any(str(cell).startswith("填表人") for cell in after)
    assert any(str(cell).startswith("审核人") for cell in after)
    assert not register.note or after[-1] == register.note


def test_the_home_register_totals_its_beds(outdir):
    cells = read(outdir / "homes.xlsx", corpus.SHEET_NAMES["homes"])
    total = cells[corpus.HOMES_REGISTER.first_data_row + len(corpus.HOMES)]
    beds = [h.key for h in corpus.HOMES_REGISTER.headings].index("beds_total") + 1
    assert total[0] == "合计" and total[beds] == f"{sum(h['beds_total'] for h in corpus.HOMES)}张"
    assert total[beds + 1] == sum(h["beds_nursing"] for h in corpus.HOMES)


# --- the cells and the expected register agree --------------------------------------------------


@pytest.mark.parametrize(("name", "sheet", "register"), SHEETS)
def test_each_row_says_what_its_record_says(outdir, name, sheet, register):
    for row in data_rows(register, read(outdir / name, sheet)):
        record = understood(register, row)
        assert record == expected(register, record)


def test_reading_back_the_xlsx_gives_the_cells_a_bureau_types(outdir):
    cells = read(outdir / "homes.xlsx", corpus.SHEET_NAMES["homes"])
    welfare = next(row for row in cells if row[1] == "茂名市社会福利院")
    assert welfare[2:6] == ["茂南", "茂名市茂南区油城五路18号", "2019年3月15日", "150张"]
    record = corpus.HOMES[0]
    assert (record["region"], record["opened_on"], record["beds_total"]) == ("440902", date(2019, 3, 15), 150)


def test_a_date_cell_shows_in_csv_as_windows_shows_it(outdir):
    def opened(suffix: str) -> Any:
        cells = read(outdir / f"homes.{suffix}", corpus.SHEET_NAMES["homes"])
        return next(row for row in cells if row[1] == "化州市平定镇医养结合养老中心")[4]

    assert (opened("xlsx"), opened("xls"), opened("csv")) == (date(2020, 9, 1), date(2020, 9, 1), "2020/9/1")


@pytest.mark.parametrize("register", corpus.REGISTERS.values())
def test_every_record_is_in_its_own_file(register):
    records = {"homes": corpus.HOMES, "medical": corpus.MEDICAL_INSTITUTIONS, "agreements": corpus.AGREEMENTS}
    stem = next(stem for stem, r in corpus.REGISTERS.items() if r is register)
    assert [expected(register, row) for row in register.keyed_rows()] == list(records[stem])


def test_the_combined_workbook_holds_every_record_once():
    institutions = [row["name"] for r in corpus.COMBINED.values() if r.kind for row in r.keyed_rows()]
    agreements = [row for r in corpus.COMBINED.values() if not r.kind for row in r.keyed_rows()]
    assert sorted(institutions) == sorted(r["name"] for r in corpus.INSTITUTIONS)
    assert len(agreements) == len(corpus.AGREEMENTS)
    assert [row["name"] for row in corpus.IN_HOUSE_REGISTER.keyed_rows()] == list(corpus.IN_HOUSE)


# --- the expected register is one the registry would hold ---------------------------------------


def test_the_kinds_are_the_registrys():
    assert (corpus.ELDERCARE, corpus.MEDICAL) == (vocab.ELDERCARE, vocab.MEDICAL)


@pytest.mark.parametrize("record", corpus.INSTITUTIONS, ids=lambda r: r["name"])
def test_an_institution_holds_the_formats_values(record):
    keys = {c.key for c in INSTITUTIONS.columns if record["kind"] in c.kinds}
    assert set(record) <= keys and set(INSTITUTIONS.required) <= set(record)
    assert record["region"] in REGION_NAMES
    assert record["ownership"] in vocab.OWNERSHIPS
    if record["kind"] == vocab.ELDERCARE:
        assert record["beds_nursing"] <= record["beds_total"]
        assert record.get("rating", "1星") in vocab.RATINGS
    else:
        assert record["medical_type"] in vocab.MEDICAL_TYPES and record["level"] in vocab.LEVELS
        assert record.get("insurance_applied_on", date.min) <= record.get("insurance_designated_on", date.max)
    if "host_code" in record:
        host = next(r for r in corpus.INSTITUTIONS if r["name"] == record["host_code"])
        assert host["kind"] != record["kind"] and host["region"] == record["region"]


def test_the_in_house_clinic_is_named_with_its_host():
    clinic = next(r for r in corpus.MEDICAL_INSTITUTIONS if r["name"] in corpus.IN_HOUSE)
    assert clinic["medical_type"] == "医务室" and clinic["name"].startswith(clinic["host_code"])


def test_names_are_unique():
    names = [r["name"] for r in corpus.INSTITUTIONS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("agreement", corpus.AGREEMENTS, ids=lambda a: a["eldercare_code"])
def test_an_agreement_names_a_home_and_a_medical_institution_open_before_it(agreement):
    assert set(agreement) <= {c.key for c in AGREEMENTS.columns} and set(AGREEMENTS.required) <= set(agreement)
    home = next(r for r in corpus.HOMES if r["name"] == agreement["eldercare_code"])
    medical = next(r for r in corpus.MEDICAL_INSTITUTIONS if r["name"] == agreement["medical_code"])
    assert max(home["opened_on"], medical["opened_on"]) <= agreement["valid_from"] < agreement["valid_to"]
    assert agreement["signed_on"] <= agreement["valid_from"]
    assert set(agreement["services"]) <= set(vocab.SERVICES)


# --- every shape, alone and combined ------------------------------------------------------------

Cell = tuple[corpus.Heading, Any]  # a cell of a data row, with its column's heading
FULL_WIDTH_DIGIT = re.compile("[０-９]")
SHAPES: dict[str, Callable[[Cell], bool]] = {
    "150张": lambda c: bool(re.fullmatch(r"\d+张", str(c[1]))),
    "full-width digits": lambda c: bool(FULL_WIDTH_DIGIT.search(str(c[1]))),
    "是": lambda c: c[1] == "是",
    "否": lambda c: c[1] == "否",
    "√": lambda c: c[1] == "√",
    "2019年3月15日": lambda c: bool(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", str(c[1]))),
    "2019.3.15": lambda c: bool(re.fullmatch(r"\d{4}\.\d{1,2}\.\d{1,2}", str(c[1]))),
    "2019/3/15": lambda c: bool(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", str(c[1]))),
    "date cell": lambda c: isinstance(c[1], date),
    "serial number": lambda c: c[0].key == "opened_on" and isinstance(c[1], int | float),
    "short region name": lambda c: c[0].key == "region" and c[1] in {"茂南", "高州", "滨海新区"},
    "level with grade": lambda c: c[0].key == "level" and str(c[1]).endswith("等"),
    "机构类别 holding 医务室/卫生院": lambda c: c[0].label == "机构类别" and c[1] in {"医务室", "卫生院"},
    "登记号": lambda c: c[0].label == "登记号" and bool(c[1]),
    "host named": lambda c: c[0].key == "host_code" and bool(c[1]),
    "period with 至": lambda c: c[0].key == corpus.PERIOD and "至" in str(c[1]),
    "period with —": lambda c: c[0].key == corpus.PERIOD and "—" in str(c[1]),
    "services with 、": lambda c: c[0].key == "services" and "、" in str(c[1]),
}
HEADERS = ["单位名称", "所在县（市、区）", "开办时间", "床位数（张）", "机构性质", "举办单位", "签约医疗卫生机构名称",
           "协议有效期", "签约时间", "服务内容"]
WORKBOOK_ONLY = {"date cell", "serial number"}  # a CSV holds what the cell shows


def data_cells(outdir: Path, names: list[str]) -> list[Cell]:
    cells = []
    for name, sheet, register in SHEETS:
        if name in names:
            for row in data_rows(register, read(outdir / name, sheet)):
                cells += zip(register.headings, row[1:], strict=True)
    return cells


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("files", ["xlsx", "xls", "csv", "combined.xlsx", "combined.xls"])
def test_every_cell_shape_is_in_the_corpus(outdir, shape, files):
    if files == "csv" and shape in WORKBOOK_ONLY:
        pytest.skip("a CSV holds what a cell shows: a date cell's display, a serial's digits")
    names = [files] if files.startswith("combined") else [n for n in SINGLE if n.endswith(f".{files}")]
    assert any(SHAPES[shape](cell) for cell in data_cells(outdir, names))


@pytest.mark.parametrize("label", HEADERS)
def test_headers_in_other_words_are_in_a_single_file_and_combined(label):
    assert any(label in {h.label for h in r.headings} for r in corpus.REGISTERS.values())
    assert any(label in {h.label for h in r.headings} for r in corpus.COMBINED.values())


def test_sheet_names_are_a_bureaus_not_the_formats():
    assert {"Sheet1", "2023年养老机构"} <= set(corpus.COMBINED)
    assert not {INSTITUTIONS.sheet, AGREEMENTS.sheet} & (set(corpus.COMBINED) | set(corpus.SHEET_NAMES.values()))

"""Bureaus' own spreadsheets (docs/exchange-format.md, issue 11), made by code, and the register behind them.

`HOMES`, `MEDICAL_INSTITUTIONS` and `AGREEMENTS` are the expected register: thirteen synthetic Maoming
records keyed by the exchange format's `Column.key`s (registry/services/formats/columns.py),
with the values as the format holds them (dates, ints, region codes, the fixed vocabularies' terms, services as a
list). The one difference: bureaus name a host and an agreement's parties rather than code
them, so `host_code`, `eldercare_code` and `medical_code` hold the related institution's name.
A key that is absent is a cell left empty. A sheet of these registers has no kind column; its
kind is the sheet's (`Register.kind`).

`REGISTERS` holds the same records as the bureaus type them: 民政's home register, 卫健's
medical register, the in-house units' sheet and 卫健's agreement register, each with its
merged title, 填报单位/填报日期 line, 序号 column, header (one row or two), data, 合计 row,
footer and note. `write_corpus(outdir)` writes them in every shape bureaus circulate; run
`python tests/bureau_corpus.py OUTDIR` to get the files.

Which file covers which shape. Every shape is there alone (homes / medical / agreements, each
as .xlsx, .xls and .csv, one sheet each) and combined (combined.xlsx / combined.xls, sheets
2023年养老机构 = homes, Sheet1 = medical without the in-house unit, 内设医疗机构, Sheet3 = agreements):

  shape                                          single files            combined sheet
  merged title row, 填报单位/填报日期 line, 序号   all                     all
  填表人/审核人 footer                             all                     all
  注： note                                       homes, medical, agr.    2023年养老机构, Sheet3
  合计 row (810张)                                homes                   2023年养老机构
  单位名称, 所在县（市、区）, 开办时间, 床位数（张）,  homes                   2023年养老机构
    机构性质, 举办单位
  two-row merged header 医保定点情况 over 申请时间 / 定点时间
                                                 medical                 Sheet1
  150张, full-width digits (２２０张, １２０)        homes                   2023年养老机构
  是 / 否 / √                                     homes (特困), medical    2023年养老机构, Sheet1
  2019年3月15日, 2019.3.15, 2019/3/15 as text     homes, medical, agr.    2023年养老机构, Sheet1, Sheet3
  Excel date cell (yyyy/m/d; in CSV its display)  homes, medical, agr.    2023年养老机构, Sheet1, Sheet3
  Excel serial number (44214, 21245)              homes, medical          2023年养老机构, Sheet1
  short region names 茂南 / 高州 / 滨海新区 / 化州  homes, medical          all institution sheets
  level with grade (三级甲等, 一级甲等)            medical                 Sheet1
  机构类别 holding 医务室 / 卫生院 (medical type)   medical                 Sheet1, 内设医疗机构
  登记号                                          medical                 Sheet1, 内设医疗机构
  in-house clinic named with its host            medical (举办单位)       内设医疗机构 (设立单位)
  home set up by a 卫生院, host named             homes (举办单位)         2023年养老机构
  parties by name, 签约医疗卫生机构名称            agreements              Sheet3
  协议有效期 in one cell (…至…, 2021.6.1—2024.5.31) agreements             Sheet3
  服务内容 separated by 、                         agreements              Sheet3
  sheet names other than the format's            all (养老机构基本情况…)   all (Sheet1, 2023年养老机构)
  old .xls with merged cells (xlwt)              *.xls                   combined.xls
  GB18030 CSV, CRLF, merged = first cell only    *.csv                   —
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import xlwt

ELDERCARE, MEDICAL = "eldercare", "medical"  # registry.vocab's kinds; the script runs without the app
DATE_FORMAT = "yyyy/m/d"  # how a date cell shows on Chinese Windows, and so what WPS writes to CSV
CSV_ENCODING = "gb18030"
EXCEL_EPOCH = date(1899, 12, 30)


def excel_serial(day: date) -> int:
    """The number Excel stores for a day: what a date cell shows when its format is General."""
    return (day - EXCEL_EPOCH).days


# --- the expected register --------------------------------------------------------------------

HOMES: tuple[dict[str, Any], ...] = (
    {"kind": ELDERCARE, "name": "茂名市社会福利院", "region": "440902", "address": "茂名市茂南区油城五路18号",
     "opened_on": date(2019, 3, 15), "beds_total": 150, "beds_nursing": 90, "ownership": "公办",
     "special_support": True, "rating": "3星", "contact_person": "陈丽娟", "phone": "0668-2281234"},
    {"kind": ELDERCARE, "name": "高州市颐康养老院", "region": "440981", "address": "高州市石仔岭街道文明路66号",
     "opened_on": date(2016, 8, 1), "beds_total": 220, "beds_nursing": 120, "ownership": "民办",
     "special_support": False, "contact_person": "梁志强", "phone": "13802960123"},
    {"kind": ELDERCARE, "name": "茂名滨海新区博贺镇敬老院", "region": "440900-BH", "address": "茂名滨海新区博贺镇新港路3号",
     "opened_on": date(2012, 5, 20), "beds_total": 60, "beds_nursing": 20, "ownership": "公办",
     "special_support": True},
    {"kind": ELDERCARE, "name": "化州市平定镇医养结合养老中心", "region": "440982", "address": "化州市平定镇平定大道12号",
     "opened_on": date(2020, 9, 1), "beds_total": 80, "beds_nursing": 40, "ownership": "公建民营",
     "host_code": "化州市平定镇卫生院", "note": "卫生院内设"},
    {"kind": ELDERCARE, "name": "茂名市电白区康乐颐养院", "region": "440904", "address": "茂名市电白区水东街道海滨三路9号",
     "opened_on": date(2021, 1, 18), "beds_total": 300, "beds_nursing": 200, "ownership": "民办公助",
     "special_support": False, "rating": "4星", "phone": "0668-5123456"},
)

MEDICAL_INSTITUTIONS: tuple[dict[str, Any], ...] = (
    {"kind": MEDICAL, "name": "高州市人民医院", "region": "440981", "medical_type": "综合医院", "level": "三级",
     "opened_on": date(1950, 6, 1), "licence_no": "45617893844098111A1001", "ownership": "公办",
     "insurance_applied_on": date(2001, 3, 1), "insurance_designated_on": date(2001, 7, 1),
     "two_in_one": False},
    {"kind": MEDICAL, "name": "茂名市中医院", "region": "440902", "medical_type": "中医医院", "level": "三级",
     "opened_on": date(1956, 5, 1), "licence_no": "45617552244090211A2101", "ownership": "公办",
     "insurance_applied_on": date(2000, 12, 1), "insurance_designated_on": date(2001, 1, 1),
     "two_in_one": False},
    {"kind": MEDICAL, "name": "化州市平定镇卫生院", "region": "440982", "medical_type": "卫生院", "level": "一级",
     "opened_on": date(1958, 3, 1), "licence_no": "45618120144098212B1001", "ownership": "公办",
     "insurance_applied_on": date(2010, 4, 1), "insurance_designated_on": date(2010, 6, 30),
     "two_in_one": True},
    {"kind": MEDICAL, "name": "高州市颐康养老院医务室", "region": "440981", "medical_type": "医务室", "level": "未定级",
     "opened_on": date(2016, 9, 1), "licence_no": "PDY60113344098117C2201", "ownership": "民办",
     "host_code": "高州市颐康养老院", "insurance_applied_on": date(2019, 4, 15), "two_in_one": False},
    {"kind": MEDICAL, "name": "茂名市茂南区新华街道社区卫生服务中心", "region": "440902",
     "medical_type": "社区卫生服务中心", "level": "一级", "opened_on": date(2010, 11, 8),
     "licence_no": "45617744844090213B1002", "ownership": "公办"},
)

AGREEMENTS: tuple[dict[str, Any], ...] = (
    {"eldercare_code": "茂名市社会福利院", "medical_code": "茂名市中医院", "signed_on": date(2020, 12, 20),
     "valid_from": date(2021, 1, 1), "valid_to": date(2023, 12, 31),
     "services": ["健康管理", "疾病诊治", "双向转诊"], "visit_frequency": "每周1次"},
    {"eldercare_code": "茂名滨海新区博贺镇敬老院", "medical_code": "茂名市茂南区新华街道社区卫生服务中心",
     "signed_on": date(2021, 5, 20), "valid_from": date(2021, 6, 1), "valid_to": date(2024, 5, 31),
     "services": ["上门巡诊", "健康管理", "急救"], "visit_frequency": "每月2次"},
    {"eldercare_code": "茂名市电白区康乐颐养院", "medical_code": "高州市人民医院", "signed_on": date(2021, 2, 26),
     "valid_from": date(2021, 3, 1), "valid_to": date(2026, 2, 28),
     "services": ["双向转诊", "预约就诊绿色通道", "远程医疗"], "fees": "免费"},
)

INSTITUTIONS: tuple[dict[str, Any], ...] = HOMES + MEDICAL_INSTITUTIONS


# --- the registers as bureaus type them ---------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A data column of a bureau sheet: its header, the exchange key it holds, the header above it."""

    label: str
    key: str
    group: str = ""  # the merged header over it in a two-row header (医保定点情况)


@dataclass(frozen=True)
class Register:
    """One bureau sheet: title, 填报 line, headings (序号 comes first), rows, 合计 row, footer, note."""

    title: str
    kind: str | None  # the kind of the institutions it lists; None for agreements
    filler: tuple[str, str]  # 填报单位…, 填报日期…
    headings: tuple[Heading, ...]
    rows: tuple[tuple[Any, ...], ...]  # one cell per heading; a date is a date cell
    total: Mapping[str, Any] = field(default_factory=dict)  # heading label → the 合计 row's cell
    footer: tuple[str, ...] = ()  # 填表人…, 审核人…: one row, spread over the width
    note: str = ""  # 注：… under the footer, merged across the width

    @property
    def header_height(self) -> int:
        """One header row, or two when a heading sits under a merged group."""
        return 2 if any(h.group for h in self.headings) else 1

    @property
    def width(self) -> int:
        """Columns, 序号 included."""
        return len(self.headings) + 1

    @property
    def first_data_row(self) -> int:
        """0-based: below the title, the 填报 line and the header."""
        return 2 + self.header_height

    def keyed_rows(self) -> list[dict[str, Any]]:
        """Each data row as {exchange key: cell as typed}."""
        keys = [h.key for h in self.headings]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


HOMES_REGISTER = Register(
    title="茂名市养老机构基本情况统计表",
    kind=ELDERCARE,
    filler=("填报单位（盖章）：茂名市民政局", "填报日期：2024年1月10日"),
    headings=(
        Heading("单位名称", "name"), Heading("所在县（市、区）", "region"), Heading("地址", "address"),
        Heading("开办时间", "opened_on"), Heading("床位数（张）", "beds_total"),
        Heading("护理型床位数（张）", "beds_nursing"), Heading("机构性质", "ownership"),
        Heading("举办单位", "host_code"), Heading("是否特困供养机构", "special_support"),
        Heading("等级评定", "rating"), Heading("联系人", "contact_person"), Heading("联系电话", "phone"),
        Heading("备注", "note"),
    ),
    rows=(
        ("茂名市社会福利院", "茂南", "茂名市茂南区油城五路18号", "2019年3月15日", "150张", "90张", "公办", "",
         "是", "3星", "陈丽娟", "0668-2281234", ""),
        ("高州市颐康养老院", "高州", "高州市石仔岭街道文明路66号", "2016.8.1", "２２０张", "１２０", "民办", "",
         "否", "", "梁志强", "13802960123", ""),
        ("茂名滨海新区博贺镇敬老院", "滨海新区", "茂名滨海新区博贺镇新港路3号", "2012/5/20", 60, 20, "公办", "",
         "√", "", "", "", ""),
        ("化州市平定镇医养结合养老中心", "化州市", "化州市平定镇平定大道12号", date(2020, 9, 1), "80张", 40,
         "公建民营", "化州市平定镇卫生院", "", "", "", "", "卫生院内设"),
        ("茂名市电白区康乐颐养院", "电白", "茂名市电白区水东街道海滨三路9号", excel_serial(date(2021, 1, 18)),
         "300张", "200张", "民办公助", "", "否", "4星", "", "0668-5123456", ""),
    ),
    total={"床位数（张）": "810张", "护理型床位数（张）": 470},
    footer=("填表人：张敏", "审核人：李华", "联系电话：0668-2887001"),
    note="注：1. 开办时间以民政部门备案时间为准；2. 床位数含护理型床位；3. 特困供养机构在“是否特困供养机构”栏打“√”或填“是”。",
)

_MEDICAL_HEADINGS = (
    Heading("机构名称", "name"), Heading("所在县（市、区）", "region"), Heading("机构类别", "medical_type"),
    Heading("医院等级", "level"), Heading("举办单位", "host_code"), Heading("开业时间", "opened_on"),
    Heading("登记号", "licence_no"), Heading("机构性质", "ownership"),
    Heading("申请时间", "insurance_applied_on", "医保定点情况"),
    Heading("定点时间", "insurance_designated_on", "医保定点情况"),
    Heading("两证合一", "two_in_one"),
)
_MEDICAL_ROWS = {
    "高州市人民医院": ("高州市人民医院", "高州市", "综合医院", "三级甲等", "", "1950年6月1日",
                "45617893844098111A1001", "公办", "2001.3.1", date(2001, 7, 1), "否"),
    "茂名市中医院": ("茂名市中医院", "茂南区", "中医医院", "三级甲等", "", date(1956, 5, 1),
               "45617552244090211A2101", "公办", "2000/12/1", "2001年1月1日", "否"),
    "化州市平定镇卫生院": ("化州市平定镇卫生院", "化州", "卫生院", "一级甲等", "", excel_serial(date(1958, 3, 1)),
                  "45618120144098212B1001", "公办", "2010.4.1", "2010.6.30", "是"),
    "高州市颐康养老院医务室": ("高州市颐康养老院医务室", "高州", "医务室", "未定级", "高州市颐康养老院", "2016.9.1",
                    "PDY60113344098117C2201", "民办", "2019年4月15日", "", "否"),
    "茂名市茂南区新华街道社区卫生服务中心": ("茂名市茂南区新华街道社区卫生服务中心", "茂南", "社区卫生服务中心", "一级", "",
                          "2010/11/8", "45617744844090213B1002", "公办", "", "", ""),
}
_MEDICAL_FILLER = ("填报单位：茂名市卫生健康局", "填报日期：2024年1月12日")
_MEDICAL_FOOTER = ("填表人：黄晓云", "审核人：吴建国")
IN_HOUSE = ("高州市颐康养老院医务室",)  # the units set up inside a home

MEDICAL_REGISTER = Register(
    title="茂名市医疗卫生机构基本情况表",
    kind=MEDICAL,
    filler=_MEDICAL_FILLER,
    headings=_MEDICAL_HEADINGS,
    rows=tuple(_MEDICAL_ROWS.values()),
    footer=_MEDICAL_FOOTER,
    note="注：医院等级按卫生健康部门评审结果填写，未评审的填“未定级”。",
)
# The combined workbook keeps the in-house units on a sheet of their own.
HOSPITALS_REGISTER = Register(
    title="茂名市医疗卫生机构基本情况表",
    kind=MEDICAL,
    filler=_MEDICAL_FILLER,
    headings=_MEDICAL_HEADINGS,
    rows=tuple(row for name, row in _MEDICAL_ROWS.items() if name not in IN_HOUSE),
    footer=_MEDICAL_FOOTER,
)
IN_HOUSE_REGISTER = Register(
    title="养老机构内设医疗机构情况表",
    kind=MEDICAL,
    filler=_MEDICAL_FILLER,
    headings=(
        Heading("机构名称", "name"), Heading("设立单位", "host_code"), Heading("所在县（市、区）", "region"),
        Heading("机构类别", "medical_type"), Heading("医院等级", "level"), Heading("开业时间", "opened_on"),
        Heading("登记号", "licence_no"), Heading("机构性质", "ownership"),
        Heading("医保定点申请时间", "insurance_applied_on"), Heading("两证合一", "two_in_one"),
    ),
    rows=(("高州市颐康养老院医务室", "高州市颐康养老院", "高州", "医务室", "未定级", "2016.9.1",
           "PDY60113344098117C2201", "民办", "2019年4月15日", "否"),),
    footer=_MEDICAL_FOOTER,
)

PERIOD = "valid_from/valid_to"  # the key of a heading holding both ends of an agreement's period
AGREEMENTS_REGISTER = Register(
    title="茂名市养老机构与医疗卫生机构签约服务情况表",
    kind=None,
    filler=_MEDICAL_FILLER,
    headings=(
        Heading("养老机构名称", "eldercare_code"), Heading("签约医疗卫生机构名称", "medical_code"),
        Heading("签约时间", "signed_on"), Heading("协议有效期", PERIOD),
        Heading("服务内容", "services"), Heading("巡诊频次", "visit_frequency"), Heading("费用约定", "fees"),
    ),
    rows=(
        ("茂名市社会福利院", "茂名市中医院", "2020.12.20", "2021年1月1日至2023年12月31日",
         "健康管理、疾病诊治、双向转诊", "每周1次", ""),
        ("茂名滨海新区博贺镇敬老院", "茂名市茂南区新华街道社区卫生服务中心", date(2021, 5, 20), "2021.6.1—2024.5.31",
         "上门巡诊、健康管理、急救", "每月2次", ""),
        ("茂名市电白区康乐颐养院", "高州市人民医院", "2021/2/26", "2021年3月1日至2026年2月28日",
         "双向转诊、预约就诊绿色通道、远程医疗", "", "免费"),
    ),
    footer=_MEDICAL_FOOTER,
    note="注：协议有效期填写起止日期。",
)
REGISTERS = {"homes": HOMES_REGISTER, "medical": MEDICAL_REGISTER, "agreements": AGREEMENTS_REGISTER}
# Each single file's one sheet, and the combined workbook's sheets, by sheet name.
SHEET_NAMES = {"homes": "养老机构基本情况", "medical": "医疗机构", "agreements": "签约情况"}
COMBINED = {"2023年养老机构": HOMES_REGISTER, "Sheet1": HOSPITALS_REGISTER,
            "内设医疗机构": IN_HOUSE_REGISTER, "Sheet3": AGREEMENTS_REGISTER}


# --- laying a register out on a grid ------------------------------------------------------------


@dataclass
class Grid:
    """A sheet's cells (None = empty) and its merged ranges (first row, first col, last row, last col)."""

    cells: list[list[Any]]
    merges: list[tuple[int, int, int, int]]


def _spread(width: int, parts: int) -> list[tuple[int, int]]:
    """Split columns 0..width-1 into `parts` consecutive spans as even as they come."""
    bounds = [round(i * width / parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(parts)]


def layout(register: Register) -> Grid:
    """Place a register's title, 填报 line, header, rows, 合计, footer and note, merging as bureaus do."""
    width = register.width
    cells: list[list[Any]] = []
    merges: list[tuple[int, int, int, int]] = []

    def row_of(spans: Sequence[tuple[tuple[int, int], Any]]) -> None:
        """A row of cells, each merged across its span of columns."""
        row: list[Any] = [None] * width
        for (first, last), value in spans:
            row[first] = value
            if last > first:
                merges.append((len(cells), first, len(cells), last))
        cells.append(row)

    row_of([((0, width - 1), register.title)])
    row_of(list(zip(_spread(width, 2), register.filler, strict=True)))
    top = len(cells)
    headings = [Heading("序号", ""), *register.headings]
    if register.header_height == 1:
        cells.append([h.label for h in headings])
    else:
        upper: list[Any] = [None] * width
        lower: list[Any] = [None] * width
        for column, heading in enumerate(headings):
            if not heading.group:
                upper[column] = heading.label
                merges.append((top, column, top + 1, column))
            elif column == 0 or headings[column - 1].group != heading.group:
                span = sum(1 for h in headings[column:] if h.group == heading.group)
                upper[column] = heading.group
                merges.append((top, column, top, column + span - 1))
            if heading.group:
                lower[column] = heading.label
        cells += [upper, lower]
    for number, row in enumerate(register.rows, start=1):
        cells.append([number, *(value if value != "" else None for value in row)])
    if register.total:
        total: list[Any] = [None] * width
        total[0] = "合计"
        merges.append((len(cells), 0, len(cells), 1))
        for column, heading in enumerate(headings):
            if heading.label in register.total:
                total[column] = register.total[heading.label]
        cells.append(total)
    if register.footer:
        row_of(list(zip(_spread(width, len(register.footer)), register.footer, strict=True)))
    if register.note:
        row_of([((0, width - 1), register.note)])
    return Grid(cells, merges)


# --- writing the shapes -------------------------------------------------------------------------


def write_xlsx(path: Path, sheets: Mapping[str, Register]) -> Path:
    """A workbook (openpyxl) with one sheet per register, real merged cells and date cells."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, register in sheets.items():
        sheet = workbook.create_sheet(name)
        grid = layout(register)
        for r, row in enumerate(grid.cells, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    target = sheet.cell(row=r, column=c, value=value)
                    if isinstance(value, date):
                        target.number_format = DATE_FORMAT
        for first_row, first_col, last_row, last_col in grid.merges:
            sheet.merge_cells(start_row=first_row + 1, start_column=first_col + 1,
                              end_row=last_row + 1, end_column=last_col + 1)
    workbook.save(path)
    return path


def write_xls(path: Path, sheets: Mapping[str, Register]) -> Path:
    """An old .xls workbook (xlwt, BIFF8) with the same sheets, merges and date cells."""
    workbook = xlwt.Workbook(encoding="utf-8")
    dated = xlwt.easyxf(num_format_str=DATE_FORMAT)
    for name, register in sheets.items():
        sheet = workbook.add_sheet(name)
        grid = layout(register)
        merged = {(r, c): (r2, c2) for r, c, r2, c2 in grid.merges}
        for r, row in enumerate(grid.cells):
            for c, value in enumerate(row):
                style = dated if isinstance(value, date) else xlwt.Style.default_style
                if (r, c) in merged:
                    last_row, last_col = merged[(r, c)]
                    sheet.write_merge(r, last_row, c, last_col, value if value is not None else "", style)
                elif value is not None:
                    sheet.write(r, c, value, style)
    workbook.save(str(path))
    return path


def csv_text(value: Any) -> str:
    """A cell as WPS writes it to CSV: a date cell as it shows (2020/9/1), a number as typed."""
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value.year}/{value.month}/{value.day}"
    return str(value)


def write_csv(path: Path, register: Register) -> Path:
    """A GB18030 CSV with CRLF lines, as WPS saves it: a merged range keeps its value in the first cell."""
    with path.open("w", encoding=CSV_ENCODING, newline="") as out:
        csv.writer(out).writerows([csv_text(v) for v in row] for row in layout(register).cells)
    return path


def write_corpus(outdir: Path) -> list[Path]:
    """Write every register as .xlsx, .xls and .csv, and the combined workbook as .xlsx and .xls."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, register in REGISTERS.items():
        sheets = {SHEET_NAMES[stem]: register}
        written += [write_xlsx(outdir / f"{stem}.xlsx", sheets), write_xls(outdir / f"{stem}.xls", sheets),
                    write_csv(outdir / f"{stem}.csv", register)]
    written += [write_xlsx(outdir / "combined.xlsx", COMBINED), write_xls(outdir / "combined.xls", COMBINED)]
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write the corpus into OUTDIR and print each file's path."""
    parser = argparse.ArgumentParser(description="Write bureau-shaped spreadsheets (docs/exchange-format.md) into OUTDIR.")
    parser.add_argument("outdir", type=Path)
    for path in write_corpus(parser.parse_args(argv).outdir):
        print(path)


if __name__ == "__main__":
    main()

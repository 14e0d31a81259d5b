"""The exchange format (docs/exchange-format.md): the columns, and reading and writing their cells.

Staff keep these registers in spreadsheets, so the same two tables go in and out
as .xlsx (one sheet per table) or .csv (one file per table). Headers may be the
English key or the Chinese label; exports write the Chinese label.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from defusedxml.ElementTree import ParseError, fromstring
from flask import current_app
from flask_babel import format_number
from flask_babel import gettext as _

from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS, NO, TABLES, YES, Column, Table
from registry.services.formats.spreadsheets import unescape
from registry.vocab import ELDERCARE, MEDICAL, SERVICES

KIND_VALUES = {ELDERCARE: ELDERCARE, MEDICAL: MEDICAL, "养老机构": ELDERCARE, "医疗卫生机构": MEDICAL,
               "医疗机构": MEDICAL}
SERVICE_SEPARATORS = re.compile(r"[;；、]")
TRUE_WORDS = {YES, "√", "yes", "y", "true", "1"}
FALSE_WORDS = {NO, "×", "no", "n", "false", "0"}

MAX_UPLOAD = 10 * 1024 * 1024
MAX_XLSX_MEMBERS = 200
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
# calamine builds a sheet's full grid, from A1 to its last cell, before giving one row.
MAX_XLSX_COLUMNS = 200
XLSX_SPARE_ROWS = 10_000  # blank rows a sheet may hold beyond MAX_IMPORT_ROWS


class FileRefused(Exception):
    """A file that is not read at all (too large, not what its name says, a zip bomb)."""


@dataclass
class Sheet:
    """The raw cells of one table as read from a file; row numbers count the header as 1."""

    table: Table
    source: str  # how errors name it: "institutions.csv" or "工作表“机构”"
    header: list[Any]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # key → the header the user sees, when not the label
    key: str = ""  # the sheet's title (a CSV file: its name), as corrections name it
    positions: dict[str, int] = field(default_factory=dict)  # key → the file's column, when the rows were converted
    raw: dict[int, list[Any]] = field(default_factory=dict)  # row → the file's cells, when the rows were converted

    def label(self, column: Column) -> str:
        """How errors name a column: the header as the file shows it."""
        return self.labels.get(column.key, column.label)

    def original(self, number: int, row: list[Any]) -> list[Any]:
        """The row's cells as the file holds them (`row` itself unless the sheet was converted)."""
        return self.raw.get(number, row) if self.raw else row

    def keep(self, numbered: Iterable[tuple[int, list[Any]]]) -> None:
        """Keep the non-empty rows; refuse the file as soon as they pass MAX_IMPORT_ROWS.

        A text or a day that recurs in a column (a region, a type, 是, a date) is kept once: each cell
        read is an object of its own, and a 100,000-row register held them a dozen times a row.
        """
        limit = current_app.config["MAX_IMPORT_ROWS"]
        shared = _SharedCells()
        for number, row in numbered:
            if any(cell is not None and str(cell).strip() for cell in row):
                if len(self.rows) == limit:
                    raise FileRefused(_("%(source)s 的数据超过 %(limit)s 行，请拆分后再导入",
                                        source=self.source, limit=format_number(limit)))
                self.rows.append((number, shared.row(row)))


class _SharedCells:
    """One object for each value that recurs in a column; a column of mostly distinct values is let be."""

    MAX_DISTINCT = 20_000  # values remembered per column (days over 25 years: about 9,000)

    def __init__(self) -> None:
        self.columns: list[dict[Any, Any] | None] = []

    def row(self, row: list[Any]) -> list[Any]:
        columns = self.columns
        if len(columns) < len(row):
            columns.extend({} for _ in range(len(row) - len(columns)))
        for index, cell in enumerate(row):
            seen = columns[index]
            if seen is None or not isinstance(cell, (str, date)):
                continue
            kept = seen.setdefault(cell, cell)
            if kept is not cell:
                row[index] = kept
            elif len(seen) > self.MAX_DISTINCT:
                columns[index] = None  # codes, names, coordinates: nothing to share
        return row


@dataclass(frozen=True)
class Unreadable:
    """A cell a reader of another format could not read, and why; parse_cell reports it as the cell's error."""

    reason: str

    def __str__(self) -> str:
        return self.reason


# --- reading files ----------------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """Strict UTF-8 (BOM optional), then GB18030, as Excel and WPS save on Chinese Windows."""
    if b"\x00" in data[:4096]:
        raise FileRefused(_("文件内容不是 CSV 文本，请检查文件"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise FileRefused(_("CSV 文件编码无法识别，请另存为 UTF-8 或 GB18030（ANSI）")) from error


def table_for_csv(name: str, header: list[str]) -> Table:
    stem = Path(name).stem.lower()
    for table in TABLES.values():
        if stem in (table.key, table.sheet):
            return table
    keys = {normalise_header(h) for h in header}
    agreement_keys = {"eldercare_code", "养老机构编码", "medical_code", "医疗机构编码"}
    return AGREEMENTS if keys & agreement_keys else INSTITUTIONS


def read_csv(data: bytes, name: str) -> Sheet:
    """One CSV file: the table is named by the file name, else told by its header."""
    rows = csv.reader(io.StringIO(decode_csv(data), newline=""))
    try:
        header = next(rows, [])
        sheet = Sheet(table_for_csv(name, header), name, header, key=name)
        sheet.keep(enumerate(rows, start=2))
    except csv.Error as error:
        raise FileRefused(_("CSV 格式错误：%(reason)s", reason=str(error))) from error
    return sheet


def check_xlsx(data: bytes, every_sheet: bool = False) -> None:
    """Refuse what is not a workbook, or would unpack to far more than it weighs.

    The extent of the sheets read_xlsx reads is checked, or of every sheet when `every_sheet`.
    """
    if not data.startswith(b"PK"):
        raise FileRefused(_("文件内容不是 Excel 工作簿（.xlsx），请检查文件"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_XLSX_MEMBERS:
                raise FileRefused(_("工作簿包含的部件过多，拒绝读取"))
            if sum(m.file_size for m in members) > MAX_XLSX_UNCOMPRESSED:
                raise FileRefused(_("工作簿解压后过大，拒绝读取"))
            if "xl/workbook.xml" not in archive.namelist():
                raise FileRefused(_("文件内容不是 Excel 工作簿（.xlsx），请检查文件"))
            _check_shared_strings(archive)
            for title, part in _sheet_parts(archive, every_sheet).items():
                _check_extent(archive, title, part)
    except zipfile.BadZipFile as error:
        raise FileRefused(_("文件内容不是 Excel 工作簿（.xlsx），请检查文件")) from error
    except (ParseError, ValueError, zlib.error, NotImplementedError) as error:  # ValueError: defusedxml's refusals
        raise FileRefused(_("无法读取工作簿：%(reason)s", reason=str(error)[:200])) from error


def table_for_sheet(title: str) -> Table | None:
    return next((t for t in TABLES.values() if title.strip().lower() in (t.key, t.sheet)), None)


def _member(archive: zipfile.ZipFile, target: str, base: str = "xl") -> str | None:
    """The archive member a relationship's target names; calamine, like Excel, ignores its case."""
    path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
    return next((n for n in archive.namelist() if n.lower() == path.lower()), None)


def _workbook_relationships(archive: zipfile.ZipFile) -> list[tuple[str, str, str | None]]:
    """(id, type, member) of each relationship of xl/workbook.xml."""
    if "xl/_rels/workbook.xml.rels" not in archive.namelist():
        return []
    return [(rel.get("Id", ""), rel.get("Type", ""), _member(archive, rel.get("Target", "")))
            for rel in fromstring(archive.read("xl/_rels/workbook.xml.rels")) if rel.tag.endswith("Relationship")]


def _sheet_parts(archive: zipfile.ZipFile, every_sheet: bool = False) -> dict[str, str]:
    """The worksheet part of each sheet read_xlsx reads (机构, 签约协议…), or of every sheet, by the sheet's name."""
    members = {rel_id: member for rel_id, _type, member in _workbook_relationships(archive)}
    parts = {}
    for sheet in fromstring(archive.read("xl/workbook.xml")).iter():
        title = sheet.get("name", "")
        if not sheet.tag.endswith("}sheet") or (not every_sheet and table_for_sheet(title) is None):
            continue
        # r:id, in the transitional or the strict namespace
        rel_id = next((value for key, value in sheet.attrib.items() if key.endswith("}id")), "")
        if members.get(rel_id) is None:
            raise FileRefused(_("工作簿中找不到工作表“%(name)s”的内容，请检查文件", name=title.strip()))
        parts[title] = members[rel_id]
    return parts


# Worksheet XML, scanned for the extent of its cells. Any start tag of a row or a cell, whatever its prefix;
XML_ROW_OR_CELL_START = re.compile(rb"""<(?:[^\s<>/:="']+:)?(row|c)(?=[\s/>])""")
# the whole tag, its attributes quoted ("a>b" allowed), and each reference in them (prefixed too, to be safe).
XML_ROW_OR_CELL = re.compile(rb"""<(?:[^\s<>/:="']+:)?(row|c)([^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*)>""")
XML_REFERENCE = re.compile(rb"""(?:^|\s)(?:[^\s<>/:="']+:)?r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# Excel, WPS and openpyxl write `<c r="B7" …>` and `<row r="7" …>`, `r` once: these find a tag written otherwise
# (no space after the name, `r` not first, a reference not like B7, a prefix, `r =`). Searches that start with
# a literal run fast; a character class first would be ten times slower.
XML_ODD_CELL = rb'[\t\n\r/>]| (?!r="[A-Z]{1,3}[0-9]{1,7}")'  # after "<c"
XML_OTHER_TAGS = [re.compile(pattern) for pattern in (
    rb'<row(?:[\t\n\r/>]| (?!r="[0-9]{1,7}"))', rb":(?:c|row)[\s/>]", rb"r[ \t\n\r]+=", rb"\tr=", rb"\nr=", rb"\rr=")]
XML_PLAIN_CELL = re.compile(rb'<c r="([A-Z]+)')
XML_PLAIN_ROW = re.compile(rb'<row r="([0-9]+)')


class _Extent:
    """How far a worksheet's cells reach (1-based), as calamine places them, and where its reading stands."""

    def __init__(self, max_rows: int, max_columns: int) -> None:
        self.rows = self.columns = 0
        self.row = 0  # the row a cell without `r` falls in
        self.column = 0  # the column of the row's previous cell
        # An odd cell tag (no groups), or a cell whose reference could pass a limit: one short of them (fewer
        # letters and digits than the limits') needs no look.
        near = f"[A-Z]{{1,{len(_column_letters(max_columns)) - 1}}}[0-9]{{1,{len(str(max_rows)) - 1}}}"
        self.odd_or_far_cell = re.compile(rb'<c(?:%s| r="(?!%s")([A-Z]+)([0-9]+)")' % (XML_ODD_CELL, near.encode()))

    def scan(self, xml: bytes) -> None:
        """Measure whole tags: when all are written as Excel writes them, by counts and searches; else tag by tag."""
        far = self.odd_or_far_cell.findall(xml)
        # Every tag `<c r="…` or `<row r="…`, and no other ` r=` (a second `r`, which calamine would take).
        if (any(not letters for letters, _digits in far) or any(pattern.search(xml) for pattern in XML_OTHER_TAGS)
                or xml.count(b" r=") != xml.count(b"<c ") + xml.count(b"<row ")):
            self.scan_tags(xml)
            return
        if far:
            letters, digits = zip(*far, strict=True)
            self.columns = max(self.columns, *map(_column_number, set(letters)))
            self.rows = max(self.rows, *map(int, set(digits)))
        last_row, last_cell = xml.rfind(b"<row "), xml.rfind(b"<c ")
        if last_row >= 0:
            self.row, self.column = int(XML_PLAIN_ROW.match(xml, last_row)[1]), 0
        if last_cell > last_row:
            self.column = _column_number(XML_PLAIN_CELL.match(xml, last_cell)[1])

    def scan_tags(self, xml: bytes) -> None:
        """A cell at its reference `r`, else after the row's previous cell; a row at its `r`, else after the previous
        one. Every reference a tag holds counts, and a cell without a value too (calamine skips it)."""
        for start in XML_ROW_OR_CELL_START.finditer(xml):
            tag = XML_ROW_OR_CELL.match(xml, start.start())
            if tag is None:
                raise ValueError("malformed row or cell tag")
            references = [double or single for double, single in XML_REFERENCE.findall(tag[2])]
            if tag[1] == b"row":
                self.row = max((_row_number(r) for r in references), default=self.row + 1)
                self.column = 0
                continue
            letters = [re.sub(rb"[^A-Za-z]", b"", r) for r in references]
            self.column = max((_column_number(a) for a in letters if a), default=self.column + 1)
            self.columns = max(self.columns, self.column)
            self.rows = max(self.rows, *(_row_number(r) for r in references if re.search(rb"[0-9]", r)),
                            self.row)


def _row_number(reference: bytes) -> int:
    """The digits of a reference, wherever they are (calamine reads them so); 0 if none."""
    return int(re.sub(rb"[^0-9]", b"", reference) or b"0")


def _extent(stream: IO[bytes], max_rows: int, max_columns: int) -> _Extent:
    """The extent of a worksheet part's cells, not its optional (and maybe lying) <dimension>.

    Read by the MB, and only until a limit is passed.
    """
    extent, text = _Extent(max_rows, max_columns), b""
    while True:
        chunk = stream.read(1 << 20)
        text += chunk
        # Up to the last tag, which the next chunk may complete; no "<" is allowed inside a tag.
        cut = text.rfind(b"<") if chunk else len(text)
        if len(text) - cut > 1 << 20:
            raise ValueError("over 1 MB without a tag")
        extent.scan(text[:cut])
        text = text[cut:]
        if not chunk or extent.rows > max_rows or extent.columns > max_columns:
            return extent


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - ord("A") + 1
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _check_extent(archive: zipfile.ZipFile, title: str, part: str) -> None:
    """Refuse a sheet whose grid, from A1 to its last cell, is far larger than any register."""
    max_rows = current_app.config["MAX_IMPORT_ROWS"] + 1 + XLSX_SPARE_ROWS
    with archive.open(part) as stream:
        extent = _extent(stream, max_rows, MAX_XLSX_COLUMNS)
    if extent.columns > MAX_XLSX_COLUMNS or extent.rows > max_rows:
        raise FileRefused(_("工作表“%(name)s”的范围过大（%(cell)s），请删除多余的行列后再导入",
                            name=title.strip(), cell=f"{_column_letters(extent.columns)}{extent.rows}"))


def _check_shared_strings(archive: zipfile.ZipFile) -> None:
    """Refuse a string table that claims more strings than it could hold: calamine reserves them all at once."""
    for _id, kind, member in _workbook_relationships(archive):
        if member is None or not kind.endswith("/sharedStrings"):
            continue
        with archive.open(member) as stream:
            head = stream.read(1 << 16)
        start = re.search(rb"<(?:[\w.-]+:)?sst\b[^>]*>", head)
        count = re.search(rb"""\suniqueCount\s*=\s*["']\s*(\d+)""", start[0]) if start else None
        if start is None or (count and int(count[1]) > archive.getinfo(member).file_size // len(b"<si/>")):
            raise FileRefused(_("工作簿的共享字符串表已损坏，拒绝读取"))


def read_xlsx(data: bytes, name: str) -> list[Sheet]:
    """The sheets 机构 / 签约协议 (or institutions / agreements) of a workbook.

    Read with calamine (Rust; its XML reader expands no entities), about 15 times faster
    than openpyxl on 100,000 rows. Cells come back as openpyxl's `values_only` rows would:
    None for an empty cell, and every row from column A.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    check_xlsx(data)
    sheets = []
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for title in workbook.sheet_names:
            table = table_for_sheet(title)
            if table is None:
                continue
            worksheet = workbook.get_sheet_by_name(title)
            # Rows are given from row 1 but columns only from the first one used.
            padding = [None] * (worksheet.start[1] if worksheet.start else 0)
            rows = ([*padding, *(None if cell == "" else cell for cell in row)] for row in worksheet.iter_rows())
            header = list(next(rows, ()))
            sheet = Sheet(table, _("工作表“%(name)s”", name=title.strip()), header, key=title.strip())
            sheet.keep(enumerate(rows, start=2))
            sheets.append(sheet)
    except (CalamineError, ValueError, OSError) as error:  # the file's fault, not ours
        raise FileRefused(_("无法读取工作簿：%(reason)s", reason=str(error)[:200])) from error
    if not sheets:
        raise FileRefused(_("工作簿中没有名为“机构”或“签约协议”的工作表"))
    return sheets


def read_upload(data: bytes, name: str) -> list[Sheet]:
    """A workbook or a CSV file, chosen by its extension and checked by its content."""
    if len(data) > MAX_UPLOAD:
        raise FileRefused(_("文件超过 10 MB，请拆分后再导入"))
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(data, name)
    if suffix == ".csv":
        if data.startswith(b"PK"):
            raise FileRefused(_("文件内容不是 CSV 文本（像是 Excel 工作簿），请检查扩展名"))
        return [read_csv(data, name)]
    raise FileRefused(_("只能导入 .xlsx 或 .csv 文件"))


def read_path(path: Path) -> list[Sheet]:
    """A workbook, a CSV file, or a folder holding institutions.csv and/or agreements.csv."""
    if path.is_dir():
        sheets = []
        for table in TABLES.values():
            for candidate in (path / f"{table.key}.csv", path / f"{table.sheet}.csv"):
                if candidate.is_file():
                    sheets += read_upload(candidate.read_bytes(), candidate.name)
                    break
        if not sheets:
            raise FileRefused(_("文件夹中没有 institutions.csv 或 agreements.csv"))
        return sheets
    if path.stat().st_size > MAX_UPLOAD:
        raise FileRefused(_("文件超过 10 MB，请拆分后再导入"))
    return read_upload(path.read_bytes(), path.name)


# --- reading cells ----------------------------------------------------------------------------


def normalise_header(value: Any) -> str:
    """A header cell as matched against keys and labels: trimmed, BOM and * removed."""
    return str(value or "").replace("\ufeff", "").replace("*", "").strip()


def map_header(table: Table, header: list[Any]) -> tuple[dict[int, Column], list[str], list[str]]:
    """Column positions by key or label; (positions, errors, unknown headers)."""
    by_name = {c.key.lower(): c for c in table.columns} | {c.label: c for c in table.columns}
    positions: dict[int, Column] = {}
    errors, unknown = [], []
    seen: set[str] = set()
    for index, raw in enumerate(header):
        name = normalise_header(raw)
        if not name:
            continue
        column = by_name.get(name) or by_name.get(name.lower())
        if column is None:
            unknown.append(name)
        elif column.key in seen:
            errors.append(_("列“%(name)s”重复", name=name))
        else:
            seen.add(column.key)
            positions[index] = column
    for key in table.required:
        if key not in seen:
            column = table.column(key)
            errors.append(_("缺少必填列“%(label)s”（%(key)s）", label=column.label, key=column.key))
    return positions, errors, unknown


def parse_cell(column: Column, raw: Any) -> Any:
    """A cell as a Python value (None when empty); raises ValueError with a Chinese reason."""
    if raw is None:
        return None
    if isinstance(raw, Unreadable):
        raise ValueError(raw.reason)
    if isinstance(raw, str):
        raw = unescape(raw.strip())
        if raw == "":
            return None
    if column.type in ("text", "kind", "region", "code_of"):
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # a number typed into a text column, e.g. a filing number
        return str(raw).strip()
    if column.type == "int":
        if isinstance(raw, bool):
            raise ValueError(_("应为整数"))
        if isinstance(raw, (int, float)):
            if float(raw).is_integer():
                return int(raw)
            raise ValueError(_("应为整数"))
        try:
            return int(str(raw).replace(",", ""))
        except ValueError as error:
            raise ValueError(_("应为整数，而不是“%(value)s”", value=raw)) from error
    if column.type == "float":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        try:
            return float(str(raw))
        except ValueError as error:
            raise ValueError(_("应为数字，而不是“%(value)s”", value=raw)) from error
    if column.type == "date":
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError as error:
            raise ValueError(_("日期应为 YYYY-MM-DD 格式，而不是“%(value)s”", value=raw)) from error
    if column.type == "bool":
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(_("应为“是”或“否”，而不是“%(value)s”", value=raw))
    if column.type == "services":
        items = [s.strip() for s in SERVICE_SEPARATORS.split(str(raw)) if s.strip()]
        unknown = [s for s in items if s not in SERVICES]
        if unknown:
            raise ValueError(_("服务内容不在规定范围内：%(value)s", value="、".join(unknown)))
        return list(dict.fromkeys(items))
    raise ValueError(column.type)


def parse_kind(value: str | None) -> str | None:
    """`eldercare`/养老机构 or `medical`/医疗卫生机构 as the stored kind."""
    return KIND_VALUES.get((value or "").strip().lower()) or KIND_VALUES.get((value or "").strip())



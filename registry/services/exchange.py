"""The exchange format of DESIGN §8: the columns, and reading and writing their cells.

Staff keep these registers in spreadsheets, so the same two tables go in and out
as .xlsx (one sheet per table) or .csv (one file per table). Headers may be the
English key or the Chinese label; exports write the Chinese label.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import format_number
from flask_babel import gettext as _

from registry.services.columns import AGREEMENTS, INSTITUTIONS, NO, TABLES, YES, Column, Table
from registry.services.spreadsheets import unescape
from registry.vocab import ELDERCARE, MEDICAL, SERVICES

KIND_VALUES = {ELDERCARE: ELDERCARE, MEDICAL: MEDICAL, "养老机构": ELDERCARE, "医疗卫生机构": MEDICAL,
               "医疗机构": MEDICAL}
SERVICE_SEPARATORS = re.compile(r"[;；、]")
TRUE_WORDS = {YES, "√", "yes", "y", "true", "1"}
FALSE_WORDS = {NO, "×", "no", "n", "false", "0"}

MAX_UPLOAD = 10 * 1024 * 1024
MAX_XLSX_MEMBERS = 200
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024


class FileRefused(Exception):
    """A file that is not read at all (too large, not what its name says, a zip bomb)."""


@dataclass
class Sheet:
    """The raw cells of one table as read from a file; row numbers count the header as 1."""

    table: Table
    source: str  # how errors name it: "institutions.csv" or "工作表“机构”"
    header: list[Any]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)

    def keep(self, numbered: Iterable[tuple[int, list[Any]]]) -> None:
        """Keep the non-empty rows; refuse the file as soon as they pass MAX_IMPORT_ROWS."""
        limit = current_app.config["MAX_IMPORT_ROWS"]
        for number, row in numbered:
            if any(cell is not None and str(cell).strip() for cell in row):
                if len(self.rows) == limit:
                    raise FileRefused(_("%(source)s 的数据超过 %(limit)s 行，请拆分后再导入",
                                        source=self.source, limit=format_number(limit)))
                self.rows.append((number, row))


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


def _table_for_csv(name: str, header: list[str]) -> Table:
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
        sheet = Sheet(_table_for_csv(name, header), name, header)
        sheet.keep(enumerate(rows, start=2))
    except csv.Error as error:
        raise FileRefused(_("CSV 格式错误：%(reason)s", reason=str(error))) from error
    return sheet


def check_xlsx(data: bytes) -> None:
    """Refuse what is not a workbook, or would unpack to far more than it weighs."""
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
    except zipfile.BadZipFile as error:
        raise FileRefused(_("文件内容不是 Excel 工作簿（.xlsx），请检查文件")) from error


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
            table = next((t for t in TABLES.values() if title.strip().lower() in (t.key, t.sheet)), None)
            if table is None:
                continue
            worksheet = workbook.get_sheet_by_name(title)
            # Rows are given from row 1 but columns only from the first one used.
            padding = [None] * (worksheet.start[1] if worksheet.start else 0)
            rows = ([*padding, *(None if cell == "" else cell for cell in row)] for row in worksheet.iter_rows())
            header = list(next(rows, ()))
            sheet = Sheet(table, _("工作表“%(name)s”", name=title.strip()), header)
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



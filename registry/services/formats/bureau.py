"""Bureaus' own spreadsheets (docs/exchange-format.md) read into the exchange format's sheets.

A workbook (.xlsx, .xls) or a CSV file kept in a bureau's own shape is read sheet by
sheet: a sheet whose first row is the exchange format's header is read as before;
any other has its table found (bureau_tables) and each data row's cells read as staff
write them (bureau_values) into the exchange format's cells, so that the import
planner reads them unchanged. A cell that cannot be read becomes an `Unreadable`
cell, which the planner reports with the sheet, the row as Excel numbers it, the
column's header and the reason. Hosts and agreement parties stay names here
(`host_name`, `eldercare_name`, `medical_name`); imports.names turns them into codes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from registry.services.formats import bureau_values as values
from registry.services.formats.bureau_tables import FIELD_HOMES, SEQUENCE, BureauTable, find_table
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS, NO, TABLES, YES, Column
from registry.services.formats.exchange import (
    MAX_UPLOAD,
    MAX_XLSX_COLUMNS,
    XLSX_SPARE_ROWS,
    FileRefused,
    Sheet,
    Unreadable,
    check_xlsx,
    decode_csv,
    map_header,
    parse_kind,
    read_xlsx,
    table_for_csv,
    table_for_sheet,
)
from registry.services.infra.collector import collector_paused
from registry.vocab import ELDERCARE, FIELD_LABELS, MEDICAL

# Bureau fields holding a name where the exchange format holds a code: the code's key.
NAMED = {"host_name": "host_code", "eldercare_name": "eldercare_code", "medical_name": "medical_code"}
# Bureau fields the register does not hold (it keeps the day of 医保定点, not a 是/否).
NOT_STORED = {"insurance_designated"}
# Columns that hold another record's code, or an agreement's own (FIELD_LABELS names the record itself).
CODE_LABELS = {
    (INSTITUTIONS.key, "host_code"): _l("设立单位机构编码"),
    (AGREEMENTS.key, "code"): _l("协议编号"),
    (AGREEMENTS.key, "eldercare_code"): _l("养老机构编码"),
    (AGREEMENTS.key, "medical_code"): _l("医疗机构编码"),
}
BUREAU_LABELS = {
    "host_name": _l("设立单位名称"),
    "level_grade": _l("医院等级（含等次）"),
    "eldercare_name": _l("养老机构名称"),
    "medical_name": _l("医疗卫生机构名称"),
    "period": _l("协议有效期（起止日期）"),
}


@dataclass
class SheetChoice:
    """What the user decided for one bureau sheet: its kind, and a field for a column (None: ignore it)."""

    kind: str | None = None
    fields: dict[int, str | None] = field(default_factory=dict)


# A correction typed on the report page: (sheet key, row as Excel numbers it, column from 0) → the new text.
Corrections = Mapping[tuple[str, int, int], str]


@dataclass
class Layout:
    """The table found in one bureau sheet, with the fields its columns were read as."""

    key: str  # the sheet's title, or the CSV file's name
    source: str
    table: BureauTable
    kind: str | None  # the kind its rows were read as; None when a kind column tells each row's
    kind_column: bool


@dataclass
class Reading:
    """A file read into exchange sheets, with what could not be read and what was left aside."""

    sheets: list[Sheet] = field(default_factory=list)
    errors: list[tuple[str, int, str]] = field(default_factory=list)  # (source, row, 中文 message)
    warnings: list[str] = field(default_factory=list)
    layouts: list[Layout] = field(default_factory=list)  # the bureau sheets, as the mapping page shows them
    error_keys: dict[str, str] = field(default_factory=dict)  # source → sheet key, for the errors above
    convert: bool = True  # False: find the bureau sheets' tables only (the mapping page)

    def rows(self) -> int:
        """How many data rows the sheets hold (a job's progress counts them)."""
        return sum(len(sheet.rows) for sheet in self.sheets)


def read_file(path: Path, kind: str | None, regions: Mapping[str, str],
              choices: Mapping[str, SheetChoice] | None = None) -> Reading:
    """A workbook or CSV file in the exchange format or a bureau's own shape; `regions` maps code → name."""
    if path.stat().st_size > MAX_UPLOAD:
        raise FileRefused(_("文件超过 10 MB，请拆分后再导入"))
    return read_data(path.read_bytes(), path.name, kind, regions, choices)


@collector_paused()
def read_data(data: bytes, name: str, kind: str | None, regions: Mapping[str, str],
              choices: Mapping[str, SheetChoice] | None = None, corrections: Corrections | None = None,
              layouts_only: bool = False) -> Reading:
    """The same for a file's bytes: an exchange workbook or CSV is read exactly as exchange.read_upload reads it.

    `choices` (by sheet key) override the kind and the proposed fields of a bureau sheet;
    `corrections` replace single cells before anything is read. With `layouts_only` the
    bureau sheets' tables are found (`Reading.layouts`) but their cells are not read.
    """
    if len(data) > MAX_UPLOAD:
        raise FileRefused(_("文件超过 10 MB，请拆分后再导入"))
    suffix = Path(name).suffix.lower()
    reading = Reading(convert=not layouts_only)
    choices = choices or {}
    fixes = _by_sheet(corrections or {})
    if suffix == ".csv":
        if data.startswith(b"PK"):
            raise FileRefused(_("文件内容不是 CSV 文本（像是 Excel 工作簿），请检查扩展名"))
        rows = _corrected(_csv_rows(data, name), fixes.get(name))
        table = table_for_csv(name, rows[0] if rows else [])
        if _exchange_header(rows, table):
            sheet = Sheet(table, name, list(rows[0]) if rows else [], key=name)
            sheet.keep(enumerate(rows[1:], start=2))
            reading.sheets.append(sheet)
        else:
            _read_sheet(reading, name, name, rows, choices.get(name) or SheetChoice(kind), regions)
        return reading
    if suffix == ".xlsx":
        check_xlsx(data, every_sheet=True)
    elif suffix == ".xls":
        if not data.startswith(b"\xd0\xcf\x11\xe0"):
            raise FileRefused(_("文件内容不是 Excel 97-2003 工作簿（.xls），请检查文件"))
    else:
        raise FileRefused(_("只能导入 .xlsx、.xls 或 .csv 文件"))
    sheets = _workbook_rows(data, exchange_sheets=suffix == ".xlsx")
    if sheets is None:
        reading.sheets = read_xlsx(data, name)  # the exchange format's workbook, read as before
        for sheet in reading.sheets:
            _correct_sheet(sheet, fixes.get(sheet.key))
        return reading
    for title, rows in sheets:
        key = title.strip()
        source = _("工作表“%(name)s”", name=key)
        rows = _corrected(rows, fixes.get(key))
        table = next((t for t in TABLES.values() if not map_header(t, rows[0] if rows else [])[1]), None)
        if table is not None:  # a sheet of the exchange format under another name
            sheet = Sheet(table, source, list(rows[0]), key=key)
            sheet.keep(enumerate(rows[1:], start=2))
            reading.sheets.append(sheet)
        else:
            _read_sheet(reading, key, source, rows, choices.get(key) or SheetChoice(kind), regions)
    if not reading.sheets and not reading.errors and not (reading.layouts and not reading.convert):
        raise FileRefused(_("文件中没有可导入的表格：%(reasons)s", reasons="；".join(reading.warnings)))
    return reading


# --- raw rows ---------------------------------------------------------------------------------


def _csv_rows(data: bytes, name: str) -> list[list[Any]]:
    try:
        rows = [list(row) for row in csv.reader(io.StringIO(decode_csv(data), newline=""))]
    except csv.Error as error:
        raise FileRefused(_("CSV 格式错误：%(reason)s", reason=str(error))) from error
    _check_size(rows, name, _row_limit())
    return rows


def _workbook_rows(data: bytes, exchange_sheets: bool) -> list[tuple[str, list[list[Any]]]] | None:
    """Every sheet's rows from row 1 and column A, empty cells None (python-calamine reads .xlsx and .xls).

    None, without reading a cell, when `exchange_sheets` and the workbook has a sheet 机构 or 签约协议.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    sheets = []
    limit = _row_limit()
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if exchange_sheets and any(table_for_sheet(title) for title in workbook.sheet_names):
            return None
        for title in workbook.sheet_names:
            worksheet = workbook.get_sheet_by_name(title)
            padding = [None] * (worksheet.start[1] if worksheet.start else 0)
            rows = []
            for row in worksheet.iter_rows():
                rows.append([*padding, *(None if cell == "" else cell for cell in row)])
                _check_size(rows, title, limit)
            sheets.append((title, rows))
    except (CalamineError, ValueError, OSError) as error:  # the file's fault, not ours
        raise FileRefused(_("无法读取工作簿：%(reason)s", reason=str(error)[:200])) from error
    return sheets


def original_rows(data: bytes, name: str, corrections: Corrections | None = None) -> dict[str, list[list[Any]]]:
    """Every sheet's rows as the file holds them (with the corrections), by sheet key: for the errors workbook."""
    fixes = _by_sheet(corrections or {})
    if Path(name).suffix.lower() == ".csv":
        return {name: _corrected(_csv_rows(data, name), fixes.get(name))}
    sheets = _workbook_rows(data, exchange_sheets=False) or []
    return {title.strip(): _corrected(rows, fixes.get(title.strip())) for title, rows in sheets}


def _by_sheet(corrections: Corrections) -> dict[str, dict[int, dict[int, str]]]:
    fixes: dict[str, dict[int, dict[int, str]]] = {}
    for (key, row, column), value in corrections.items():
        fixes.setdefault(key, {}).setdefault(row, {})[column] = value
    return fixes


def _corrected(rows: list[list[Any]], fixes: dict[int, dict[int, str]] | None) -> list[list[Any]]:
    """The rows with the user's corrections in place (a row or a column past the end is added)."""
    if not fixes:
        return rows
    rows = list(rows)
    for number, cells in fixes.items():
        while len(rows) < number:
            rows.append([])
        rows[number - 1] = _with_cells(rows[number - 1], cells)
    return rows


def _with_cells(row: list[Any], cells: dict[int, str]) -> list[Any]:
    """A copy of the row with these cells typed in (a blank one empties the cell)."""
    row = list(row)
    for index, value in cells.items():
        row.extend([None] * (index + 1 - len(row)))
        row[index] = value if value.strip() else None
    return row


def _correct_sheet(sheet: Sheet, fixes: dict[int, dict[int, str]] | None) -> None:
    """The same for a sheet already read (the exchange format's workbook)."""
    if not fixes:
        return
    for position, (number, row) in enumerate(sheet.rows):
        if number in fixes:
            sheet.rows[position] = (number, _with_cells(row, fixes[number]))


def _row_limit() -> int:
    """The most rows a sheet may have, blank ones included (the data rows are counted again by Sheet.keep)."""
    return current_app.config["MAX_IMPORT_ROWS"] + XLSX_SPARE_ROWS


def _check_size(rows: list[list[Any]], title: str, limit: int) -> None:
    """Refuse a sheet far larger than any register: more rows than `limit`, or a row too wide (checked as read)."""
    if len(rows) > limit or (rows and len(rows[-1]) > MAX_XLSX_COLUMNS):
        raise FileRefused(_("工作表“%(name)s”的范围过大，请删除多余的行列后再导入", name=title))


def _exchange_header(rows: list[list[Any]], table) -> bool:
    """Whether the first row is the exchange format's header: every heading a key or label, or none missing."""
    if not rows:
        return True
    positions, errors, unknown = map_header(table, rows[0])
    return not errors or (bool(positions) and not unknown)


# --- one bureau sheet -------------------------------------------------------------------------


def _read_sheet(reading: Reading, key: str, source: str, rows: list[list[Any]], choice: SheetChoice,
                regions: Mapping[str, str]) -> None:
    found = find_table(rows, key, choice.kind)
    if found is None:
        reading.warnings.append(_("%(source)s 中找不到可识别的表头，已跳过", source=source))
        return
    table = TABLES[found.table]
    found = _chosen(found, choice)
    reading.error_keys[source] = key
    sheet_kind = choice.kind
    kind_column = "kind" in found.fields()
    if table is INSTITUTIONS and not kind_column:
        sheet_kind = choice.kind or _kind_of_columns(found)
        if choice.kind is None and sheet_kind is not None:
            # The fields again knowing the kind (a header may mean one thing per kind); the rows stay sorted.
            found = _chosen(find_table(rows, key, sheet_kind, found.table, sorted_as=found), choice)
    reading.layouts.append(Layout(key, source, found, sheet_kind, kind_column))
    if not reading.convert:
        return
    if table is INSTITUTIONS and not kind_column and sheet_kind is None:
        reading.errors.append((source, found.header_rows[0], _(
            "无法判断机构类别：表中没有“机构类别”列，请为该表选择机构类别（命令行：--kind eldercare 或 --kind medical）")))
        return
    reading.errors += [(source, number, message) for number, message in found.errors]
    if found.skipped:
        reading.warnings.append(_("%(source)s：跳过 %(rows)s", source=source, rows="、".join(
            _("第 %(row)s 行（%(reason)s）", row=number, reason=reason) for number, reason in found.skipped)))
    ignored = [c.header or c.letter for c in found.columns
               if (c.field is None or c.field in NOT_STORED) and not c.sequence]
    if ignored:
        reading.warnings.append(_("%(source)s：忽略无法识别的列 %(names)s", source=source, names="、".join(ignored)))
    missing = missing_fields(found, sheet_kind)
    if missing:
        reading.errors.append((source, found.header_rows[0], _(
            "缺少必填列：%(fields)s（表头中的列：%(headers)s）", fields="、".join(missing),
            headers="、".join(c.header or c.letter for c in found.columns))))
        return
    reading.sheets.append(_sheet(found, table, source, key, sheet_kind, regions))


def _chosen(found: BureauTable, choice: SheetChoice) -> BureauTable:
    """The table with the user's field for each column they changed (one column per field still)."""
    if not choice.fields:
        return found
    columns = []
    for column in found.columns:
        if column.index in choice.fields:
            wanted = choice.fields[column.index]
            column = replace(column, field=wanted or None, sequence=column.sequence and not wanted)
        columns.append(column)
    taken = {c.field for c in columns if c.index in choice.fields and c.field}
    return replace(found, columns=[c if c.index in choice.fields or c.field not in taken else replace(c, field=None)
                                   for c in columns])


def choice_problems(layout: Layout, choice: SheetChoice) -> list[str]:
    """Why a sheet cannot be read with the user's choice: a field given to two columns, no kind, a field missing."""
    problems = []
    holders: dict[str, list[str]] = {}
    for column in layout.table.columns:
        wanted = choice.fields.get(column.index, None if column.sequence else column.field)
        if wanted:
            holders.setdefault(wanted, []).append(column.letter)
    for name, letters in holders.items():
        if len(letters) > 1:
            problems.append(_("“%(field)s”只能对应一列，现在对应了 %(columns)s 列", field=field_label(name, layout.table.table),
                              columns="、".join(letters)))
    chosen = _chosen(layout.table, choice)
    needs_kind = layout.table.table == INSTITUTIONS.key and "kind" not in chosen.fields()
    if needs_kind and not choice.kind:
        problems.append(_("表中没有“机构类别”列，请选择这张表中机构的类别"))
    missing = missing_fields(chosen, choice.kind)
    if missing:
        problems.append(_("缺少必填的列：%(fields)s", fields="、".join(missing)))
    return problems


# What else stands for a required column of the exchange format in a bureau's sheet.
STANDS_FOR = {"eldercare_code": ("eldercare_name",), "medical_code": ("medical_name",),
              "valid_from": ("period",), "valid_to": ("period",)}


def missing_fields(found: BureauTable, kind: str | None) -> list[str]:
    """The labels of the required fields no column holds (a party's name stands for its code)."""
    have = set(found.fields()) | ({"kind"} if kind else set())
    table = TABLES[found.table]
    return [field_label(key, found.table) for key in table.required
            if key not in have and not have.intersection(STANDS_FOR.get(key, ()))]


def field_choices(table: str, kind: str | None) -> list[tuple[str, str]]:
    """(field, 中文 label) of every field a column of `table` may be read as, for the mapping page."""
    result = []
    for name, (home, kinds) in FIELD_HOMES.items():
        if name == SEQUENCE or (home and home != table) or name in NOT_STORED:
            continue
        if table == INSTITUTIONS.key and kind and kind not in kinds:
            continue
        result.append((name, field_label(name, table)))
    return result


def field_label(name: str, table: str | None = None) -> str:
    """How the mapping page and the errors name a field, in the interface's language."""
    if name in BUREAU_LABELS:
        return str(BUREAU_LABELS[name])
    tables = [TABLES[table]] if table else list(TABLES.values())
    for candidate in tables:
        column = next((c for c in candidate.columns if c.key == name), None)
        if column is None:
            continue
        shown = CODE_LABELS.get((candidate.key, name)) or FIELD_LABELS.get(column.field)
        return str(shown) if shown is not None and str(shown) else column.label
    return name


def _kind_of_columns(found: BureauTable) -> str | None:
    """The kind the columns tell when they are of one kind only (床位数: homes; 医疗机构类型, 医院等级: medical)."""
    kinds = {next(iter(FIELD_HOMES[name][1])) for name in found.fields() if len(FIELD_HOMES[name][1]) == 1}
    return kinds.pop() if len(kinds) == 1 else None


def _sheet(found: BureauTable, table, source: str, key: str, kind: str | None, regions: Mapping[str, str]) -> Sheet:
    """The exchange sheet of a bureau table: one exchange key per column read, rows numbered as in Excel."""
    read: list[tuple[int, tuple[str, ...], Callable[[Any], Any]]] = []
    labels: dict[str, str] = {}
    positions: dict[str, int] = {}
    for column in found.columns:
        if column.field is None or column.field == SEQUENCE or column.field in NOT_STORED:
            continue
        keys, reader = _reader(column.field, table, regions)
        read.append((column.index, keys, reader))
        labels |= dict.fromkeys(keys, column.header or column.letter)
        positions |= dict.fromkeys(keys, column.index)
        if column.field in NAMED:  # the code the name becomes (imports.names) is blamed on the same cell
            positions[NAMED[column.field]] = column.index
    header = list(dict.fromkeys(labels))
    if table is INSTITUTIONS and "kind" not in header:
        header.append("kind")
    # Each reader with the places in the header of the keys it fills (a later column's value wins a place).
    readers = [(index, [header.index(k) for k in keys], reader) for index, keys, reader in read]
    kind_at = header.index("kind") if table is INSTITUTIONS else None
    sheet = Sheet(table, source, header, labels=labels, key=key, positions=positions,
                  raw=dict(found.rows))

    def converted() -> Any:
        for number, raw in found.rows:
            cells: list[Any] = [None] * len(header)
            for index, places, reader in readers:
                try:
                    value = reader(raw[index] if index < len(raw) else None)
                except ValueError as error:
                    value = Unreadable(str(error))
                if len(places) == 1:
                    cells[places[0]] = value
                else:  # a period: (valid_from, valid_to), or one None or Unreadable for both
                    cells[places[0]], cells[places[1]] = value if isinstance(value, tuple) else (value, value)
            if kind_at is not None and not cells[kind_at]:
                cells[kind_at] = kind
            yield number, cells

    sheet.keep(converted())
    return sheet


def _reader(name: str, table, regions: Mapping[str, str]) -> tuple[tuple[str, ...], Callable[[Any], Any]]:
    """The exchange keys a bureau field fills, and how one of its cells becomes their value (a period: both).

    A reader raises ValueError for a cell it cannot read.
    """
    if name in NAMED:
        return (name,), values.read_text
    if name == "period":
        return ("valid_from", "valid_to"), values.read_period
    if name == "level_grade":
        return ("level",), _level
    return (name,), _cell_reader(table.column(name), regions)


def _cell_reader(column: Column, regions: Mapping[str, str]) -> Callable[[Any], Any]:
    if column.key == "ownership":
        return values.read_ownership
    if column.key == "level":
        return _level
    if column.key == "kind":
        return _kind
    if column.type == "region":
        return values.RegionNames(regions).read  # the regions' names worked out once for the column
    by_type: dict[str, Callable[[Any], Any]] = {
        "date": values.read_date,
        "int": values.read_whole_number,
        "bool": lambda raw: _yes_no(values.read_yes_no(raw)),
        "services": lambda raw: "、".join(values.read_services(raw) or []) or None,
    }
    return by_type.get(column.type, values.read_text)


def _level(raw: Any) -> str | None:
    level = values.read_level(raw)
    return level[0] if level else None  # the grade (甲等) is not registered


def _kind(raw: Any) -> str | None:
    text = values.read_text(raw)
    if text is None:
        return None
    kind = parse_kind(text)
    if kind not in (ELDERCARE, MEDICAL):
        raise ValueError(_("机构类别应为“养老机构”或“医疗卫生机构”，而不是“%(value)s”", value=raw))
    return kind


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else (YES if value else NO)

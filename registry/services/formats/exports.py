"""Exporting the exchange format (docs/exchange-format.md): exactly its columns, Chinese headers.

Every cell goes through `spreadsheets` (CSV as UTF-8 with a BOM so Excel shows
the Chinese; text that a spreadsheet would run as a formula escaped). Export →
import → export is the identity.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from itertools import zip_longest
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.models import Agreement, Institution, Region
from registry.services.formats import columns, spreadsheets
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS, Column, Table

BATCH = 2000


def _region_names() -> dict[str, str]:
    return {r.code: r.name for r in db.session.scalars(select(Region))}


def institution_rows(query: Select) -> Iterator[list[Any]]:
    """The exchange columns of each institution of `query`, in batches (the host's code joined in)."""
    names = _region_names()
    host_codes: dict[int, str] = {}
    for batch in _batches(query, Institution.code):
        missing = {i.host_id for i in batch if i.host_id and i.host_id not in host_codes}
        if missing:
            host_codes |= dict(db.session.execute(select(Institution.id, Institution.code)
                                                  .where(Institution.id.in_(missing))).all())
        for institution in batch:
            yield [columns.cell(c, institution, names, host_codes) for c in INSTITUTIONS.columns]


def agreement_rows(query: Select) -> Iterator[list[Any]]:
    """The exchange columns of each agreement of `query`."""
    query = query.options(selectinload(Agreement.eldercare), selectinload(Agreement.medical),
                          selectinload(Agreement.service_rows))
    for batch in _batches(query, Agreement.code):
        for agreement in batch:
            codes = {agreement.eldercare_id: agreement.eldercare.code, agreement.medical_id: agreement.medical.code}
            yield [columns.cell(c, agreement, {}, codes) for c in AGREEMENTS.columns]


def _batches(query: Select, key) -> Iterator[list]:
    """Rows in batches by keyset on `key`, so a national export never holds every row at once."""
    last = None
    while True:
        page = query.order_by(key).limit(BATCH)
        if last is not None:
            page = page.where(key > last)
        batch = db.session.scalars(page).all()
        if not batch:
            return
        yield batch
        last = getattr(batch[-1], key.key)
        for row in batch:
            db.session.expunge(row)


def write_csv(table: Table, rows: Iterable[list[Any]]) -> bytes:
    """One table as CSV: UTF-8 with a BOM, Chinese headers."""
    return spreadsheets.csv_bytes([c.label for c in table.columns], rows)


def write_xlsx(tables: list[tuple[Table, Iterable[list[Any]]]], template: bool = False) -> bytes:
    """A workbook, one sheet per table (机构, 签约协议); dates as date cells."""
    workbook = Workbook(write_only=not template)
    if template:
        workbook.remove(workbook.active)
    for table, rows in tables:
        sheet = workbook.create_sheet(table.sheet)
        spreadsheets.append(sheet, [c.label for c in table.columns])
        for row in rows:
            spreadsheets.append(sheet, row)
        if template:
            for index, column in enumerate(table.columns):
                sheet.column_dimensions[_letter(index)].width = max(12, len(column.label) * 2 + 2)
    if template:
        _allowed_values(workbook)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _allowed_values(workbook: Workbook) -> None:
    """A sheet of the allowed values, and drop-downs in the template's columns."""
    regions = [r.name for r in db.session.scalars(select(Region).order_by(Region.position))]
    offered = [(table, c) for table in (INSTITUTIONS, AGREEMENTS) for c in table.columns
               if c.choices or c.type == "region"]
    lists = {_choice_title(c): list(c.choices) if c.choices else regions for _table, c in offered}
    sheet = workbook.create_sheet("可选值")
    spreadsheets.append(sheet, lists)
    for row in zip_longest(*lists.values()):
        spreadsheets.append(sheet, row)
    for column in range(len(lists)):
        sheet.column_dimensions[_letter(column)].width = 24
    for position, (table, column) in enumerate(offered):
        if column.type == "services":
            continue  # several values a cell: no drop-down
        index = table.columns.index(column)
        source = _letter(position)
        validation = DataValidation(type="list", allow_blank=True,
                                    formula1=f"'可选值'!${source}$2:${source}${len(lists[_choice_title(column)]) + 1}")
        workbook[table.sheet].add_data_validation(validation)
        validation.add(f"{_letter(index)}2:{_letter(index)}5000")
    notes = workbook.create_sheet("说明")
    for line in (
        "日期写作 YYYY-MM-DD；空单元格表示没有值。",
        "机构编码为空时由系统编号；填写已有编码则更新该机构（缺少的列保持不变，空单元格清空该值）。",
        "所属区县可填名称或代码；内设机构在“设立单位机构编码”中填设立单位的机构编码（可为同一文件中的机构）。",
        "签约协议的养老机构编码、医疗机构编码、生效日期、到期日期和至少一项服务内容必填。",
    ):
        spreadsheets.append(notes, [line])
    notes.column_dimensions["A"].width = 110


def _choice_title(column: Column) -> str:
    return f"{column.label}（用“、”或“;”分隔）" if column.type == "services" else column.label


def export_all(institutions: Select, agreements: Select) -> dict[str, bytes]:
    """institutions.csv, agreements.csv and registry.xlsx for the given queries."""
    return {
        "institutions.csv": write_csv(INSTITUTIONS, institution_rows(institutions)),
        "agreements.csv": write_csv(AGREEMENTS, agreement_rows(agreements)),
        "registry.xlsx": write_xlsx([(INSTITUTIONS, institution_rows(institutions)),
                                     (AGREEMENTS, agreement_rows(agreements))]),
    }


def template() -> bytes:
    """The empty import template: Chinese headers, drop-downs and a sheet of allowed values."""
    return write_xlsx([(INSTITUTIONS, []), (AGREEMENTS, [])], template=True)

"""Exporting the exchange format (docs/exchange-format.md): exactly its columns, Chinese headers.

Every cell goes through `spreadsheets` (CSV as UTF-8 with a BOM so Excel shows
the Chinese; text that a spreadsheet would run as a formula escaped). Export →
import → export is the identity.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import zip_longest
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.models import Agreement, Institution, Region, clock
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


def write_xlsx(tables: list[tuple[Table, Iterable[list[Any]]]], day: date | None = None,
               template: bool = False) -> bytes:
    """A workbook, one sheet per table (机构, 签约协议), ready to read and print (spreadsheets.write_table).

    The header stays in row 1, alone, so the workbook imports again unchanged; the title and
    `day` (the day of the export, today when None) go in the page header. Dates are date cells,
    codes text. The rows are streamed unless it is the template.
    """
    day = day or clock.today()
    workbook = Workbook(write_only=not template)
    if template:
        workbook.remove(workbook.active)
    for table, rows in tables:
        spreadsheets.write_table(workbook, table.sheet, [[c.label for c in table.columns]], rows,
                                 _("医养结合登记：%(table)s", table=table.sheet), day,
                                 kinds=[_kind(c) for c in table.columns])
    if template:
        _allowed_values(workbook, day)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _kind(column: Column) -> str:
    """How a column's cells show in a workbook."""
    if column.type == "date":
        return spreadsheets.DATE
    if column.is_code:
        return spreadsheets.CODE
    if column.type in ("int", "float"):
        return spreadsheets.NUMBER
    return spreadsheets.TEXT


def _allowed_values(workbook: Workbook, day: date) -> None:
    """A sheet of the allowed values, and drop-downs in the template's columns."""
    regions = [r.name for r in db.session.scalars(select(Region).order_by(Region.position))]
    offered = [(table, c) for table in (INSTITUTIONS, AGREEMENTS) for c in table.columns
               if c.choices or c.type == "region"]
    lists = {_choice_title(c): list(c.choices) if c.choices else regions for _table, c in offered}
    spreadsheets.write_table(workbook, "可选值", [list(lists)], zip_longest(*lists.values()),
                             _("导入模板：可选值"), day)
    for position, (table, column) in enumerate(offered):
        if column.type == "services":
            continue  # several values a cell: no drop-down
        index = table.columns.index(column)
        source = get_column_letter(position + 1)
        validation = DataValidation(type="list", allow_blank=True,
                                    formula1=f"'可选值'!${source}$2:${source}${len(lists[_choice_title(column)]) + 1}")
        workbook[table.sheet].add_data_validation(validation)
        target = get_column_letter(index + 1)
        validation.add(f"{target}2:{target}5000")
    spreadsheets.write_table(workbook, "说明", [["说明"]], [[line] for line in (
        "日期写作 YYYY-MM-DD；空单元格表示没有值。",
        "机构编码为空时由系统编号；填写已有编码则更新该机构（缺少的列保持不变，空单元格清空该值）。",
        "所属区县可填名称或代码；内设机构在“设立单位机构编码”中填设立单位的机构编码（可为同一文件中的机构）。",
        "签约协议的养老机构编码、医疗机构编码、生效日期、到期日期和至少一项服务内容必填。",
    )], _("导入模板：说明"), day)


def _choice_title(column: Column) -> str:
    return f"{column.label}（用“、”或“;”分隔）" if column.type == "services" else column.label


def export_all(institutions: Select, agreements: Select, day: date | None = None) -> dict[str, bytes]:
    """institutions.csv, agreements.csv and registry.xlsx for the given queries (exported on `day`, today if None)."""
    return {
        "institutions.csv": write_csv(INSTITUTIONS, institution_rows(institutions)),
        "agreements.csv": write_csv(AGREEMENTS, agreement_rows(agreements)),
        "registry.xlsx": write_xlsx([(INSTITUTIONS, institution_rows(institutions)),
                                     (AGREEMENTS, agreement_rows(agreements))], day),
    }


def template() -> bytes:
    """The empty import template: Chinese headers, drop-downs and a sheet of allowed values."""
    return write_xlsx([(INSTITUTIONS, []), (AGREEMENTS, [])], template=True)

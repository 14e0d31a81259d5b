"""The 待办 list as an .xlsx workbook, ready to read and to print (openpyxl)."""

from __future__ import annotations

import unicodedata
from datetime import date
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from registry.display import region_names
from registry.services.formats import spreadsheets
from registry.services.todo import TodoItem
from registry.vocab import DEPARTMENT_NAMES

MAX_WIDTH = 60  # wider text wraps within its cell


def build(items: list[TodoItem], day: date) -> BytesIO:
    """One sheet: a row per item, as the page lists them."""
    names = region_names()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("待办事项")
    spreadsheets.append(sheet, [_("日期"), _("所属区县"), _("事项"), _("负责部门"), _("记录编号"), _("记录名称"),
                                _("距离（公里）")])
    for item in items:
        if item.institution:
            code, name = item.institution.code, item.institution.name
        else:
            code = item.agreement.code
            name = f"{item.agreement.eldercare.name} — {item.agreement.medical.name}"
        distance = round(item.distance_km, 1) if item.distance_km is not None else None
        spreadsheets.append(sheet, [item.since, names.get(item.region_code, item.region_code), item.text,
                                    str(DEPARTMENT_NAMES[item.department]), code, name, distance])
    _ready_to_print(sheet, _("待办事项（截至 %(day)s）", day=day.isoformat()))
    stream = BytesIO()
    workbook.save(stream)
    stream.seek(0)
    return stream


def _display_width(value: Any) -> int:
    """Columns a value takes in Excel or WPS: a CJK (wide) character counts as two."""
    if isinstance(value, date):
        return 10
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _ready_to_print(sheet: Worksheet, title: str) -> None:
    """A bold, frozen, filterable header row; fitted columns; A4 landscape, one page wide, titled."""
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, column in enumerate(sheet.iter_cols(), start=1):
        widest = max(_display_width(cell.value) for cell in column)
        sheet.column_dimensions[get_column_letter(index)].width = min(widest + 2, MAX_WIDTH)
        if widest + 2 > MAX_WIDTH:
            for cell in column[1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for cell in column[1:]:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.print_title_rows = "1:1"
    sheet.oddHeader.center.text = title

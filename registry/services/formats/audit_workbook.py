"""The audit log as a workbook (操作日志): the events a filter lets through, a row each, ready to read and print.

A bold header row, frozen and filtered; columns as wide as their content (a CJK character
counts as two); times as date cells; A4 landscape, fitted to the page's width, the header
row on every page, the title and date in the page header. Every cell goes through the one
safe writer (spreadsheets.append).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from registry.display import audit_summary
from registry.models import AuditEvent, clock
from registry.services.formats import spreadsheets
from registry.services.review import event_changes
from registry.vocab import AUDIT_ACTIONS, AUDIT_ENTITIES, DEPARTMENT_NAMES

MAX_ROWS = 20_000  # more than this is narrowed by its filters first (the page says so)
MAX_WIDTH = 60  # a wider column wraps its text instead
TIME_FORMAT = "yyyy-mm-dd hh:mm"


def display_width(value: Any) -> int:
    """How many character cells a value's longest line takes: a CJK (wide) character takes two."""
    if value is None:
        return 0
    if hasattr(value, "hour"):
        return len(TIME_FORMAT)
    lines = str(value).split("\n")
    return max(sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line) for line in lines)


def row(event: AuditEvent) -> list[Any]:
    """An event as the log's columns: time, who, what, department, record, summary, the fields changed."""
    changes = "\n".join(f"{change.label}: {change.before} → {change.after}" for change in event_changes(event))
    return [
        clock.local(event.at),
        event.user.username if event.user else _("系统"),
        str(AUDIT_ACTIONS.get(event.action, event.action)),
        str(DEPARTMENT_NAMES.get(event.department or "", "")),
        str(AUDIT_ENTITIES.get(event.entity, event.entity)),
        event.entity_id,
        audit_summary(event),
        changes,
    ]


def header() -> list[str]:
    return [_("时间"), _("操作人"), _("操作"), _("部门"), _("记录类型"), _("记录编号"), _("摘要"), _("变更内容")]


def _layout(sheet: Worksheet, widths: list[int], title: str) -> None:
    """Bold frozen header with a filter, fitted widths, A4 landscape with the header row on every page."""
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = min(width, MAX_WIDTH) + 2
    wrapped = {number for number, width in enumerate(widths, start=1) if width > MAX_WIDTH}
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if cell.column == 1:
                cell.number_format = TIME_FORMAT
            if cell.column in wrapped or (isinstance(cell.value, str) and "\n" in cell.value):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.oddHeader.center.text = title
    sheet.oddHeader.right.text = clock.today().isoformat()
    sheet.oddFooter.center.text = "&P / &N"


def build(events: Iterable[AuditEvent]) -> bytes:
    """The workbook of these events (loaded with their department, as audit.log gives them)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("操作日志")
    names = header()
    spreadsheets.append(sheet, names)
    widths = [display_width(name) for name in names]
    for event in events:
        values = row(event)
        spreadsheets.append(sheet, values)
        widths = [max(width, display_width(value)) for width, value in zip(widths, values, strict=True)]
    _layout(sheet, widths, _("操作日志"))
    stream = BytesIO()
    workbook.save(stream)
    return stream.getvalue()

"""The 待办 list as an .xlsx workbook, ready to read and to print (spreadsheets.write_table)."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from flask_babel import gettext as _
from openpyxl import Workbook

from registry.display import region_names
from registry.services.formats import spreadsheets
from registry.services.formats.spreadsheets import CODE, DATE, NUMBER, TEXT
from registry.services.todo import TodoItem
from registry.vocab import DEPARTMENT_NAMES


def build(items: list[TodoItem], day: date) -> BytesIO:
    """One sheet: a row per item, as the page lists them."""
    names = region_names()
    rows = []
    for item in items:
        if item.institution:
            code, name = item.institution.code, item.institution.name
        else:
            code = item.agreement.code
            name = f"{item.agreement.eldercare.name} — {item.agreement.medical.name}"
        distance = round(item.distance_km, 1) if item.distance_km is not None else None
        rows.append([item.since, names.get(item.region_code, item.region_code), item.text,
                     str(DEPARTMENT_NAMES[item.department]), code, name, distance])
    workbook = Workbook()
    workbook.remove(workbook.active)
    header = [_("日期"), _("所属区县"), _("事项"), _("负责部门"), _("记录编号"), _("记录名称"), _("距离（公里）")]
    spreadsheets.write_table(workbook, _("待办事项"), [header], rows, _("待办事项"),
                             day, kinds=[DATE, TEXT, TEXT, TEXT, CODE, TEXT, NUMBER])
    stream = BytesIO()
    workbook.save(stream)
    stream.seek(0)
    return stream

"""An approved period report as the workbook bureaus send upward (openpyxl).

The first sheet is the form itself: a merged title, 填报单位 and the period, one row per
indicator under 序号 with numerator, denominator, value, target and gap, then the
填表人 / 审核人 / 日期 lines, set up to print on A4. The member lists follow, a sheet each.
Every cell and every sheet's print layout goes through the one writer (spreadsheets).
"""

from __future__ import annotations

from datetime import UTC, date
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from registry.display import region_names
from registry.models import PeriodReport, Region
from registry.models.clock import registry_zone
from registry.services import reports
from registry.services.formats import spreadsheets
from registry.services.formats.spreadsheets import CODE, DATE, NUMBER, SHARE, TEXT
from registry.services.periods import Period

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
SYMBOLS = {">=": "≥", "<=": "≤", "==": "="}
# 序号 指标 条款 分子 分母 数值 目标 差距 是否达标: what each cell of a share's row and a count's row holds
SHARE_ROW = (NUMBER, TEXT, TEXT, NUMBER, NUMBER, SHARE, TEXT, SHARE, TEXT)
COUNT_ROW = (NUMBER, TEXT, TEXT, NUMBER, NUMBER, NUMBER, TEXT, NUMBER, TEXT)


def _person(user) -> str:
    return (user.full_name or user.username) if user is not None else ""


def _local_day(moment) -> str:
    """A stored UTC time as Maoming's date."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=UTC).astimezone(registry_zone()).date().isoformat()


def requirement(comparator: str, value: Any, share: bool) -> str:
    """≥ 10, or ≥ 100%: what a target asks for."""
    shown = f"{float(value) * 100:g}%" if share else f"{float(value):g}"
    return f"{SYMBOLS.get(comparator, comparator)} {shown}"


def target_text(target: dict[str, Any] | None, share: bool) -> str:
    """≥ 10（2022-12-31）, or ≥ 100%（…）, as the form writes a target."""
    if target is None:
        return ""
    return f"{requirement(target['comparator'], target['value'], share)}（{target['deadline']}）"


def gap_value(target: dict[str, Any] | None, share: bool) -> Any:
    if target is None or target.get("gap") is None:
        return None
    return target["gap"] if share else int(target["gap"]) if float(target["gap"]).is_integer() else target["gap"]


def _form_sheet(sheet: Worksheet, report: PeriodReport, region: Region, period: Period) -> None:
    header = [_("序号"), _("指标"), _("条款"), _("分子"), _("分母"), _("数值"), _("目标"), _("差距"), _("是否达标")]
    lines = []
    for row in reports.rows(report.snapshot):
        entry, share, target = row.entry, row.indicator.share, row.target
        lines.append(([
            row.number, str(row.indicator.label), row.indicator.clause,
            entry.get("numerator") if share else None, entry.get("denominator") if share else None,
            entry.get("value"), target_text(target, share), gap_value(target, share),
            (_("达标") if target["met"] else _("未达标")) if target else "",
        ], SHARE_ROW if share else COUNT_ROW))
    widths = spreadsheets.widen([], header)
    for values, kinds in lines:
        widths = spreadsheets.widen(widths, values, kinds)
    wrapped = spreadsheets.set_widths(sheet, widths)
    columns = len(header)
    last = get_column_letter(columns)
    title = _("茂名市医养结合工作指标上报表")
    spreadsheets.append(sheet, [title])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center")
    name = region_names().get(region.code, region.name)
    spreadsheets.append(sheet, [_("填报单位：%(region)s", region=name)] + [None] * 4
                        + [_("统计期：%(period)s（截至 %(day)s）", period=period.label, day=report.as_of.isoformat())])
    sheet.merge_cells("A2:E2")
    sheet.merge_cells(f"F2:{last}2")
    spreadsheets.append(sheet, [_("依据：茂卫〔2020〕63号《关于深入推进医养结合发展的工作方案》；第 %(v)s 版", v=report.version)])
    sheet.merge_cells(f"A3:{last}3")
    spreadsheets.append(sheet, header, bold=True)
    header_row = sheet.max_row
    for values, kinds in lines:
        spreadsheets.append(sheet, values, kinds, wrapped)
    for line in sheet.iter_rows(min_row=header_row, max_row=sheet.max_row, max_col=columns):
        for cell in line:
            cell.border = BOX
            cell.alignment = Alignment(vertical="center", wrap_text=True)
    for cell in sheet[header_row]:
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    last_row = sheet.max_row
    spreadsheets.append(sheet, [])
    spreadsheets.append(sheet, [_("填表人：%(name)s", name=_person(report.submitted_by)), None, None,
                                _("审核人：%(name)s", name=_person(report.decided_by)), None, None,
                                _("日期：%(day)s", day=_local_day(report.decided_at))])
    spreadsheets.ready_to_print(sheet, widths, f"{title} · {name} · {period.label}", report.as_of,
                                (header_row, header_row), last_row)


def _list_sheet(workbook: Workbook, title: str, heading: str, members: list[list[Any]], training: bool,
                day: date) -> None:
    header = [_("序号"), _("日期") if training else _("机构编码"), _("主办单位") if training else _("机构名称")]
    rows = [[number, date.fromisoformat(code) if training else code, name]
            for number, (_id, code, name) in enumerate(members, start=1)]
    spreadsheets.write_table(workbook, title[:31], [header], rows, heading, day,
                             kinds=[NUMBER, DATE if training else CODE, TEXT], caption=[heading])


def build(report: PeriodReport, region: Region, period: Period) -> bytes:
    """The workbook of one version of a region's report."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("上报表")
    _form_sheet(sheet, report, region, period)
    for row in reports.rows(report.snapshot):
        training = row.indicator.key == "trained_in_year"
        _list_sheet(workbook, f"{row.number}-{row.indicator.short}-{_('计入')}",
                    f"{row.number}. {row.indicator.label}（{_('计入')}）", row.entry.get("members", []), training,
                    report.as_of)
        if "missing" in row.entry:
            _list_sheet(workbook, f"{row.number}-{row.indicator.short}-{_('缺口')}",
                        f"{row.number}. {row.indicator.label}（{_('缺口')}）", row.entry["missing"], training,
                        report.as_of)
    stream = BytesIO()
    workbook.save(stream)
    return stream.getvalue()


"""An approved period report as the workbook bureaus send upward (openpyxl).

The first sheet is the form itself: a merged title, 填报单位 and the period, one row per
indicator under 序号 with numerator, denominator, value, target and gap, then the
填表人 / 审核人 / 日期 lines, set up to print on A4. The member lists follow, a sheet each.
Every cell goes through the one safe writer (spreadsheets.safe_cell).
"""

from __future__ import annotations

from datetime import UTC
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
from registry.services.periods import Period

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WIDTHS = (6, 46, 8, 10, 10, 12, 20, 12, 10)
SYMBOLS = {">=": "≥", "<=": "≤", "==": "="}  # 序号 指标 条款 分子 分母 数值 目标 差距 达标


def _person(user) -> str:
    return (user.full_name or user.username) if user is not None else ""


def _local_day(moment) -> str:
    """A stored UTC time as Maoming's date."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=UTC).astimezone(registry_zone()).date().isoformat()


def target_text(target: dict[str, Any] | None, share: bool) -> str:
    """≥ 10（2022-12-31）, or ≥ 100%（…）, as the form writes a target."""
    if target is None:
        return ""
    value = f"{target['value'] * 100:g}%" if share else f"{target['value']:g}"
    return f"{SYMBOLS.get(target['comparator'], target['comparator'])} {value}（{target['deadline']}）"


def gap_value(target: dict[str, Any] | None, share: bool) -> Any:
    if target is None or target.get("gap") is None:
        return None
    return target["gap"] if share else int(target["gap"]) if float(target["gap"]).is_integer() else target["gap"]


def _form_sheet(sheet: Worksheet, report: PeriodReport, region: Region, period: Period) -> None:
    columns = len(WIDTHS)
    last = get_column_letter(columns)
    spreadsheets.append(sheet, [_("茂名市医养结合工作指标上报表")])
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
    header = [_("序号"), _("指标"), _("条款"), _("分子"), _("分母"), _("数值"), _("目标"), _("差距"), _("是否达标")]
    spreadsheets.append(sheet, header)
    header_row = sheet.max_row
    for row in reports.rows(report.snapshot):
        entry, share, target = row.entry, row.indicator.share, row.target
        spreadsheets.append(sheet, [
            row.number, str(row.indicator.label), row.indicator.clause,
            entry.get("numerator") if share else None, entry.get("denominator") if share else None,
            entry.get("value"), target_text(target, share), gap_value(target, share),
            (_("达标") if target["met"] else _("未达标")) if target else "",
        ])
        if share:
            sheet.cell(sheet.max_row, 6).number_format = "0.0%"
            sheet.cell(sheet.max_row, 8).number_format = "0.0%"
    for line in sheet.iter_rows(min_row=header_row, max_row=sheet.max_row, max_col=columns):
        for cell in line:
            cell.border = BOX
            cell.alignment = Alignment(vertical="center", wrap_text=True)
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    spreadsheets.append(sheet, [])
    spreadsheets.append(sheet, [_("填表人：%(name)s", name=_person(report.submitted_by)), None, None,
                                _("审核人：%(name)s", name=_person(report.decided_by)), None, None,
                                _("日期：%(day)s", day=_local_day(report.decided_at))])
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    _a4(sheet, landscape=True)


def _a4(sheet: Worksheet, landscape: bool) -> None:
    """A4, fitted to the page's width, centred; the page number in the footer."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.oddFooter.center.text = "&P / &N"


def _list_sheet(workbook: Workbook, title: str, heading: str, members: list[list[Any]], training: bool) -> None:
    sheet = workbook.create_sheet(title[:31])
    spreadsheets.append(sheet, [heading])
    sheet["A1"].font = Font(bold=True)
    spreadsheets.append(sheet, [_("序号"), _("日期") if training else _("机构编码"),
                                _("主办单位") if training else _("机构名称")])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for number, (_id, code, name) in enumerate(members, start=1):
        spreadsheets.append(sheet, [number, code, name])
    for letter, width in zip("ABC", (6, 14, 48), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.print_title_rows = "2:2"
    sheet.freeze_panes = "A3"
    _a4(sheet, landscape=False)


def build(report: PeriodReport, region: Region, period: Period) -> bytes:
    """The workbook of one version of a region's report."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("上报表")
    _form_sheet(sheet, report, region, period)
    for row in reports.rows(report.snapshot):
        training = row.indicator.key == "trained_in_year"
        _list_sheet(workbook, f"{row.number}-{row.indicator.short}-{_('计入')}",
                    f"{row.number}. {row.indicator.label}（{_('计入')}）", row.entry.get("members", []), training)
        if "missing" in row.entry:
            _list_sheet(workbook, f"{row.number}-{row.indicator.short}-{_('缺口')}",
                        f"{row.number}. {row.indicator.label}（{_('缺口')}）", row.entry["missing"], training)
    stream = BytesIO()
    workbook.save(stream)
    return stream.getvalue()


"""The compliance dashboard as an .xlsx workbook (openpyxl), ready to read and print.

The first sheet is the dashboard's table: the indicators down the side, the city and the
regions shown across, each indicator a block of rows — its value (a share with its
numerator and denominator), then for each deadline judged on the day its target, the gap
and whether it is met. It prints on one or two A4 pages. The drill-down lists follow, a
sheet each. Every cell and every sheet's print layout goes through the one writer
(spreadsheets).
"""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Side
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import selectinload

from registry.display import region_names
from registry.extensions import db
from registry.models import TrainingRecord
from registry.services import compliance
from registry.services.formats import spreadsheets
from registry.services.formats.report_workbook import requirement
from registry.services.formats.spreadsheets import CODE, DATE, NUMBER, SHARE, TEXT
from registry.services.infra import compliance_cache
from registry.vocab import KINDS, MEDICAL_TYPES

LABEL_WIDTH = 24  # the indicator's name wraps over its block of rows
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTRED = Alignment(horizontal="center")
INSTITUTION_KINDS = (CODE, TEXT, TEXT, TEXT, TEXT, NUMBER, TEXT, DATE, DATE)
TRAINING_KINDS = (DATE, TEXT, TEXT, NUMBER, NUMBER)


def build(day: date, regions: list[str] | None) -> BytesIO:
    """Indicators for the city and the regions shown, then each drill-down list.

    `regions` None means every region (and the city lists); otherwise only the
    listed regions are shown and drilled into, as a district official sees them.
    """
    report = compliance_cache.report(day)
    names = region_names()
    shown = [r.code for r in report.regions if regions is None or r.code in regions]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("指标")
    _table_sheet(sheet, report, shown, names)

    scope = None if regions is None else (regions[0] if len(regions) == 1 else None)
    scope_name = _("全市") if scope is None else names.get(scope, scope)
    for key, indicator in compliance.INDICATORS.items():
        lists = [(False, _("计入"))]
        if indicator.has_missing:
            lists.append((True, _("缺口")))
        for missing, suffix in lists:
            query = compliance.members(key, day, scope, missing)
            entity = query.column_descriptions[0]["entity"]
            if entity is not TrainingRecord:
                query = query.options(selectinload(entity.host))
            heading = f"{indicator.label}（{suffix}）· {scope_name}"
            if key == "trained_in_year":
                header = [_("日期"), _("主办单位"), _("所属区县"), _("医疗护理人员"), _("养老护理员")]
                rows = ([r.held_on, r.organiser, names.get(r.region_code), r.medical_nursing, r.caregivers]
                        for r in db.session.scalars(query))
                kinds = TRAINING_KINDS
            else:
                header = [_("机构编码"), _("机构名称"), _("机构类别"), _("所属区县"), _("类型"), _("床位数"),
                          _("设立单位"), _("成立日期"), _("停业日期")]
                rows = (_institution_row(i, names) for i in db.session.scalars(query))
                kinds = INSTITUTION_KINDS
            spreadsheets.write_table(workbook, f"{indicator.short}-{suffix}"[:31], [header], rows, heading, day,
                                     kinds=kinds, caption=[heading])
    stream = BytesIO()
    workbook.save(stream)
    stream.seek(0)
    return stream


def _institution_row(institution, names: dict[str, str]) -> list[Any]:
    return [
        institution.code, institution.name, str(KINDS[institution.kind]), names.get(institution.region_code),
        str(MEDICAL_TYPES.get(institution.medical_type, "")) if institution.medical_type else "",
        institution.beds_total, institution.host.name if institution.host else "",
        institution.opened_on, institution.closed_on,
    ]


def _blocks(report: compliance.Report, scopes: list[str]) -> list[list[tuple[list[Any], tuple[str, ...]]]]:
    """Each indicator's rows (values and what each cell holds), as the dashboard's cells show them."""
    blocks = []
    for key, indicator in compliance.INDICATORS.items():
        figures = [report.figure(key, scope) for scope in scopes]
        measure = SHARE if indicator.share else NUMBER
        kinds = (TEXT, TEXT, TEXT) + (measure,) * len(scopes)
        counts = (TEXT, TEXT, TEXT) + (NUMBER,) * len(scopes)
        texts = (TEXT,) * (3 + len(scopes))
        values = [f.value if f.value is not None else "—" for f in figures]
        rows = [([str(indicator.label), indicator.clause, _("数值"), *values], kinds)]
        if indicator.share:
            rows.append(([None, None, _("分子"), *[f.numerator for f in figures]], counts))
            rows.append(([None, None, _("分母"), *[f.denominator for f in figures]], counts))
        by_deadline: dict[date, dict[str, compliance.TargetResult]] = {}
        for scope in scopes:
            for result in report.targets_for(key, scope):
                by_deadline.setdefault(result.target.deadline, {}).setdefault(scope, result)
        for deadline in sorted(by_deadline):
            results = [by_deadline[deadline].get(scope) for scope in scopes]
            rows.append(([None, None, _("目标（%(day)s）", day=deadline.isoformat()),
                          *[requirement(r.target.comparator, r.target.value, indicator.share) if r else None
                            for r in results]], texts))
            rows.append(([None, None, _("差距"), *[_gap(r, indicator.share) for r in results]], kinds))
            rows.append(([None, None, _("完成情况"), *[_status(r) for r in results]], texts))
        blocks.append(rows)
    return blocks


def _gap(result: compliance.TargetResult | None, share: bool) -> Any:
    if result is None or result.gap is None:
        return None
    return result.gap if share or not float(result.gap).is_integer() else int(result.gap)


def _status(result: compliance.TargetResult | None) -> str | None:
    if result is None:
        return None
    if result.met:
        return _("达标")
    return _("逾期未达标") if result.overdue else _("未达标")


def _table_sheet(sheet: Worksheet, report: compliance.Report, shown: list[str], names: dict[str, str]) -> None:
    """The dashboard's table: indicators down, 全市 and the regions across; one or two A4 pages."""
    scopes = [compliance.CITY, *shown]
    header = [_("指标"), _("条款"), _("项目"), _("全市"), *[names.get(code, code) for code in shown]]
    blocks = _blocks(report, scopes)
    widths = spreadsheets.widen([], header)
    for values, kinds in (row for block in blocks for row in block):
        widths = spreadsheets.widen(widths, values, kinds)
    widths[0] = min(widths[0], LABEL_WIDTH)
    wrapped = spreadsheets.set_widths(sheet, widths)
    day = report.as_of.isoformat()
    if report.target_set:
        basis = _("截至 %(day)s；依据 %(doc)s《%(title)s》", day=day, doc=report.target_set.document_no,
                  title=report.target_set.title)
    else:
        basis = _("截至 %(day)s", day=day)
    spreadsheets.append(sheet, [basis], bold=True)
    spreadsheets.append(sheet, header, bold=True)
    for rows in blocks:
        first = sheet.max_row + 1
        for values, kinds in rows:
            spreadsheets.append(sheet, values, kinds, wrapped)
        if len(rows) > 1:
            sheet.merge_cells(start_row=first, end_row=sheet.max_row, start_column=1, end_column=1)
            sheet.merge_cells(start_row=first, end_row=sheet.max_row, start_column=2, end_column=2)
        for column in (1, 2):
            sheet.cell(first, column).alignment = Alignment(vertical="center", wrap_text=True)
    last_row = sheet.max_row
    for line in sheet.iter_rows(min_row=2, max_row=last_row, max_col=len(header)):
        for cell in line:
            cell.border = BOX
            if cell.column > 3:  # a figure, a target, a gap or a verdict: centred under its region
                cell.alignment = CENTRED
    note = _("内设机构计入设立单位所在区县；滨海新区、高新区计入全市合计，不单列“各区、县级市”目标。"
             "占比为分子/分母，分母为 0 时显示“—”。")
    spreadsheets.append(sheet, [note])
    sheet.merge_cells(start_row=last_row + 1, end_row=last_row + 1, start_column=1, end_column=len(header))
    sheet.cell(last_row + 1, 1).alignment = Alignment(vertical="top", wrap_text=True)
    lines = -(-spreadsheets.display_width(note) // sum(min(w, spreadsheets.MAX_WIDTH) for w in widths))
    sheet.row_dimensions[last_row + 1].height = 15 * lines + 3  # a merged cell does not grow its row
    spreadsheets.ready_to_print(sheet, widths, _("医养结合指标完成情况"), report.as_of, (2, 2), last_row)

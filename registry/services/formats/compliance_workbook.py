"""The compliance dashboard as an .xlsx workbook (openpyxl)."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import selectinload

from registry.display import region_names
from registry.extensions import db
from registry.models import TrainingRecord
from registry.services import compliance
from registry.services.formats import spreadsheets
from registry.services.infra import compliance_cache
from registry.vocab import KINDS, MEDICAL_TYPES


def build(day: date, regions: list[str] | None) -> BytesIO:
    """Indicators for the city and the regions shown, then each drill-down list.

    `regions` None means every region (and the city lists); otherwise only the
    listed regions are drilled into, as a district official sees them.
    """
    report = compliance_cache.report(day)
    names = region_names()
    shown = [r.code for r in report.regions if regions is None or r.code in regions]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("指标")
    spreadsheets.append(sheet, [_("截至日期"), day.isoformat(), _("目标依据"),
                                report.target_set.document_no if report.target_set else ""])
    spreadsheets.append(sheet, [])
    header = [_("指标"), _("条款"), _("范围"), _("数值"), _("分子"), _("分母"), _("目标"), _("期限"),
              _("是否达标"), _("是否逾期")]
    spreadsheets.append(sheet, header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for key, indicator in compliance.INDICATORS.items():
        for scope in [compliance.CITY, *shown]:
            figure = report.figure(key, scope)
            label = _("全市") if scope == compliance.CITY else names[scope]
            targets = report.targets_for(key, scope) or [None]
            for result in targets:
                spreadsheets.append(sheet, [
                    str(indicator.label), indicator.clause, label, figure.value, figure.numerator,
                    figure.denominator,
                    float(result.target.value) if result else None,
                    result.target.deadline.isoformat() if result else None,
                    (_("达标") if result.met else _("未达标")) if result else None,
                    (_("逾期") if result.overdue else "") if result else None,
                ])
    sheet.column_dimensions["A"].width = 44

    scope = None if regions is None else (regions[0] if len(regions) == 1 else None)
    for key, indicator in compliance.INDICATORS.items():
        lists = [(False, _("计入"))]
        if indicator.has_missing:
            lists.append((True, _("缺口")))
        for missing, suffix in lists:
            query = compliance.members(key, day, scope, missing)
            entity = query.column_descriptions[0]["entity"]
            if entity is not TrainingRecord:
                query = query.options(selectinload(entity.host))
            rows = db.session.scalars(query)
            ws = workbook.create_sheet(f"{indicator.short}-{suffix}"[:31])
            spreadsheets.append(ws, [str(indicator.label), suffix])
            if key == "trained_in_year":
                spreadsheets.append(ws, [_("日期"), _("主办单位"), _("所属区县"), _("医疗护理人员"),
                                         _("养老护理员")])
                for record in rows:
                    record: TrainingRecord
                    spreadsheets.append(ws, [record.held_on.isoformat(), record.organiser,
                                             names.get(record.region_code), record.medical_nursing,
                                             record.caregivers])
            else:
                spreadsheets.append(ws, [_("机构编码"), _("机构名称"), _("机构类别"), _("所属区县"), _("类型"),
                                         _("床位数"), _("设立单位"), _("成立日期"), _("停业日期")])
                for institution in rows:
                    spreadsheets.append(ws, [
                        institution.code, institution.name, str(KINDS[institution.kind]),
                        names.get(institution.region_code),
                        str(MEDICAL_TYPES.get(institution.medical_type, "")) if institution.medical_type else "",
                        institution.beds_total, institution.host.name if institution.host else "",
                        institution.opened_on.isoformat(),
                        institution.closed_on.isoformat() if institution.closed_on else "",
                    ])
            ws.column_dimensions["B"].width = 36
    stream = BytesIO()
    workbook.save(stream)
    stream.seek(0)
    return stream

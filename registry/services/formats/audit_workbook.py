"""The audit log as a workbook (操作日志): the events a filter lets through, a row each, ready to read and print.

A bold header row, frozen and filtered; columns as wide as their content (a CJK character
counts as two); times as date cells; A4 landscape, fitted to the page's width, the header
row on every page, the title and date in the page header: spreadsheets.write_table, the one
writer of every cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook

from registry.display import audit_summary
from registry.models import AuditEvent, clock
from registry.services.formats import spreadsheets
from registry.services.formats.spreadsheets import NUMBER, TEXT, TIME
from registry.services.review import event_changes
from registry.vocab import AUDIT_ACTIONS, AUDIT_ENTITIES, DEPARTMENT_NAMES

MAX_ROWS = 20_000  # more than this is narrowed by its filters first (the page says so)


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


def build(events: Iterable[AuditEvent]) -> bytes:
    """The workbook of these events (loaded with their department, as audit.log gives them)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    spreadsheets.write_table(workbook, _("操作日志"), [header()], (row(event) for event in events), _("操作日志"),
                             clock.today(), kinds=[TIME, TEXT, TEXT, TEXT, TEXT, NUMBER, TEXT, TEXT])
    stream = BytesIO()
    workbook.save(stream)
    return stream.getvalue()

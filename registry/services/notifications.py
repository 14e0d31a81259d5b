"""The bell (提醒): what is waiting for the user, counted for the page header.

Requests waiting for the user's decision; the user's own requests decided since they last
looked; period reports due (a district's) or waiting for approval (the city's); and active
agreements of the user's regions that end within the 待办 notice period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from registry import permissions
from registry.extensions import db
from registry.models import Agreement, ChangeRequest, PeriodReport, User
from registry.models.review import APPROVED, PENDING, RETURNED, SUBMITTED
from registry.services import periods, reports, todo

LABELS = {
    "waiting": _l("待我审核的变更申请"),
    "decided": _l("我的申请已有审核结果"),
    "report_due": _l("本辖区有待上报或被退回的报告"),
    "reports_waiting": _l("待审核的区县上报"),
    "expiring": _l("本辖区60天内到期的签约协议"),
}


ENDPOINTS = {"waiting": "review.queue", "decided": "review.mine", "reports_waiting": "reports.index",
             "expiring": "compliance.todo_list"}


@dataclass(frozen=True)
class Notice:
    """One kind of thing waiting, how many, and the page where they are."""

    kind: str
    count: int
    endpoint: str
    args: tuple[tuple[str, str], ...] = ()

    @property
    def label(self):
        return LABELS[self.kind]


def _counts(queries: dict[str, Select]) -> dict[str, int]:
    """How many rows each query finds, in one statement: this runs on every page (the bell, the menu)."""
    if not queries:
        return {}
    row = db.session.execute(select(*(
        query.with_only_columns(func.count()).order_by(None).scalar_subquery().label(kind)
        for kind, query in queries.items()
    ))).one()
    return {kind: int(count or 0) for kind, count in zip(queries, row, strict=True)}


def notices(user: User, today: date) -> list[Notice]:
    """Everything waiting for `user` on `today`, kinds with nothing left out."""
    counted: dict[str, Select] = {}
    if permissions.reviews(user):
        waiting = permissions.change_requests_for(user).where(ChangeRequest.status == PENDING,
                                                              ChangeRequest.submitted_by_id != user.id)
        if user.role != "admin":
            waiting = waiting.where(ChangeRequest.department == user.role)
        counted["waiting"] = waiting
    counted["decided"] = select(ChangeRequest).where(ChangeRequest.submitted_by_id == user.id,
                                                     ChangeRequest.status.in_((APPROVED, RETURNED)),
                                                     ChangeRequest.seen.is_(False))
    if permissions.decides_reports(user):
        counted["reports_waiting"] = reports.latest_versions().where(PeriodReport.status == SUBMITTED)
    counted["expiring"] = permissions.agreements_for(user).where(
        Agreement.active_on(today), Agreement.expires_within(today, todo.EXPIRY_NOTICE_DAYS))
    counts = _counts(counted)

    found = [Notice(kind, counts[kind], ENDPOINTS[kind]) for kind in ("waiting", "decided") if kind in counts]
    if user.region_code is not None and user.role in ("civil_affairs", "health"):
        waiting = [p for p in periods.due(today)
                   if reports.status_of(reports.latest(p, user.region_code)) in (reports.NOT_SUBMITTED, RETURNED)]
        if waiting:
            found.append(Notice("report_due", len(waiting), "reports.region_view",
                                (("key", waiting[0].key), ("region", user.region_code))))
    found += [Notice(kind, counts[kind], ENDPOINTS[kind]) for kind in ("reports_waiting", "expiring") if kind in counts]
    return [n for n in found if n.count]

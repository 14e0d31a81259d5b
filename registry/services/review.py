"""Change requests (区县录入 → 市级审核, docs/review-and-reporting.md): a district's change that moves an indicator waits.

What waits is defined here (`REVIEWED_FIELDS`), once: a new record, the opening and closing
days, the host, the region, the kind fields an indicator reads (beds, medical type), and an
agreement's parties, dates and services; a whole import by district staff. It waits for the
city bureau of the record's department (vocab.REVIEWERS). Other fields, and every change by
city staff and administrators, apply at once (services/changes.py decides which is which).

A request holds the values asked for as JSON. It is applied by the same service functions a
form uses (`_apply`), so every rule holds when it is approved; when it is submitted, the same
call runs once inside a savepoint and is rolled back, which checks it and measures what it
would move (`impact`). A request whose fields someone changed since it was submitted is stale
and is never applied.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Select, func, or_, select

from registry import permissions
from registry.display import region_names
from registry.extensions import db
from registry.models import (
    Agreement,
    AuditEvent,
    ChangeRequest,
    ImportUpload,
    Institution,
    User,
    clock,
)
from registry.models.clock import utcnow
from registry.models.review import APPROVED, PENDING, RETURNED, WITHDRAWN
from registry.services import RecordInvalid, agreements, audit, compliance, containing, institutions, reports
from registry.vocab import (
    AGREEMENT,
    CIVIL_AFFAIRS,
    ELDERCARE,
    FIELD_LABELS,
    HEALTH,
    IMPORT,
    LEVELS,
    MEDICAL,
    MEDICAL_TYPES,
    OWNERSHIPS,
    RATINGS,
    REVIEWERS,
    ROLES,
    SERVICES,
)

# The fields whose change moves an indicator (docs/indicators.md; docs/review-and-reporting.md). beds_nursing goes with beds_total (≤ it),
# signed_on with the validity (≤ valid_to), so no rule spans a field applied now and one that waits.
REVIEWED_FIELDS = {
    ELDERCARE: frozenset({"opened_on", "closed_on", "host", "region_code", "beds_total", "beds_nursing"}),
    MEDICAL: frozenset({"opened_on", "closed_on", "host", "region_code", "medical_type"}),
    AGREEMENT: frozenset({"eldercare", "medical", "signed_on", "valid_from", "valid_to", "terminated_on",
                          "services"}),
}
SUBJECTS = {ELDERCARE: _l("养老机构"), MEDICAL: _l("医疗卫生机构"), AGREEMENT: _l("签约协议"), IMPORT: _l("导入文件")}
ACTIONS = {"create": _l("新增"), "update": _l("修改"), "close": _l("停业"), "terminate": _l("终止"),
           "import": _l("导入")}
STATUSES = {PENDING: _l("待审核"), APPROVED: _l("已通过"), RETURNED: _l("已退回"), WITHDRAWN: _l("已撤回")}
# A service's field holding a record, and the column the audit snapshot holds it in.
REFERENCES = {"host": "host_id", "eldercare": "eldercare_id", "medical": "medical_id"}
DATE_FIELDS = frozenset(c.name for table in (Institution.__table__, Agreement.__table__) for c in table.columns
                        if isinstance(c.type, Date))
ENTITIES = {ELDERCARE: "institutions", MEDICAL: "institutions", AGREEMENT: "agreements", IMPORT: "import_uploads"}


class RequestRefused(Exception):
    """A step the request's state does not allow; the message says why."""


def required(user: User | None) -> bool:
    """Whether the user's changes that move an indicator wait for review: district-bound staff, review on."""
    return (bool(current_app.config["REVIEW_CHANGES"]) and user is not None
            and user.role in (CIVIL_AFFAIRS, HEALTH) and user.region_code is not None)


def subject_of(record: Institution | Agreement) -> str:
    return record.kind if isinstance(record, Institution) else AGREEMENT


# --- values as JSON -------------------------------------------------------------------------------


def encode(values: dict[str, Any]) -> dict[str, Any]:
    """A service's values as JSON: records by id, days as YYYY-MM-DD."""
    def plain(value: Any) -> Any:
        if isinstance(value, (Institution, Agreement)):
            return value.id
        if isinstance(value, date):
            return value.isoformat()
        return list(value) if isinstance(value, (list, tuple)) else value
    return {field: plain(value) for field, value in values.items()}


def decode(values: dict[str, Any]) -> dict[str, Any]:
    """`encode` undone: ids to the records they name (RecordInvalid when one is gone), days to dates."""
    decoded = {}
    for field, value in values.items():
        if field in REFERENCES and value is not None:
            record = db.session.get(Institution, value)
            if record is None:
                raise RecordInvalid({field: _("%(field)s已不存在", field=FIELD_LABELS[field])})
            value = record
        elif field in DATE_FIELDS and value is not None:
            value = date.fromisoformat(value)
        decoded[field] = value
    return decoded


def _comparable(value: Any) -> Any:
    if isinstance(value, (Institution, Agreement)):
        return value.id
    return sorted(value) if isinstance(value, list) else value


def reviewed_changes(subject: str, record: Institution | Agreement | None, values: dict[str, Any]) -> dict[str, Any]:
    """The fields of `values` that move an indicator and differ from the record's (all of them for a new one)."""
    cleaned = agreements.clean(values) if subject == AGREEMENT else institutions.clean(subject, values)
    wanted = {f: v for f, v in cleaned.items() if f in REVIEWED_FIELDS[subject]}
    if "services" in values and values["services"] is not None:
        wanted["services"] = list(dict.fromkeys(values["services"]))
    if record is None:
        return wanted
    return {f: v for f, v in wanted.items() if _comparable(v) != _comparable(getattr(record, f))}


# --- submitting -----------------------------------------------------------------------------------


def submit(user: User, subject: str, action: str, values: dict[str, Any],
           record: Institution | Agreement | None = None) -> ChangeRequest:
    """A change request for a record (None: a new one), checked by a dry run of the change itself.

    The dry run applies the request inside a savepoint and rolls it back: a broken rule raises
    RecordInvalid as a form save would, and the indicators it moves are kept (`impact`).
    """
    region = _region_of(subject, record, values)
    encoded = encode(values)
    request = ChangeRequest(
        subject=subject, action=action, department=REVIEWERS[subject], region_code=region,
        entity=ENTITIES[subject], entity_id=record.id if record is not None else None,
        summary=_summary(subject, record, values)[:300], values=encoded,
        before=encode({f: getattr(record, f) for f in values if f in REVIEWED_FIELDS[subject]})
        if record is not None else None,
        base=audit.snapshot(record) if record is not None else None,
        base_version=record.version if record is not None else None,
        submitted_by_id=user.id,
    )
    db.session.add(request)
    db.session.flush()
    trial = preview(request, watch=False)
    if trial.problems:
        raise RecordInvalid(trial.problems)
    request.impact = trial.impact
    with audit.linked_to(request):
        audit.record("request", request, after=encoded, summary=request.summary, user=user)
    return request


def submit_import(user: User, upload: ImportUpload, result: dict[str, Any]) -> ChangeRequest:
    """A whole file's import as one request, reviewed with its validation report."""
    request = ChangeRequest(
        subject=IMPORT, action="import", department=user.role, region_code=user.region_code,
        entity="import_uploads", entity_id=upload.id, summary=upload.filename[:300],
        values={"filename": upload.filename}, upload_id=upload.id, submitted_by_id=user.id,
        report={k: result.get(k) for k in ("counts", "warnings", "rows", "duplicates", "backdated")},
        impact=result.get("impact"),
    )
    db.session.add(request)
    db.session.flush()
    with audit.linked_to(request):
        audit.record("request", request, after=request.values, summary=request.summary, user=user)
    return request


def _region_of(subject: str, record: Institution | Agreement | None, values: dict[str, Any]) -> str:
    """The region a request belongs to: the record's (an agreement's home's), or the new record's."""
    if subject == AGREEMENT:
        home = values.get("eldercare") or (record.eldercare if record is not None else None)
        return home.region_code
    return values.get("region_code") or record.region_code


def _summary(subject: str, record: Institution | Agreement | None, values: dict[str, Any]) -> str:
    if record is not None:
        return getattr(record, "name", None) or record.code
    if subject == AGREEMENT:
        return f"{values['eldercare'].name} — {values['medical'].name}"
    return values.get("name") or ""


# --- applying -------------------------------------------------------------------------------------


def record_of(request: ChangeRequest) -> Institution | Agreement | None:
    """The record a request is about, as it stands now (None for a new record not yet approved)."""
    if request.entity_id is None or request.subject == IMPORT:
        return None
    model = Agreement if request.subject == AGREEMENT else Institution
    return db.session.get(model, request.entity_id)


def _apply(request: ChangeRequest) -> Institution | Agreement:
    """Make the change through the service a form uses; the record it created or changed."""
    values = decode(request.values)
    record = record_of(request)
    if request.action != "create" and record is None:
        raise RecordInvalid({"id": _("该记录已被删除，不能再应用此变更")})
    if request.subject == AGREEMENT:
        services = values.pop("services", None)
        if request.action == "create":
            return agreements.create(values, services or [])
        if request.action == "terminate":
            agreements.terminate(record, values["terminated_on"])
        else:
            agreements.update(record, values, services, None)
        return record
    if request.action == "create":
        return institutions.create(request.subject, values)
    if request.action == "close":
        submitter = db.session.get(User, request.submitted_by_id)
        editable = permissions.editable_institution_ids(submitter, record.units)
        institutions.close(record, values["closed_on"], bool(values.get("close_units")), None,
                           lambda unit: unit.id in editable)
    else:
        institutions.update(record, values, None)
    return record


def counts(day: date) -> dict[str, dict[str, tuple[int, int | None]]]:
    """Every indicator's (value, denominator) by region on `day`: what `moved` compares."""
    return {key: indicator.counts(day) for key, indicator in compliance.INDICATORS.items()}


def moved(before: dict[str, dict[str, tuple]], after: dict[str, dict[str, tuple]]) -> list[dict[str, Any]]:
    """The indicators that differ between two `counts`, by region: [{indicator, region, value, denominator}]."""
    found = []
    for key in compliance.INDICATORS:
        for region in sorted(before[key].keys() | after[key].keys()):
            (value, denominator), (new_value, new_denominator) = (before[key].get(region, (0, 0)),
                                                                  after[key].get(region, (0, 0)))
            if (value, denominator) != (new_value, new_denominator):
                found.append({"indicator": key, "region": region, "value": new_value - value,
                              "denominator": (new_denominator or 0) - (denominator or 0)})
    return found


@dataclass
class Preview:
    """What approving a request would do now: the indicators it moves, the approved reports it changes,
    or the rules it breaks (then nothing else is known)."""

    impact: list[dict[str, Any]] = dataclass_field(default_factory=list)
    backdated: str | None = None
    problems: dict[str, str] | None = None


def preview(request: ChangeRequest, watch: bool = True) -> Preview:
    """Apply the request inside a savepoint and roll it back, measuring what it does.

    `watch`: also find the approved period reports it would change (what a reviewer is told).
    """
    day = clock.today()
    before = counts(day)
    found = Preview()
    savepoint = db.session.begin_nested()
    try:
        with reports.watching(confirmed=False) if watch else nullcontext():
            _apply(request)
            db.session.flush()
            found.impact = moved(before, counts(day))
    except reports.BackdatedChange as change:
        found.backdated = str(change)
    except RecordInvalid as error:
        found.problems = error.errors
    finally:
        savepoint.rollback()
    return found


# --- deciding -------------------------------------------------------------------------------------


def _lock(request: ChangeRequest) -> None:
    db.session.refresh(request, with_for_update=True)  # another reviewer may have decided meanwhile
    if request.status != PENDING:
        raise RequestRefused(_("该申请已处理（%(status)s），请刷新后查看", status=STATUSES[request.status]))


def conflicts(request: ChangeRequest) -> dict[str, tuple[Any, Any]]:
    """The fields this request changes that someone changed since it was submitted: {} when it can apply."""
    record = record_of(request)
    if record is None or request.base is None or record.version == request.base_version:
        return {}
    now = audit.snapshot(record)
    keys = {REFERENCES.get(f, f) for f in request.values} & now.keys()
    return {k: (request.base.get(k), now[k]) for k in sorted(keys) if request.base.get(k) != now[k]}


def changed_since(request: ChangeRequest) -> dict[str, tuple[Any, Any]]:
    """Everything that changed in the record since the request was submitted (snapshot keys)."""
    record = record_of(request)
    if record is None or request.base is None or record.version == request.base_version:
        return {}
    return audit.changed(request.base, audit.snapshot(record))


def approve(request: ChangeRequest, reviewer: User, confirmed: bool = False) -> Institution | Agreement:
    """审核通过: apply the change in the caller's transaction, unless it is stale or breaks a rule.

    Refused (reports.BackdatedChange) when it would change an approved period report and the
    reviewer has not confirmed.
    """
    _lock(request)
    if conflicts(request):
        raise RequestRefused(_("提交后该记录的相关内容已被他人修改，不能直接应用；请退回，由提交人核对后重新提交"))
    with audit.linked_to(request):
        with reports.watching(confirmed):
            record = _apply(request)
        if request.action == "create":
            request.entity_id = record.id
        _decide(request, reviewer, APPROVED)
    return record


def return_(request: ChangeRequest, reviewer: User, reason: str) -> None:
    """退回 with a reason (required): nothing is applied; the submitter sees why."""
    if not (reason or "").strip():
        raise RecordInvalid({"reason": _("请填写退回原因")})
    _lock(request)
    with audit.linked_to(request):
        _decide(request, reviewer, RETURNED, reason.strip()[:2000])


def withdraw(request: ChangeRequest, user: User) -> None:
    """撤回: the submitter takes back a pending request."""
    if request.submitted_by_id != user.id:
        raise RequestRefused(_("只有提交人可以撤回申请"))
    _lock(request)
    with audit.linked_to(request):
        before = {"status": request.status}
        request.status, request.decided_at, request.seen = WITHDRAWN, utcnow(), True
        audit.record("withdraw", request, before=before, after={"status": WITHDRAWN}, summary=request.summary,
                     user=user)


def _decide(request: ChangeRequest, reviewer: User, status: str, reason: str = "") -> None:
    before = {"status": request.status}
    request.status, request.decided_by_id, request.decided_at = status, reviewer.id, utcnow()
    request.reason, request.seen = reason, False
    audit.record("approve" if status == APPROVED else "return", request, before=before,
                 after={"status": status, "reason": reason}, summary=request.summary, user=reviewer)


def start_import(request: ChangeRequest, reviewer: User, confirmed: bool) -> str:
    """Approve a whole file: its import runs as the uploader's, in the background, and marks the request."""
    from registry.services.imports import uploaded  # the import jobs live with the uploads

    _lock(request)
    if request.upload is None or not request.upload.content:
        raise RequestRefused(_("导入文件已不存在，请退回，由提交人重新上传"))
    submitter = db.session.get(User, request.submitted_by_id)
    request.job_id = uploaded.start(request.upload, submitter, uploaded.IMPORT,
                                    {"request": request.id, "reviewer": reviewer.id, "confirmed": confirmed})
    return request.job_id


def approve_import(request: ChangeRequest, reviewer: User) -> None:
    """Mark an import request approved, in the import's own transaction (called by the import job)."""
    _lock(request)
    with audit.linked_to(request):
        _decide(request, reviewer, APPROVED)


# --- what the pages show --------------------------------------------------------------------------


def waiting_creations(user: User, subject: str) -> int:
    """How many new records of `subject` the user asked for that still wait (a list page reminds them)."""
    return db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
        ChangeRequest.submitted_by_id == user.id, ChangeRequest.subject == subject,
        ChangeRequest.action == "create", ChangeRequest.status == PENDING)) or 0


def request_for_upload(upload: ImportUpload) -> ChangeRequest | None:
    """The newest request to import this upload, if its uploader asked for one."""
    return db.session.scalars(select(ChangeRequest).where(ChangeRequest.upload_id == upload.id)
                              .order_by(ChangeRequest.id.desc())).first()


def pending_for(entity: str, entity_id: int) -> list[ChangeRequest]:
    """The pending requests about a record, oldest first (its page shows them as 待审核)."""
    return list(db.session.scalars(
        select(ChangeRequest).where(ChangeRequest.entity == entity, ChangeRequest.entity_id == entity_id,
                                    ChangeRequest.status == PENDING).order_by(ChangeRequest.id)))


@dataclass
class FieldChange:
    """One field of a difference, as a page shows it."""

    field: str
    label: str
    before: str
    after: str


def shown(field: str, value: Any) -> str:
    """A stored value as a page shows it: names for records and regions, labels for vocabularies."""
    if value is None or value == "":
        return "—"
    if field in REFERENCES or field in REFERENCES.values():
        record = db.session.get(Institution, value)
        return f"{record.name}（{record.code}）" if record else str(value)
    if field == "region_code":
        return region_names().get(value, value)
    if field == "role":
        return str(ROLES.get(value, value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(str(SERVICES.get(v, v)) for v in value)
    for vocabulary in (MEDICAL_TYPES, OWNERSHIPS, LEVELS, RATINGS):
        if field in ("medical_type", "ownership", "level", "rating") and value in vocabulary:
            return str(vocabulary[value])
    return str(value)


def field_changes(changes: dict[str, tuple[Any, Any]]) -> list[FieldChange]:
    """{field: (before, after)} as rows of a difference table."""
    return [FieldChange(f, str(FIELD_LABELS.get(f, f)), shown(f, before), shown(f, after))
            for f, (before, after) in changes.items() if f not in ("version", "id")]


def event_changes(event: AuditEvent) -> list[FieldChange]:
    """What an audit event changed in its record: each field, before → after (none for a workflow step)."""
    if event.entity in ("change_requests", "period_reports") or not (event.before and event.after):
        return []
    return field_changes(audit.changed(event.before, event.after))


def differences(request: ChangeRequest) -> list[FieldChange]:
    """What the request asks for: each field, before → after."""
    before = request.before or {}
    return field_changes({f: (before.get(f), v) for f, v in request.values.items()
                          if request.subject != IMPORT})


def impact_lines(moved: list[dict[str, Any]] | None) -> list[str]:
    """茂南区 养老机构设立的医疗机构 +1 (a share: 分子 +1，分母 +1), one line per indicator and region."""
    names = region_names()
    lines = []
    for item in moved or []:
        indicator = compliance.INDICATORS.get(item["indicator"])
        if indicator is None:
            continue
        region = names.get(item["region"], item["region"])
        if indicator.share:
            lines.append(_("%(region)s %(indicator)s 分子 %(value)+d，分母 %(denominator)+d", region=region,
                           indicator=indicator.label, value=item["value"], denominator=item["denominator"]))
        else:
            lines.append(_("%(region)s %(indicator)s %(value)+d", region=region, indicator=indicator.label,
                           value=item["value"]))
    return lines


@dataclass
class ListFilters:
    """The queue's filters and order."""

    status: str = PENDING
    subject: str = ""
    region: str = ""
    q: str = ""
    sort: str = "submitted_at"
    descending: bool = False


SORTS = {"submitted_at": ChangeRequest.submitted_at, "region": ChangeRequest.region_code,
         "subject": ChangeRequest.subject, "decided_at": ChangeRequest.decided_at}


def filtered(query: Select, filters: ListFilters) -> Select:
    """The queue's filters and order on a scoped query of requests (oldest first by default)."""
    if filters.status in STATUSES:
        query = query.where(ChangeRequest.status == filters.status)
    if filters.subject in SUBJECTS:
        query = query.where(ChangeRequest.subject == filters.subject)
    if filters.region:
        query = query.where(ChangeRequest.region_code == filters.region)
    if filters.q:
        submitters = select(User.id).where(containing(filters.q, User.username, User.full_name))
        query = query.where(or_(containing(filters.q, ChangeRequest.summary),
                                ChangeRequest.submitted_by_id.in_(submitters)))
    column = SORTS.get(filters.sort, ChangeRequest.submitted_at)
    order = (column.desc(), ChangeRequest.id.desc()) if filters.descending else (column.asc(), ChangeRequest.id)
    return query.order_by(*order)


def mark_seen(user: User, requests: list[ChangeRequest]) -> None:
    """The submitter has seen these decisions: their bell stops counting them."""
    for request in requests:
        if request.submitted_by_id == user.id and request.status != PENDING:
            request.seen = True


def events_of(request: ChangeRequest) -> list[AuditEvent]:
    """The request's whole life, newest first: its steps and the changes it applied."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.change_request_id == request.id)
                                   .order_by(AuditEvent.id.desc())))

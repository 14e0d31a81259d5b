"""An upload on its way in: its mapping, its check, the user's corrections, then the import.

The file and everything the uploader decided (each sheet's kind and column fields,
cells corrected, possible duplicates settled) are kept with the upload
(models.ImportUpload), so a check or the import can run as a background job on any
worker and the user can leave the page and come back. A check writes nothing; the
import checks again (the register may have changed) and writes all or nothing in
one transaction, so a job killed half-way leaves nothing written.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select, update

from registry.extensions import db
from registry.models import ChangeRequest, ImportUpload, Region, User, clock
from registry.models.review import APPROVED, PENDING
from registry.services import audit, reports, review
from registry.services.formats import bureau
from registry.services.formats.exchange import FileRefused
from registry.services.formats.spreadsheets import NUMBER, TEXT, write_table
from registry.services.imports import duplicates as duplicate_rules
from registry.services.imports.applying import apply, refresh_statistics
from registry.services.imports.planning import Plan, RowError, plan_reading
from registry.services.infra import jobs

CHECK, IMPORT = "imports.check", "imports.import"
MAX_KEPT_ERRORS = 50_000  # a job's result keeps this many errors (the page shows 500)
EXPLANATION = "错误说明"


# --- what the upload carries ------------------------------------------------------------------


def choices(upload: ImportUpload) -> dict[str, bureau.SheetChoice]:
    """Each sheet's kind and column fields as the uploader confirmed them."""
    return {key: bureau.SheetChoice(value.get("kind") or None,
                                    {int(index): field or None for index, field in value.get("fields", {}).items()})
            for key, value in (upload.choices or {}).items()}


def store_choices(upload: ImportUpload, chosen: dict[str, bureau.SheetChoice]) -> None:
    """Keep a confirmed mapping; the corrections and decisions made under the old one are dropped."""
    upload.corrections, upload.decisions = None, None  # a cell's address may mean another field now
    upload.choices = {key: {"kind": choice.kind or "", "fields": {str(i): f or "" for i, f in choice.fields.items()}}
                      for key, choice in chosen.items()}


def corrections(upload: ImportUpload) -> dict[tuple[str, int, int], str]:
    """The cells the uploader corrected on the report page."""
    return {(key, int(row), int(index)): value for key, row, index, value in upload.corrections or []}


def store_corrections(upload: ImportUpload, fixes: dict[tuple[str, int, int], str]) -> None:
    kept = corrections(upload) | fixes
    upload.corrections = [[key, row, index, value] for (key, row, index), value in sorted(kept.items())]


def decisions(upload: ImportUpload) -> dict[tuple[str, int], str]:
    """Possible duplicates settled: (source, row) → the code of the record it is, or "new"."""
    return {(source, int(row)): value for source, row, value in upload.decisions or []}


def store_decisions(upload: ImportUpload, decided: dict[tuple[str, int], str]) -> None:
    kept = decisions(upload) | decided
    upload.decisions = [[source, row, value] for (source, row), value in sorted(kept.items())]


def regions() -> dict[str, str]:
    return {r.code: r.name for r in db.session.scalars(select(Region))}


def read(upload: ImportUpload, layouts_only: bool = False) -> bureau.Reading:
    """The upload read with everything its uploader decided so far."""
    reading = bureau.read_data(upload.content, upload.filename, upload.kind or None, regions(), choices(upload),
                               corrections(upload), layouts_only=layouts_only)
    duplicate_rules.settle(reading.sheets, decisions(upload))
    return reading


def why_not_import(result: dict[str, Any], decided: dict[tuple[str, int], str], confirmed: bool = False,
                   request: ChangeRequest | None = None) -> str | None:
    """Why a checked upload cannot be imported yet; None if it can.

    Errors; possible duplicates not answered; approved period reports it would change, not
    confirmed; a review already asked for.
    """
    if result.get("error_count") or "counts" not in result:
        return _("文件还有错误，改正后才能导入。")
    if len(decided) < len(result["duplicates"]):
        return _("请为每一条可能重复的记录选择“同一机构”或“新机构”后再导入。")
    if result.get("backdated") and not confirmed:
        return _("此文件将改变已审核的上报数据，请勾选确认后再导入。")
    if request is not None and request.status in (PENDING, APPROVED):
        return _("此文件已提交审核，不能重复提交。")
    return None


# --- the jobs ---------------------------------------------------------------------------------


def start(upload: ImportUpload, user: User, what: str, options: dict[str, Any] | None = None) -> str:
    """Start a check (CHECK) or the import (IMPORT) of the upload in the background; the job's id.

    `options` of an import: `confirmed`, the user accepted that it changes approved period reports;
    `request` and `reviewer`, it is the import of a change request being approved.
    """
    upload.job_kind = "check" if what == CHECK else "import"
    db.session.commit()  # the worker reads the upload from its own session
    # The report is written in the uploader's language: the worker has no request to ask.
    payload = {"upload": upload.id, "user": user.id, "locale": str(get_locale() or "")} | (options or {})
    job_id = jobs.submit(what, payload, owner_id=user.id)
    db.session.execute(update(ImportUpload).where(ImportUpload.id == upload.id).values(job_id=job_id))
    db.session.commit()
    return job_id


def _load(payload: dict[str, Any]) -> tuple[ImportUpload, User]:
    upload, user = db.session.get(ImportUpload, payload["upload"]), db.session.get(User, payload["user"])
    if upload is None or user is None or upload.user_id != user.id or not user.active:
        raise FileRefused(_("这份上传已过期或已被删除，请重新上传"))
    return upload, user


@dataclass
class _Checked:
    """An upload read and checked inside a job: what the report or the import needs."""

    upload: ImportUpload
    user: User
    reading: bureau.Reading
    plan: Plan
    duplicates: list

    @property
    def summary(self) -> dict[str, Any]:
        return summary(self.reading, self.plan, self.duplicates)


def _language(payload: dict[str, Any]):
    return force_locale(payload["locale"]) if payload.get("locale") else nullcontext()


def _checked(payload: dict[str, Any], progress: Callable[[int, int], None], phases: int) -> _Checked:
    """Read and check the upload as its uploader, the rows checked counted in a total of `phases` × rows."""
    upload, user = _load(payload)
    reading = read(upload)
    total = reading.rows()
    progress(0, phases * total)
    result = plan_reading(reading, user, lambda done: progress(min(done, total), phases * total))
    found = duplicate_rules.find(result, user, decisions(upload)) if result.ok else []
    progress(total, phases * total)
    return _Checked(upload, user, reading, result, found)


@jobs.job(CHECK)
def check_job(payload: dict[str, Any], progress: Callable[[int, int], None]) -> dict[str, Any]:
    """Check every row as the uploader; writes nothing.

    A file that could be imported is also tried inside a savepoint, rolled back, when that tells
    the user more: which approved period reports it would change, and (for a file that will wait
    for review) which indicators it would move.
    """
    with _language(payload):
        try:
            checked = _checked(payload, progress, phases=1)
            result = checked.summary
            if checked.plan.ok and not checked.duplicates:
                result |= _trial(checked)
            return result
        except FileRefused as refused:
            return {"refused": str(refused)}
        finally:
            db.session.rollback()


def _trial(checked: _Checked) -> dict[str, Any]:
    """What importing the checked file would do beyond its rows: {backdated, impact}, found by a dry run."""
    wants_impact = review.required(checked.user)
    if not wants_impact and not reports.approved_reports():
        return {}
    day = clock.today()
    before = review.counts(day) if wants_impact else None
    found: dict[str, Any] = {}
    savepoint = db.session.begin_nested()
    try:
        with reports.watching(confirmed=False):
            apply(checked.plan, checked.user, checked.upload.filename)
            if wants_impact:
                found["impact"] = review.moved(before, review.counts(day))
    except reports.BackdatedChange as change:
        found["backdated"] = str(change)
        if wants_impact:
            found["impact"] = review.moved(before, review.counts(day))
    finally:
        savepoint.rollback()
    return found


@jobs.job(IMPORT)
def import_job(payload: dict[str, Any], progress: Callable[[int, int], None]) -> dict[str, Any]:
    """Check again, then write all or nothing; a check that fails now is reported like a check."""
    with _language(payload):
        try:
            checked = _checked(payload, progress, phases=2)
        except FileRefused as refused:
            db.session.rollback()
            return {"refused": str(refused)}
        if not checked.plan.ok or checked.duplicates:
            db.session.rollback()
            return checked.summary
        upload, rows = checked.upload, checked.reading.rows()
        request = db.session.get(ChangeRequest, payload["request"]) if payload.get("request") else None
        try:
            with audit.linked_to(request) if request is not None else nullcontext():
                with reports.watching(bool(payload.get("confirmed"))):
                    counts = apply(checked.plan, checked.user, upload.filename)
                if request is not None:
                    review.approve_import(request, db.session.get(User, payload["reviewer"]))
        except (reports.BackdatedChange, review.RequestRefused) as refusal:
            db.session.rollback()
            return checked.summary | {"backdated" if isinstance(refusal, reports.BackdatedChange) else "refused":
                                      str(refusal)}
        upload.content = b""  # imported: the page keeps showing the result, the file is no longer needed
        db.session.commit()
        refresh_statistics(counts)
        progress(2 * rows, 2 * rows)
        return {"imported": counts, "filename": upload.filename}


# --- results ----------------------------------------------------------------------------------


def summary(reading: bureau.Reading, result: Plan, found: list) -> dict[str, Any]:
    """A check's result as JSON: counts, warnings, errors (with their cells) and possible duplicates."""
    return {
        "counts": result.counts(),
        "warnings": result.warnings,
        "errors": [_error(e) for e in result.errors[:MAX_KEPT_ERRORS]],
        "error_count": len(result.errors),
        "duplicates": [_duplicate(d) for d in found],
        "headers": {layout.key: list(layout.table.header_rows) for layout in reading.layouts},
        "rows": reading.rows(),
    }


def _error(error: RowError) -> dict[str, Any]:
    return {"source": error.source, "row": error.row, "column": error.column, "message": error.message,
            "sheet": error.sheet, "index": error.index, "value": error.value, "name": error.name,
            "text": str(error)}


def _duplicate(found) -> dict[str, Any]:
    return {"source": found.source, "row": found.row, "name": found.name, "kind": found.kind,
            "candidates": [{"code": c.code, "name": c.name, "region_code": c.region_code, "reason": c.reason}
                           for c in found.candidates]}


def error_workbook(upload: ImportUpload, result: dict[str, Any]) -> bytes:
    """The rows that cannot be imported, as the file holds them, each with its 行号 and a 错误说明 column."""
    rows_by_sheet = bureau.original_rows(upload.content, upload.filename, corrections(upload))
    by_sheet: dict[str, dict[int, list[str]]] = {}
    unplaced: list[str] = []
    for error in result.get("errors", []):
        if error["sheet"] in rows_by_sheet:
            by_sheet.setdefault(error["sheet"], {}).setdefault(error["row"], []).append(
                f"{error['column']}：{error['message']}" if error["column"] else error["message"])
        else:
            unplaced.append(error["text"])
    day = clock.today()
    title = _("无法导入的行：%(file)s", file=upload.filename)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for key, errors in by_sheet.items():
        rows = rows_by_sheet[key]
        header_rows = result.get("headers", {}).get(key) or [1]
        width = max((len(rows[n - 1]) for n in [*header_rows, *errors] if 0 < n <= len(rows)), default=0)
        header = [_as_in_file(rows, number, width, _("行号"), _(EXPLANATION)) for number in header_rows]
        write_table(workbook, _sheet_title(key, workbook), header,
                    [_as_in_file(rows, number, width, number, "；".join(errors[number])) for number in sorted(errors)],
                    title, day, kinds=[TEXT] * width + [NUMBER, TEXT])
    if unplaced or not by_sheet:
        write_table(workbook, _sheet_title(_("其他错误"), workbook), [[_(EXPLANATION)]],
                    [[text] for text in unplaced], title, day)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _as_in_file(rows: list[list[Any]], number: int, width: int, *after: Any) -> list[Any]:
    """Row `number` (1-based) as the file holds it, padded to `width` cells, then `after`."""
    cells = list(rows[number - 1]) if 0 < number <= len(rows) else []
    return [*cells, *[None] * (width - len(cells)), *after]


def _sheet_title(key: str, workbook: Workbook) -> str:
    """An Excel sheet title (31 characters, none of []:*?/\\), unique in the workbook."""
    title = "".join(" " if c in "[]:*?/\\" else c for c in key)[:28] or "Sheet"
    candidate, number = title, 2
    while candidate in workbook.sheetnames:
        candidate, number = f"{title}{number}", number + 1
    return candidate


__all__ = ["CHECK", "IMPORT", "check_job", "error_workbook", "import_job", "read", "start", "summary",
           "why_not_import"]

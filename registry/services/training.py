"""Training records (63号 clause 十九): rules for recording them."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from registry.extensions import db
from registry.models import Region, TrainingRecord
from registry.services import RecordInvalid, StaleEdit, audit

FIELDS = ("held_on", "organiser", "region_code", "medical_nursing", "caregivers", "note")


def check(values: dict[str, Any]) -> dict[str, str]:
    """The rules for a training record; {} when all hold."""
    errors: dict[str, str] = {}
    if values.get("held_on") is None:
        errors["held_on"] = _("请填写培训日期")
    if not (values.get("organiser") or "").strip():
        errors["organiser"] = _("请填写主办单位")
    if not values.get("region_code") or db.session.get(Region, values["region_code"]) is None:
        errors["region_code"] = _("请选择所属区县")
    for field in ("medical_nursing", "caregivers"):
        if values.get(field) is None:
            errors[field] = _("请填写人数（没有请填 0）")
        elif values[field] < 0:
            errors[field] = _("人数不能为负数")
    if not errors and values["medical_nursing"] + values["caregivers"] == 0:
        errors["caregivers"] = _("培训人数合计不能为 0")
    return errors


def create(values: dict[str, Any]) -> TrainingRecord:
    """Record a training (validated, audited, flushed)."""
    values = {f: values.get(f) for f in FIELDS} | {"note": (values.get("note") or "").strip()}
    errors = check(values)
    if errors:
        raise RecordInvalid(errors)
    record = TrainingRecord(**values)
    db.session.add(record)
    db.session.flush()
    audit.record("create", record, after=audit.snapshot(record), summary=record.organiser)
    return record


def update(record: TrainingRecord, values: dict[str, Any], version: int | None) -> None:
    """Save an edit unless someone saved since `version`."""
    if version is not None and version != record.version:
        raise StaleEdit()
    merged = {f: getattr(record, f) for f in FIELDS} | {f: values[f] for f in FIELDS if f in values}
    merged["note"] = (merged.get("note") or "").strip()
    errors = check(merged)
    if errors:
        raise RecordInvalid(errors)
    with audit.Change("update", record) as change:
        for field, value in merged.items():
            setattr(record, field, value)
        change.summary = record.organiser


def delete(record: TrainingRecord) -> None:
    """Remove a training record (the audit log keeps its values)."""
    audit.record("delete", record, before=audit.snapshot(record), summary=record.organiser)
    db.session.delete(record)
    db.session.flush()

"""Target sets as data: an administrator edits values and adds district allocations."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from registry.extensions import db
from registry.models import Region, Target, TargetSet
from registry.services import RecordInvalid, StaleEdit, audit
from registry.services.compliance import CITY, COMPARATORS, INDICATORS

FIELDS = ("indicator", "scope", "deadline", "comparator", "value", "clause", "note")


def check(target_set: TargetSet, values: dict[str, Any], current: Target | None = None) -> dict[str, str]:
    """The rules for a target; {} when all hold. Shares are fractions between 0 and 1."""
    errors: dict[str, str] = {}
    indicator = INDICATORS.get(values.get("indicator") or "")
    if indicator is None:
        errors["indicator"] = _("指标无效")
    scope = values.get("scope")
    if scope != CITY and (not scope or db.session.get(Region, scope) is None):
        errors["scope"] = _("范围应为全市或一个区县")
    if values.get("deadline") is None:
        errors["deadline"] = _("请填写期限")
    comparator = comparator_error(values.get("comparator"))
    if comparator:
        errors["comparator"] = comparator
    value = values.get("value")
    if value is None or value < 0:
        errors["value"] = _("目标值不能为空或负数")
    elif indicator is not None and indicator.share and value > 1:
        errors["value"] = _("占比目标应在 0% 到 100% 之间")
    if not errors:
        duplicate = select(Target.id).where(
            Target.target_set_id == target_set.id, Target.indicator == values["indicator"],
            Target.scope == scope, Target.deadline == values["deadline"],
        )
        if current is not None:
            duplicate = duplicate.where(Target.id != current.id)
        if db.session.scalar(duplicate) is not None:
            errors["scope"] = _("该指标在此范围和期限已有目标")
    return errors


def comparator_error(comparator: str | None) -> str | None:
    """Why a comparator is refused (None when it is one of COMPARATORS): an unknown one is never guessed."""
    if comparator in COMPARATORS:
        return None
    return _("比较方式“%(comparator)s”无效，应为 %(allowed)s 之一", comparator=comparator or "",
             allowed="、".join(COMPARATORS))


def summary(target: Target) -> str:
    """The stored summary: keys, not words; the log names the target in the reader's language."""
    return f"{target.indicator} {target.scope} {target.deadline.isoformat()}"


def update(target: Target, values: dict[str, Any], version: int | None = None) -> None:
    """Change a target (audited) unless someone saved it since `version`; `registry init` never overwrites it."""
    if version is not None and version != target.version:
        raise StaleEdit()
    merged = {f: getattr(target, f) for f in FIELDS} | {f: values[f] for f in FIELDS if f in values}
    errors = check(target.target_set, merged, target)
    if errors:
        raise RecordInvalid(errors)
    with audit.Change("update", target) as change:
        for field, value in merged.items():
            setattr(target, field, value)
        target.edited = True
        change.summary = summary(target)


def add(target_set: TargetSet, values: dict[str, Any]) -> Target:
    """Add a target, e.g. a district allocation of a city target (audited)."""
    values = {f: values.get(f) for f in FIELDS}
    values["clause"] = values.get("clause") or ""
    values["note"] = values.get("note") or ""
    errors = check(target_set, values)
    if errors:
        raise RecordInvalid(errors)
    target = Target(target_set_id=target_set.id, edited=True, **values)
    db.session.add(target)
    db.session.flush()
    audit.record("create", target, after=audit.snapshot(target), summary=summary(target))
    return target

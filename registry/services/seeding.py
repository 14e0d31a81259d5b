"""Loading `seeds/`: regions, target sets and the demo register."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Institution, Region, Target, TargetSet, User, clock
from registry.services import agreements, audit, institutions, reports, review, targets, training, users
from registry.services.periods import Period

SEEDS = Path(__file__).resolve().parent.parent.parent / "seeds"


def load_regions(path: Path = SEEDS / "regions.csv") -> int:
    """Insert or refresh the regions of docs/data-model.md (each change audited); returns how many are new."""
    added = 0
    with path.open(encoding="utf-8") as handle:
        for position, row in enumerate(csv.DictReader(handle)):
            region = db.session.get(Region, row["code"])
            before = audit.snapshot(region) if region is not None else None
            if region is None:
                region = Region(code=row["code"])
                db.session.add(region)
                added += 1
            region.name = row["name"]
            region.name_en = row["name_en"]
            region.kind = row["kind"]
            region.position = position
            _audit_seeded(region, before, region.code)
    db.session.flush()
    return added


def _audit_seeded(record: Any, before: dict | None, summary: str) -> None:
    """Audit a seeded record that is new or changed (the compliance cache keys on the audit trail)."""
    after = audit.snapshot(record)
    if before is None or audit.changed(before, after):
        audit.record("seed", record, before=before, after=after, summary=summary)


def load_target_sets(folder: Path = SEEDS / "target_sets") -> int:
    """Add target sets and any target they lack; never overwrites an existing target."""
    added = 0
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        target_set = db.session.get(TargetSet, data["id"])
        before = audit.snapshot(target_set) if target_set is not None else None
        if target_set is None:
            target_set = TargetSet(id=data["id"])
            db.session.add(target_set)
        target_set.title = data["title"]
        target_set.document_no = data.get("document_no", "")
        target_set.issued_on = date.fromisoformat(data["issued_on"]) if data.get("issued_on") else None
        _audit_seeded(target_set, before, target_set.id)
        existing = {(t.indicator, t.scope, t.deadline) for t in target_set.targets}
        for item in data["targets"]:
            deadline = date.fromisoformat(item["deadline"])
            if (item["indicator"], item["scope"], deadline) in existing:
                continue
            comparator = item.get("comparator", ">=")
            refused = targets.comparator_error(comparator)
            if refused:
                raise ValueError(f"{path.name}：{item['indicator']} {item['scope']} {deadline}：{refused}")
            target = Target(
                indicator=item["indicator"],
                scope=item["scope"],
                deadline=deadline,
                comparator=comparator,
                value=item["value"],
                clause=item.get("clause", ""),
                note=item.get("note", ""),
            )
            target_set.targets.append(target)
            db.session.flush()
            _audit_seeded(target, None, targets.summary(target))
            added += 1
    db.session.flush()
    return added


def _dates(item: dict, *fields: str) -> dict:
    return {f: date.fromisoformat(item[f]) if item.get(f) else None for f in fields}


def is_empty() -> bool:
    """Whether the register holds no institution yet."""
    return not db.session.scalar(select(func.count()).select_from(Institution))


def load_demo(path: Path = SEEDS / "demo.json") -> dict[str, int]:
    """The synthetic demo register and its users; only into an empty register."""
    data = json.loads(path.read_text(encoding="utf-8"))
    by_ref: dict[str, Institution] = {}
    for item in data["institutions"]:
        values = {k: v for k, v in item.items() if k not in {"ref", "kind", "host"}}
        values.update(_dates(item, "opened_on", "closed_on", "insurance_applied_on",
                             "insurance_designated_on"))
        values["host"] = by_ref.get(item.get("host") or "")
        values["coord_source"] = "manual"
        by_ref[item["ref"]] = institutions.create(item["kind"], values)
    for item in data["agreements"]:
        values = {k: v for k, v in item.items() if k not in {"code", "services"}}
        values.update(_dates(item, "signed_on", "valid_from", "valid_to", "terminated_on"))
        values["eldercare"] = by_ref[item["eldercare"]]
        values["medical"] = by_ref[item["medical"]]
        agreements.create(values, item["services"], code=item["code"])
    for item in data.get("training", []):
        training.create(item | _dates(item, "held_on"))
    created_users = 0
    for item in data["users"]:
        if db.session.scalar(select(User.id).where(User.username == item["username"])) is None:
            users.create(item["username"], data["password"], item["role"], item["region_code"],
                         item["full_name"])
            created_users += 1
    workflow = _load_review(data.get("review", {}), by_ref)
    return {
        "institutions": len(data["institutions"]),
        "agreements": len(data["agreements"]),
        "training": len(data.get("training", [])),
        "users": created_users,
    } | workflow


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _load_review(data: dict, by_ref: dict[str, Institution]) -> dict[str, int]:
    """Change requests (pending, and one returned) and period reports (approved, submitted), as the demo
    users would have made them, so every role sees the review workflow at once."""
    for item in data.get("requests", []):
        values = {k: by_ref[v] if k == "host" else v for k, v in item["values"].items()}
        values.update({k: date.fromisoformat(v) for k, v in values.items() if k.endswith("_on") and v})
        request = review.submit(_user(item["user"]), item["subject"], item["action"], values,
                                by_ref.get(item.get("record") or ""))
        if item.get("returned_by"):
            review.return_(request, _user(item["returned_by"]), item["reason"])
    for item in data.get("reports", []):
        report = reports.submit(Period.parse(item["period"]), item["region_code"], _user(item["user"]),
                                clock.today())
        if item.get("approved_by"):
            reports.approve(report, _user(item["approved_by"]))
    return {"requests": len(data.get("requests", [])), "reports": len(data.get("reports", []))}


def demo_logins(path: Path = SEEDS / "demo.json") -> list[tuple[str, str, str, str | None]]:
    """(username, password, role, region) of the demo accounts, for `make run` to print."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(u["username"], data["password"], u["role"], u["region_code"]) for u in data["users"]]

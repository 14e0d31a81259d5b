"""Compliance reports kept in each process while the register is unchanged.

A report is a function of the day, the target set and the register. The register's
state is read as a fingerprint of the audit trail: every write that can change a
figure (institutions, agreements and their services, training records, targets and
target sets, regions, imports, demo seeding) records an audit event in the same
transaction, so a report cached under a fingerprint is the report any process would
compute while the fingerprint holds. Logins and refused requests leave it alone.
Nothing is shared between processes: each keeps a few dozen reports and computes
again after any write. Reports hold plain values, never
ORM instances, and are filtered for the reader only after they leave the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import AuditEvent
from registry.models.audit import REGISTER_EVENTS
from registry.services import compliance

SIZE = 48  # a dashboard holds a report a year since 2019 (the last one the day asked about); a few days' worth
# PostgreSQL hands out ids before commit, so an older id can commit after a newer one.
# Counting the committed ids among the newest WINDOW notices such a late commit.
WINDOW = 1000


class LRU:
    """A bounded map that forgets the least recently used entry first (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def fingerprint() -> tuple:
    """The register's state: its newest audit event's id and time, and how many of the newest ids exist.

    One statement on a partial index of the events that can change the register (logins
    and refused requests do not count). The time tells the events of a restored database
    from those whose ids they reuse; the count notices an event committed after a newer one.
    """
    newest = (
        select(AuditEvent.id, AuditEvent.at).where(REGISTER_EVENTS).order_by(AuditEvent.id.desc()).limit(1)
    ).subquery()
    recent = (
        select(func.count(AuditEvent.id)).where(REGISTER_EVENTS, AuditEvent.id > newest.c.id - WINDOW)
    ).scalar_subquery()
    row = db.session.execute(select(newest.c.id, newest.c.at, recent)).first()
    return tuple(row) if row is not None else ()


def _cache() -> LRU:
    return current_app.extensions.setdefault("compliance_reports", LRU(SIZE))


def reports(days: Sequence[date], target_set_id: str = compliance.DEFAULT_TARGET_SET) -> list[compliance.Report]:
    """`compliance.compute` for each day, computed once per process while the register is unchanged."""
    cache, state = _cache(), fingerprint()
    found = []
    for day in days:
        key = (day, target_set_id, state)
        report = cache.get(key)
        if report is None:
            report = compliance.compute(day, target_set_id)
            cache.put(key, report)
        found.append(report)
    return found


def report(day: date, target_set_id: str = compliance.DEFAULT_TARGET_SET) -> compliance.Report:
    """`compliance.compute(day, target_set_id)`, from the cache when the register is unchanged."""
    return reports([day], target_set_id)[0]

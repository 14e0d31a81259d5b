"""Compliance reports computed once per change of the register, for every process that shares the cache.

A report is a function of the day, the target set and the register. The register's state is read
as a fingerprint of the audit trail: every write that can change a figure (institutions, agreements
and their services, training records, targets and target sets, regions, imports, demo seeding)
records an audit event in the same transaction. Logins and refused requests leave it alone.

Each event also carries the first day whose figures it can move (`AuditEvent.affects_from`): a
save dated today leaves the past year-ends as they were. So a report is kept with a stamp, the
state at which it was last known to hold; when the fingerprint has moved, the events since the
stamp are read by table with the first day each table's changes move, and a day's report is
computed again only when one of them is on or before it — and then only the indicators that
count a changed table (a training record recounts 培训 alone), the others' figures kept.
Back-dated changes, targets, regions and imports affect every day and every indicator.

Reports and stamps live in Flask-Caching: Redis when `CACHE_REDIS_URL` is set, so that every
worker of every app server shares them and a report is computed once per change under a Redis
lock while the others wait for it; else each process keeps its own (SimpleCache). Reports hold
plain values, never ORM instances, and are filtered for the reader only after they leave the cache.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache as once

import redis
from flask import Flask, current_app
from sqlalchemy import func, select

from registry.extensions import cache, db
from registry.models import AuditEvent
from registry.models.audit import REGISTER_EVENTS
from registry.services import compliance

SIZE = 48  # reports decoded in each process: a dashboard holds a report a year since 2019; a few days' worth
# PostgreSQL hands out ids before commit, so an older id can commit after a newer one.
# Counting the committed ids among the newest WINDOW notices such a late commit.
WINDOW = 1000
KEEP_SECONDS = 7 * 24 * 3600  # a report nobody asked for in a week leaves the shared cache
LOCK_SECONDS = 60  # a lock held by a worker that died frees itself after this
WAIT_SECONDS = 30  # how long a worker waits for another's computation before computing itself
# How often a waiting worker asks whether the lock is free: redis-py's 0.1 s kept every waiting worker
# idle for up to 0.1 s after a computation of tens of milliseconds, on each save; asking is one round trip.
LOCK_POLL_SECONDS = 0.005
ANY = "*"  # first_days_changed_since: a change that may move anything


@once
def _counted() -> frozenset[str]:
    """Every table some indicator reads (worked out once, inside the app that asks)."""
    return frozenset().union(*(indicator.reads for indicator in compliance.INDICATORS.values()))


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


def init_app(app: Flask) -> None:
    """Flask-Caching on Redis when `CACHE_REDIS_URL` is set, in-process otherwise."""
    url = app.config.get("CACHE_REDIS_URL") or ""
    app.config.setdefault("CACHE_TYPE", "RedisCache" if url else "SimpleCache")
    app.config.setdefault("CACHE_KEY_PREFIX", "registry:")
    app.config.setdefault("CACHE_DEFAULT_TIMEOUT", KEEP_SECONDS)
    cache.init_app(app)
    app.extensions["compliance_reports"] = LRU(SIZE)
    app.extensions["compliance_lock"] = (
        redis.Redis.from_url(url).lock(app.config["CACHE_KEY_PREFIX"] + "compliance:lock", timeout=LOCK_SECONDS,
                                       sleep=LOCK_POLL_SECONDS, blocking_timeout=WAIT_SECONDS)
        if url and app.config["CACHE_TYPE"] == "RedisCache" else threading.Lock()
    )


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


def first_days_changed_since(state: tuple) -> dict[str, date]:
    """For each table changed since `state`, the first day whose figures its changes may move.

    Two statements: whether `state`'s newest event is still the event it was (a restore reuses
    ids) and its window still holds as many (a late commit) — else anything may have moved
    (ANY) — and the newer events' first days by table.
    """
    newest, at, count = state or (0, None, 0)
    same = select(AuditEvent.at).where(AuditEvent.id == newest).scalar_subquery()
    window = select(func.count(AuditEvent.id)).where(
        REGISTER_EVENTS, AuditEvent.id > newest - WINDOW, AuditEvent.id <= newest).scalar_subquery()
    if tuple(db.session.execute(select(same, window)).one()) != (at, count):
        return {ANY: date.min}
    rows = db.session.execute(
        select(AuditEvent.entity, func.min(AuditEvent.affects_from),
               func.count(AuditEvent.id) - func.count(AuditEvent.affects_from))
        .where(REGISTER_EVENTS, AuditEvent.id > newest).group_by(AuditEvent.entity))
    return {entity: date.min if unknown else first for entity, first, unknown in rows}


def moved(changes: dict[str, date], day: date) -> frozenset[str]:
    """The indicators whose figures on `day` the changes may have moved.

    A change to a table an indicator counts moves that indicator; a change to anything else
    (targets, regions, an import as a whole) may move any figure or target, so every one.
    """
    touched = {table for table, first in changes.items() if first <= day}
    if touched - _counted():
        return frozenset(compliance.INDICATORS)
    return frozenset(key for key, indicator in compliance.INDICATORS.items() if indicator.reads & touched)


@dataclass(frozen=True)
class Stamp:
    """A day's report: the state it was computed at, and the newest state it is known to hold at."""

    computed: tuple
    holds_at: tuple


def _stamp_key(target_set_id: str, day: date) -> str:
    return f"compliance:stamp:{target_set_id}:{day.isoformat()}"


def _report_key(target_set_id: str, day: date) -> str:
    """One report a day and target set: a new computation replaces the last (the shared cache stays small)."""
    return f"compliance:report:{target_set_id}:{day.isoformat()}"


def _load(target_set_id: str, day: date, computed: tuple) -> compliance.Report | None:
    """The report computed at `computed`: decoded in this process already, else from the shared cache."""
    local = current_app.extensions["compliance_reports"]
    report = local.get((target_set_id, day, computed))
    if report is None:
        stored = cache.get(_report_key(target_set_id, day))
        if stored is not None and stored[0] == computed:  # else replaced meanwhile by another computation
            report = stored[1]
            local.put((target_set_id, day, computed), report)
    return report


def _store(target_set_id: str, day: date, state: tuple, report: compliance.Report) -> None:
    current_app.extensions["compliance_reports"].put((target_set_id, day, state), report)
    cache.set_many({_report_key(target_set_id, day): (state, report),
                    _stamp_key(target_set_id, day): Stamp(state, state)})


@dataclass
class Lookup:
    """What the cache holds for some days: the reports that hold, and for the others what can be kept."""

    found: dict[date, compliance.Report]
    # day → the figures of its last report that no change since has moved
    standing: dict[date, dict[str, compliance.Figure]]


def _known(days: Sequence[date], target_set_id: str, state: tuple) -> Lookup:
    """The reports of `days` that hold at `state`, from the cache; their stamps are brought up to `state`."""
    stamps = dict(zip(days, cache.get_many(*[_stamp_key(target_set_id, day) for day in days]), strict=True))
    changes = {}  # two statements per stamp state, usually one state in all
    for stamp in stamps.values():
        if stamp is not None and stamp.holds_at != state and stamp.holds_at not in changes:
            changes[stamp.holds_at] = first_days_changed_since(stamp.holds_at)
    lookup, restamped = Lookup({}, {}), {}
    for day, stamp in stamps.items():
        report = _load(target_set_id, day, stamp.computed) if stamp is not None else None
        if report is None:
            continue
        indicators = moved(changes[stamp.holds_at], day) if stamp.holds_at != state else frozenset()
        if indicators:
            lookup.standing[day] = {k: f for k, f in report.figures.items() if k not in indicators}
            continue
        lookup.found[day] = report
        if stamp.holds_at != state:
            restamped[_stamp_key(target_set_id, day)] = Stamp(stamp.computed, state)
    if restamped:
        cache.set_many(restamped)
    return lookup


@contextmanager
def _computing() -> Iterator[None]:
    """One computation at a time: across every server on Redis (a worker that waits too long goes ahead)."""
    lock = current_app.extensions["compliance_lock"]
    acquired = lock.acquire()
    try:
        yield
    finally:
        if acquired:  # a lock held past LOCK_SECONDS and taken over has nothing left to free
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()


def reports(days: Sequence[date], target_set_id: str = compliance.DEFAULT_TARGET_SET) -> list[compliance.Report]:
    """`compliance.compute` for each day, computed once per change of the register that can move its figures."""
    state = fingerprint()
    found = _known(days, target_set_id, state).found
    missing = [day for day in days if day not in found]
    if missing:
        with _computing():
            lookup = _known(missing, target_set_id, state)  # computed meanwhile by another worker?
            found |= lookup.found
            for day in (day for day in missing if day not in found):
                found[day] = compliance.compute(day, target_set_id, lookup.standing.get(day))
                _store(target_set_id, day, state, found[day])
    return [found[day] for day in days]


def report(day: date, target_set_id: str = compliance.DEFAULT_TARGET_SET) -> compliance.Report:
    """`compliance.compute(day, target_set_id)`, from the cache while no change has moved its figures."""
    return reports([day], target_set_id)[0]

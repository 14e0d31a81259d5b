"""Background jobs: checking and importing long files without holding a request (huey).

A job is a function registered by name, `@jobs.job("imports.check")`, that takes a JSON-able
payload and a `progress(done, total)` callback and returns a JSON-able result. `submit` queues
it; a worker runs it inside an app context of its own, with a fresh database session; `status`
reads its state, progress and result with one storage read, from any process, so the user can
leave the page and come back.

Where jobs wait (JOBS_URL): unset, an SQLite file of their own, instance/jobs.sqlite3, never the
register's database, so progress is written while an import's transaction holds the register's
SQLite write lock; `redis://HOST:PORT/DB` in a deployment. Who runs them (JOBS_WORKER): "thread",
one worker thread inside the web process (development, `make run`); "none", separate
`registry worker` processes (`make serve`, production). JOBS_IMMEDIATE runs each job inline as it
is submitted (the test suite).

All or nothing: a job writes in one transaction and commits at its end, so a worker killed
half-way leaves nothing written. Its record then stops being rewritten, and `status` reports the
job failed (interrupted) once STALE_AFTER has passed; the user starts it again. A job's record and
result are kept for a day (KEEP).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import RedisExpireHuey, SqliteHuey
from huey.api import Huey, TaskWrapper
from huey.consumer import Consumer
from huey.storage import RedisExpireStorage

from registry.extensions import db

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
WORKERS = ("thread", "none")  # JOBS_WORKER's values
QUEUE = "registry"  # huey's queue name: the rows of its SQLite tables, or its Redis keys
PREFIX = "job:"  # a job's record is kept under PREFIX + its id
KEEP = timedelta(days=1)  # a record is forgotten this long after the job finished (or was submitted)
WRITE_EVERY = 0.5  # seconds: progress is written at most this often ...
BEAT_EVERY = 5.0  # ... and a running job's record at least this often, moved on or not
STALE_AFTER = timedelta(seconds=30)  # a running record not rewritten for this long has lost its worker

FAILED_MESSAGE = "任务出错，没有写入任何数据。请重新开始；如果再次出错，请联系系统管理员。"
INTERRUPTED_MESSAGE = "任务中断（处理它的进程停止了），没有写入任何数据。请重新开始。"

Progress = Callable[[int, int], None]
JobFunction = Callable[[dict[str, Any], Progress], dict[str, Any]]
_JOBS: dict[str, JobFunction] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register `fn(payload, progress) -> result` as the job `name`.

    The job owns its transaction, as a CLI command does: it commits what it writes once, at its
    end. What it leaves uncommitted is discarded, and everything is rolled back when it raises.
    """

    def register(fn: JobFunction) -> JobFunction:
        if name in _JOBS:
            raise ValueError(f"two jobs named {name!r}")
        _JOBS[name] = fn
        return fn

    return register


@dataclass(frozen=True)
class JobStatus:
    """What a job's page shows: its state, rows checked out of the total, its result or error."""

    id: str
    name: str
    state: str  # queued | running | done | failed
    done: int
    total: int
    result: dict[str, Any] | None
    error: str | None  # a Chinese message for the user; the traceback is only in the log
    owner_id: int | None
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)


def init_app(app: Flask) -> None:
    """Set up the app's jobs from JOBS_URL, JOBS_WORKER and JOBS_IMMEDIATE."""
    worker = app.config["JOBS_WORKER"]
    if worker not in WORKERS:
        raise ValueError(f"JOBS_WORKER must be one of {WORKERS}, not {worker!r}")
    queue = app.extensions["jobs"] = _Queue(app)
    if worker == "thread" and not queue.immediate and not app.testing:
        # From the first request: never in a CLI command, nor in the reloader's parent process.
        app.before_request(queue.start_worker_thread)


def submit(name: str, payload: dict[str, Any], owner_id: int | None) -> str:
    """Queue the job `name` for `owner_id`; its id. A worker sees only committed rows: commit first."""
    if name not in _JOBS:
        raise LookupError(f"no job named {name!r}")
    queue = _queue()
    job_id = uuid.uuid4().hex
    _write(queue.huey, job_id, {
        "name": name, "state": QUEUED, "done": 0, "total": 0, "result": None, "error": None,
        "owner_id": owner_id, "submitted_at": _now(), "started_at": None, "finished_at": None,
        "beat_at": None,
    })
    if queue.immediate:
        # The job runs here and now in a session of its own. Every transaction begins IMMEDIATE on
        # SQLite (registry/database.py), so the caller's, if open, would lock it out: end it first.
        db.session.commit()
    queue.run_job(job_id, name, payload)
    return job_id


def status(job_id: str, now: datetime | None = None) -> JobStatus | None:
    """The job's state, progress and result (one storage read); None for an unknown or forgotten id.

    A running job whose record has not been rewritten for STALE_AFTER (as of `now`) lost its
    worker, killed or stopped: it is reported failed, having written nothing.
    """
    record = _queue().huey.get(PREFIX + job_id, peek=True)
    if record is None:
        return None
    beat_at = record.pop("beat_at")
    if record["state"] == RUNNING and (now or _now()) - beat_at > STALE_AFTER:
        record.update(state=FAILED, error=INTERRUPTED_MESSAGE)
    return JobStatus(id=job_id, **record)


def work(workers: int) -> None:
    """Run queued jobs, `workers` at a time, until SIGINT (running jobs finish first) or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _queue().huey.create_consumer(workers=workers, periodic=False).run()


class _Queue:
    """One app's jobs: its huey (built on first use) and, with JOBS_WORKER="thread", its worker thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.url = app.config["JOBS_URL"] or f"sqlite:///{Path(app.instance_path) / 'jobs.sqlite3'}"
        if not self.url.startswith(("sqlite:///", "redis://", "rediss://")):
            raise ValueError("JOBS_URL must be sqlite:///FILE or redis://HOST:PORT/DB")
        self.immediate = bool(app.config["JOBS_IMMEDIATE"])
        self.consumer: Consumer | None = None
        self._built: tuple[Huey, TaskWrapper] | None = None
        self._lock = threading.RLock()

    @property
    def huey(self) -> Huey:
        return self._build()[0]

    @property
    def run_job(self) -> TaskWrapper:
        return self._build()[1]

    def _build(self) -> tuple[Huey, TaskWrapper]:
        with self._lock:
            if self._built is None:
                self._built = self._new_huey()
            return self._built

    def _new_huey(self) -> tuple[Huey, TaskWrapper]:
        options = {"results": False, "immediate": self.immediate}  # a job's outcome is in its record
        if self.url.startswith("sqlite:///"):
            huey = SqliteHuey(QUEUE, filename=self.url.removeprefix("sqlite:///"), **options)
        else:
            huey = RedisExpireHuey(QUEUE, url=self.url, expire_time=int(KEEP.total_seconds()), **options)
        app = self.app

        @huey.task(name="run_job")
        def run_job(job_id: str, name: str, payload: dict[str, Any]) -> None:
            with app.app_context():
                _run(huey, job_id, name, payload)

        return huey, run_job

    def start_worker_thread(self) -> None:
        """Start this process's worker thread, once."""
        if self.consumer is not None:
            return
        with self._lock:
            if self.consumer is None:
                consumer = _WebProcessConsumer(self.huey, workers=1, periodic=False)
                consumer.start()
                self.consumer = consumer


class _WebProcessConsumer(Consumer):
    """huey's consumer inside the web process: its threads only."""

    def _set_signal_handlers(self) -> None:
        """Leave SIGINT and SIGTERM to the server (Consumer.start() would take them, and raises outside
        the main thread)."""


def _queue() -> _Queue:
    return current_app.extensions["jobs"]


def _now() -> datetime:
    return datetime.now(UTC)


def _write(huey: Huey, job_id: str, record: dict[str, Any]) -> None:
    huey.put_result(PREFIX + job_id, record)  # a result: the Redis storage expires it after KEEP


def _run(huey: Huey, job_id: str, name: str, payload: dict[str, Any]) -> None:
    """Run a job in the worker's app context, recording its progress and its end."""
    record = huey.get(PREFIX + job_id, peek=True)
    if record is None:  # forgotten before a worker came for it
        return
    report = _Report(huey, job_id, record)
    try:
        result = _JOBS[name](payload, report.progress)
    except Exception:
        db.session.rollback()
        log.exception("Job %s (%s) failed", job_id, name)
        report.finish(FAILED, error=FAILED_MESSAGE)
    else:
        report.finish(DONE, result=result)
    _forget_old(huey)


class _Report:
    """A running job's record: progress is kept in memory and written by a thread of its own, at most
    every WRITE_EVERY seconds and at least every BEAT_EVERY (what `status` tells a live job by)."""

    def __init__(self, huey: Huey, job_id: str, record: dict[str, Any]) -> None:
        self._huey, self._job_id = huey, job_id
        self._record = record | {"state": RUNNING, "started_at": _now()}
        self._lock = threading.Lock()
        self._moved = False
        self._stop = threading.Event()
        self._write()
        self._thread = threading.Thread(target=self._keep_writing, name=f"job-{job_id}", daemon=True)
        self._thread.start()

    def progress(self, done: int, total: int) -> None:
        with self._lock:
            self._record.update(done=done, total=total)
            self._moved = True

    def finish(self, state: str, result: dict[str, Any] | None = None, error: str | None = None) -> None:
        self._stop.set()
        self._thread.join()
        self._record.update(state=state, result=result, error=error, finished_at=_now())
        self._write()

    def _keep_writing(self) -> None:
        written = time.monotonic()
        while not self._stop.wait(WRITE_EVERY):
            if self._moved or time.monotonic() - written >= BEAT_EVERY:
                try:
                    self._write()
                except Exception:  # the storage is busy or away: try again at the next tick
                    log.exception("Job %s: progress not written", self._job_id)
                written = time.monotonic()

    def _write(self) -> None:
        with self._lock:
            record = self._record | {"beat_at": _now()}
            self._moved = False
        _write(self._huey, self._job_id, record)


def _forget_old(huey: Huey) -> None:
    """Delete the records older than KEEP where the storage keeps data until deleted (Redis expires them)."""
    if isinstance(huey.storage, RedisExpireStorage):
        return
    cutoff = _now() - KEEP
    for key, raw in huey.storage.result_items().items():
        if key.startswith(PREFIX):
            record = huey.serializer.deserialize(raw)
            if (record["finished_at"] or record["submitted_at"]) < cutoff:
                huey.delete(key)

"""Background jobs: progress, failure, and all or nothing when a worker is killed half-way (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select

from registry import create_app
from registry.extensions import db
from registry.models import Institution
from registry.services import institutions
from registry.services.infra import jobs
from registry.vocab import ELDERCARE
from tests.conftest import count
from tests.factories import MAONAN

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_URL = "redis://127.0.0.1:6379/15"
WAIT_SECONDS = 60


def _home(number: int) -> dict:
    return {"name": f"后台任务测试养老院{number}", "region_code": MAONAN, "opened_on": date(2020, 1, 1),
            "beds_total": 100, "host": None}


@jobs.job("tests.count")
def count_rows(payload: dict, progress: Callable[[int, int], None]) -> dict:
    """Count to payload["rows"], reporting each row."""
    for done in range(1, payload["rows"] + 1):
        progress(done, payload["rows"])
    return {"counted": payload["rows"]}


@jobs.job("tests.register_then_fail")
def register_then_fail(payload: dict, progress: Callable[[int, int], None]) -> dict:
    """Register one home (flushed, not committed), then break."""
    institutions.create(ELDERCARE, _home(1))
    progress(1, 2)
    raise RuntimeError("broke half-way through the register")


@jobs.job("tests.register_slowly")
def register_slowly(payload: dict, progress: Callable[[int, int], None]) -> dict:
    """Register payload["rows"] homes in one transaction, pausing after each; commit at the end, as an import does."""
    rows = payload["rows"]
    for done in range(1, rows + 1):
        institutions.create(ELDERCARE, _home(done))
        progress(done, rows)
        time.sleep(payload["pause"])
    db.session.commit()
    return {"registered": rows}


def worker_app() -> Flask:
    """The app `registry worker` runs here: settings from the environment, this module's jobs registered."""
    return create_app()


@pytest.fixture(scope="module")
def inline(database_url):
    """An app on the test database whose jobs run as they are submitted (JOBS_IMMEDIATE)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                      "JOBS_IMMEDIATE": True, "JOBS_WORKER": "none"})
    yield app
    with app.app_context():
        db.engine.dispose()


def _queued_app(database_url: str, jobs_url: str, **config) -> Flask:
    """An app on the test database that queues its jobs at `jobs_url` for a worker."""
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                       "JOBS_URL": jobs_url, "JOBS_WORKER": "none"} | config)


def _status(app: Flask, job_id: str, now: datetime | None = None) -> jobs.JobStatus:
    with app.app_context():
        return jobs.status(job_id, now)


def _start_worker(database_url: str, jobs_url: str, log: Path) -> subprocess.Popen:
    """`registry worker` in a process group of its own, on the same register and queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBS_", "REGISTRY_ENV"))}
    env |= {"DATABASE_URL": database_url, "JOBS_URL": jobs_url, "JOBS_WORKER": "none",
            "SECRET_KEY": "test-secret", "PYTHONPATH": str(ROOT)}
    with log.open("wb") as output:
        return subprocess.Popen([str(BIN / "flask"), "--app", "tests.test_jobs:worker_app()", "registry", "worker"],
                                cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(app: Flask, job_id: str, until: Callable[[jobs.JobStatus], bool], worker: subprocess.Popen,
          log: Path) -> jobs.JobStatus:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job = _status(app, job_id)
        if until(job):
            return job
        assert worker.poll() is None, f"the worker stopped:\n{log.read_text()}"
        time.sleep(0.05)
    pytest.fail(f"the job never got there: {job}\n{log.read_text()}")


def _stop(worker: subprocess.Popen, how: signal.Signals) -> None:
    os.killpg(worker.pid, how)
    worker.wait(timeout=30)


# --- inline (the test suite's mode) ---------------------------------------------------------


def test_a_job_reports_rows_done_out_of_the_total_and_its_result(inline):
    with inline.app_context():
        job = jobs.status(jobs.submit("tests.count", {"rows": 7}, owner_id=None))
    assert (job.state, job.done, job.total, job.result, job.error) == ("done", 7, 7, {"counted": 7}, None)
    assert job.name == "tests.count" and job.finished
    assert job.submitted_at <= job.started_at <= job.finished_at


def test_a_failing_job_is_failed_with_a_chinese_message_and_its_writes_rolled_back(app, inline, caplog):
    with inline.app_context():
        job = jobs.status(jobs.submit("tests.register_then_fail", {}, owner_id=None))
    assert job.state == "failed" and job.error == jobs.FAILED_MESSAGE
    assert "没有写入任何数据" in job.error and "RuntimeError" not in job.error
    assert "broke half-way through the register" in caplog.text  # the traceback is logged, never shown
    assert (job.done, job.total, job.result) == (1, 2, None)
    assert count(app, Institution) == 0


def test_a_job_submitted_inside_an_open_transaction_runs_inline_all_the_same(app, inline):
    """A page has read its user before it submits; on SQLite that transaction would lock the job's session out."""
    with inline.app_context():
        db.session.scalar(select(func.count()).select_from(Institution))
        job = jobs.status(jobs.submit("tests.register_slowly", {"rows": 2, "pause": 0}, owner_id=None))
    assert job.state == "done"
    assert count(app, Institution) == 2


def test_the_owner_is_kept(inline, make):
    owner = make.user("civil_affairs")
    with inline.app_context():
        assert jobs.status(jobs.submit("tests.count", {"rows": 1}, owner_id=owner)).owner_id == owner


def test_a_finished_job_is_forgotten_after_keep(inline, monkeypatch):
    monkeypatch.setattr(jobs, "KEEP", timedelta(seconds=0.3))
    with inline.app_context():
        old = jobs.submit("tests.count", {"rows": 1}, owner_id=None)
        time.sleep(0.6)
        new = jobs.submit("tests.count", {"rows": 1}, owner_id=None)  # a worker forgets after each job
        assert jobs.status(old) is None
        assert jobs.status(new).state == "done"


def test_an_unknown_job_id_has_no_status(inline):
    with inline.app_context():
        assert jobs.status("0123456789abcdef") is None


def test_an_unregistered_job_name_is_refused(inline):
    with inline.app_context(), pytest.raises(LookupError):
        jobs.submit("tests.no-such-job", {}, owner_id=None)


def test_jobs_worker_must_be_thread_or_none(database_url):
    with pytest.raises(ValueError, match="JOBS_WORKER"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "JOBS_WORKER": "celery"})


# --- a worker thread in the web process (development) ------------------------------------------


def test_the_test_suite_starts_no_worker_thread(app, client):
    client.get("/healthz")
    assert app.extensions["jobs"].consumer is None


def test_the_development_server_runs_jobs_in_one_worker_thread(database_url, tmp_path):
    web = _queued_app(database_url, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", TESTING=False, JOBS_WORKER="thread")
    queue = web.extensions["jobs"]
    with web.app_context():
        job_id = jobs.submit("tests.count", {"rows": 3}, owner_id=None)
    assert queue.consumer is None  # nothing runs before a request: not in a CLI command, nor the reloader
    web.test_client().get("/healthz")
    started = queue.consumer
    try:
        web.test_client().get("/healthz")
        assert queue.consumer is started and len(started.worker_threads) == 1  # once per process
        deadline = time.monotonic() + WAIT_SECONDS
        while not _status(web, job_id).finished and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _status(web, job_id).result == {"counted": 3}
    finally:
        started.stop()
        with web.app_context():
            db.engine.dispose()


# --- `registry worker` processes -----------------------------------------------------------------


def test_a_job_killed_half_way_writes_nothing(app, database_url, tmp_path):
    """SIGKILL the worker while the job's transaction holds 20 of its 40 rows: none is in the register."""
    jobs_url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    web, log = _queued_app(database_url, jobs_url), tmp_path / "worker.log"
    with web.app_context():
        job_id = jobs.submit("tests.register_slowly", {"rows": 40, "pause": 0.05}, owner_id=None)
    worker = _start_worker(database_url, jobs_url, log)
    try:
        half_way = _wait(web, job_id, lambda job: job.done >= 20, worker, log)
    finally:
        _stop(worker, signal.SIGKILL)
    assert half_way.state == "running" and half_way.total == 40
    assert count(app, Institution) == 0
    killed = _status(web, job_id)
    assert killed.state != "done" and killed.result is None
    later = _status(web, job_id, now=datetime.now(UTC) + jobs.STALE_AFTER + timedelta(seconds=1))
    assert later.state == "failed" and later.error == jobs.INTERRUPTED_MESSAGE
    with web.app_context():
        db.engine.dispose()


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.mark.parametrize("storage", ["sqlite", pytest.param("redis", marks=pytest.mark.skipif(
    not _redis_answers(), reason="no Redis answers on 127.0.0.1:6379"))])
def test_a_worker_runs_a_queued_job_to_the_end(app, database_url, tmp_path, storage):
    """What the kill test would have written: the same job, left alone, registers all its rows."""
    jobs_url = REDIS_URL if storage == "redis" else f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    web, log = _queued_app(database_url, jobs_url), tmp_path / "worker.log"
    worker = _start_worker(database_url, jobs_url, log)
    try:
        with web.app_context():
            job_id = jobs.submit("tests.register_slowly", {"rows": 5, "pause": 0}, owner_id=7)
            assert jobs.status(job_id).state in ("queued", "running")
        job = _wait(web, job_id, lambda job: job.finished, worker, log)
    finally:
        _stop(worker, signal.SIGTERM)
    assert (job.state, job.done, job.total, job.result, job.owner_id) == ("done", 5, 5, {"registered": 5}, 7)
    assert count(app, Institution) == 5
    with web.app_context():
        db.engine.dispose()

"""The import itself as a background job: a worker killed after writing every row, before its commit, leaves none."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry import create_app
from registry.extensions import db
from registry.models import AuditEvent, Institution, User
from registry.services.imports import uploaded
from registry.services.infra import jobs, uploads
from tests.conftest import count
from tests.test_jobs import BIN, ROOT, WAIT_SECONDS, _queued_app, _status, _stop

ROWS = 300
FLAG = "REGISTRY_TEST_WRITTEN_FLAG"


def worker_app() -> Flask:
    """The worker's app, its import holding the transaction open once every row is written.

    The real check and the real writes run; only the return from `apply` waits, so the
    test can kill the worker at the one moment that matters: rows written, nothing committed.
    """
    real_apply = uploaded.apply

    def apply_then_wait(plan, user, source):
        counts = real_apply(plan, user, source)
        db.session.flush()
        written = db.session.scalar(select(func.count()).select_from(Institution))
        Path(os.environ[FLAG]).write_text(str(written))
        time.sleep(WAIT_SECONDS)
        return counts

    uploaded.apply = apply_then_wait
    return create_app()


def homes_csv(rows: int) -> bytes:
    lines = ["机构类别,机构名称,所属区县,成立日期,床位数"]
    lines += [f"养老机构,后台导入的养老院{n:04d},茂南区,2020-01-01,{10 + n % 90}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def test_an_import_job_killed_after_writing_every_row_leaves_nothing_written(app, make, database_url, tmp_path):
    user_id = make.user("civil_affairs", None, username="houtai")
    jobs_url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    web = _queued_app(database_url, jobs_url)
    with web.app_context():
        user = db.session.get(User, user_id)
        upload = uploads.keep(user, "机构.csv", homes_csv(ROWS))
        db.session.commit()
        job_id = uploaded.start(upload, user, uploaded.IMPORT)
    flag, log = tmp_path / "written", tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBS_", "REGISTRY_ENV"))}
    env |= {"DATABASE_URL": database_url, "JOBS_URL": jobs_url, "JOBS_WORKER": "none", "SECRET_KEY": "test-secret",
            "PYTHONPATH": str(ROOT), FLAG: str(flag)}
    with log.open("wb") as output:
        worker = subprocess.Popen([str(BIN / "flask"), "--app", "tests.test_import_jobs:worker_app()", "registry",
                                   "worker"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not flag.exists():
            assert worker.poll() is None, f"the worker stopped:\n{log.read_text()}"
            if time.monotonic() > deadline:
                pytest.fail(f"the import never wrote its rows:\n{log.read_text()}")
            time.sleep(0.05)
        time.sleep(0.1)  # the flag's text is written
    finally:
        _stop(worker, signal.SIGKILL)
    assert flag.read_text() == str(ROWS)  # inside its transaction the job had written every row …
    assert count(app, Institution) == 0  # … and none of them is in the register
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "import")) == 0
    job = _status(web, job_id)
    assert job.state != jobs.DONE and job.result is None
    with web.app_context():
        db.engine.dispose()

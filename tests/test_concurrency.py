"""SQLite under concurrent writers, and an import killed half-way, through the app's own code."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRITERS, WRITES = 8, 500


def _writer(url: str, number: int, results) -> None:
    """One process: 500 training records, each in its own transaction, as the pages save them."""
    sys.path.insert(0, str(ROOT))
    from datetime import date

    from registry import create_app
    from registry.extensions import db
    from registry.services import training

    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    errors = []
    with app.app_context():
        for n in range(WRITES):
            try:
                training.create({"held_on": date(2022, 1, 1), "organiser": f"进程{number}-{n}",
                                 "region_code": "440902", "medical_nursing": 1, "caregivers": 0})
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - every failure is counted and reported
                db.session.rollback()
                errors.append(repr(error))
    results.put((number, errors))


@pytest.fixture()
def sqlite_file(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("a test of SQLite's locking")
    url = f"sqlite:///{tmp_path / 'concurrent.sqlite3'}"
    env = os.environ | {"DATABASE_URL": url, "SECRET_KEY": "x"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "registry", "init"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    return url, tmp_path / "concurrent.sqlite3", env


def test_eight_processes_writing_lose_nothing(sqlite_file):
    url, path, _env = sqlite_file
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_writer, args=(url, n, results)) for n in range(WRITERS)]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    errors = [error for _number, found in reports for error in found]
    assert errors == [], errors[:3]
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM training_records").fetchone()[0] == WRITERS * WRITES
        assert connection.execute("SELECT count(DISTINCT organiser) FROM training_records").fetchone()[0] == 4000


def _big_csv(path: Path, rows: int) -> None:
    lines = ["机构类别,机构名称,所属区县,成立日期,床位数"]
    lines += [f"养老机构,批量导入养老院{n:06d},茂南区,2020-01-01,{10 + n % 300}" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_import_killed_half_way_leaves_nothing_and_can_run_again(sqlite_file, tmp_path):
    _url, path, env = sqlite_file
    source = tmp_path / "institutions.csv"
    _big_csv(source, 30000)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "registry", "import", str(source)]
    wal = Path(f"{path}-wal")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    size_before = wal.stat().st_size if wal.exists() else 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if wal.exists() and wal.stat().st_size > size_before + 512 * 1024:  # the write phase has begun
            break
        time.sleep(0.02)
    assert process.poll() is None, "the import finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM institutions").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM audit_events WHERE action = 'import'").fetchone()[0] == 0

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-500:]
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM institutions").fetchone()[0] == 30000
        assert connection.execute("SELECT count(DISTINCT name) FROM institutions").fetchone()[0] == 30000

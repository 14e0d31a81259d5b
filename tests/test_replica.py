"""Reads on a real PostgreSQL streaming replica (TEST_REPLICA_URL, started by scripts/replica.sh; .ci/run).

The replica follows the whole cluster, so TEST_REPLICA_URL names the database of TEST_DATABASE_URL on the
replica's port. Pausing the replica's replay makes what it shows differ from the primary: a page that leaves
out the primary's newest row was served by the replica.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine

from registry import create_app, replica
from registry.extensions import db
from registry.models import AuditEvent
from tests.factories import GAOZHOU, MAONAN, PASSWORD

REPLICA_URL = os.environ.get("TEST_REPLICA_URL", "")
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "replica.sh"
on_a_replica = pytest.mark.skipif(not REPLICA_URL, reason="TEST_REPLICA_URL names no replica")
SHARED = ("TESTING", "SCANS_DIR", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED",
          "JOBS_IMMEDIATE", "JOBS_WORKER")
WINDOW = 10  # READ_YOUR_WRITES_SECONDS of the apps below


@pytest.fixture()
def reading_app(app):
    """Build a second app on the suite's database that reads from the replica (settings as keywords)."""
    built = []

    def build(**settings):
        config = {key: app.config[key] for key in SHARED}
        config |= {"DATABASE_REPLICA_URL": REPLICA_URL, "READ_YOUR_WRITES_SECONDS": WINDOW,
                   "REPLICA_CHECK_SECONDS": 0, "REPLICA_MAX_LAG_SECONDS": 3600} | settings
        built.append(create_app(config))
        return built[-1]

    yield build
    for each in built:
        replica.replica_of(each).engine.dispose()
        with each.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def standby() -> Iterator[Engine]:
    """A superuser's connection to the replica, to pause and resume its replay."""
    engine = create_engine(REPLICA_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # it is stopped below
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def primary(database_url) -> Iterator[Engine]:
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def caught_up(primary: Engine, standby: Engine) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with primary.connect() as connection:
        position = connection.scalar(text("SELECT pg_current_wal_lsn()::text"))
    deadline = time.monotonic() + 30
    with standby.connect() as connection:
        while not connection.scalar(text("SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)"), {"p": position}):
            assert time.monotonic() < deadline, "the replica did not catch up within 30 s"
            time.sleep(0.05)


@contextmanager
def replay_paused(standby: Engine) -> Iterator[None]:
    """The replica keeps receiving the primary's changes but applies none of them."""
    with standby.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        yield
    finally:
        with standby.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))


def logged_in(app, make, primary, standby, role="civil_affairs", region=None):
    """A client of `app` logged in, its read-your-writes window over, the replica caught up."""
    make.user(role, region, username="reader")
    client = app.test_client()
    assert client.post("/login", data={"username": "reader", "password": PASSWORD}).status_code == 302
    let_window_pass(client)
    caught_up(primary, standby)
    return client


def let_window_pass(client) -> None:
    """As if READ_YOUR_WRITES_SECONDS had passed since the client's last write."""
    with client.session_transaction() as session:
        assert replica.WROTE_AT in session, "the write did not open a read-your-writes window"
        session[replica.WROTE_AT] -= WINDOW + 1


def training_form(organiser: str) -> dict:
    return {"held_on": "2022-05-01", "organiser": organiser, "region_code": MAONAN,
            "medical_nursing": "10", "caregivers": "20", "note": ""}


@on_a_replica
def test_reads_go_to_the_replica(reading_app, make, primary, standby):
    app = reading_app()
    make.training(organiser="市卫健局")
    client = logged_in(app, make, primary, standby)
    home = make.home(name="复制测试养老院")
    _, token = make.token(make.user("health", username="api-reader"))
    caught_up(primary, standby)
    with replay_paused(standby):
        make.training(organiser="另一位用户的培训")  # written on the primary, not yet replayed
        page = client.get("/training").text
        assert "市卫健局" in page and "另一位用户的培训" not in page
        make.home(name="尚未复制的养老院")
        api = app.test_client().get("/api/v1/institutions", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert [i["name"] for i in api["items"]] == ["复制测试养老院"]
        assert client.get("/healthz").get_json()["replica"] == "ok"
    caught_up(primary, standby)
    assert "另一位用户的培训" in client.get("/training").text
    assert client.get(f"/institutions/{home}").status_code == 200


@on_a_replica
def test_a_user_reads_their_own_write_at_once(reading_app, make, primary, standby):
    client = logged_in(reading_app(), make, primary, standby)
    with replay_paused(standby):
        assert client.post("/training/new", data=training_form("刚录入的培训")).status_code == 302
        assert "刚录入的培训" in client.get("/training").text  # from the primary, within the window
        let_window_pass(client)
        assert "刚录入的培训" not in client.get("/training").text  # the replica has not replayed it yet


@on_a_replica
def test_a_get_that_writes_writes_on_the_primary(reading_app, app, make, primary, standby):
    """A record outside the user's region answers 404 and is audited: the audit row is a write on a GET."""
    elsewhere = make.home(GAOZHOU)
    client = logged_in(reading_app(), make, primary, standby, "district_official", MAONAN)
    with replay_paused(standby):
        assert client.get(f"/institutions/{elsewhere}").status_code == 404
    with app.app_context():
        assert db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "denied")).all() == [
            f"GET /institutions/{elsewhere}"]


@on_a_replica
def test_a_lagging_replica_is_skipped(reading_app, make, primary, standby):
    client = logged_in(reading_app(REPLICA_MAX_LAG_SECONDS=1), make, primary, standby)
    with replay_paused(standby):
        make.training(organiser="落后的副本没有的培训")
        time.sleep(1.5)  # the replica is now further behind than REPLICA_MAX_LAG_SECONDS
        assert "落后的副本没有的培训" in client.get("/training").text
        health = client.get("/healthz").get_json()
        assert health["replica"] == "lagging" and health["replica_lag_seconds"] > 1


@on_a_replica
@pytest.mark.skipif(os.geteuid() != 0, reason="scripts/replica.sh stops the replica as root")
@pytest.mark.parametrize("check_seconds", [0, 3600], ids=["found by the check", "found when connecting"])
def test_a_stopped_replica_falls_back_to_the_primary(reading_app, make, primary, standby, check_seconds):
    client = logged_in(reading_app(REPLICA_CHECK_SECONDS=check_seconds), make, primary, standby)
    assert client.get("/healthz").get_json()["replica"] == "ok"
    assert client.get("/training").status_code == 200  # a pooled connection to the replica
    subprocess.run([SCRIPT, "stop"], check=True, capture_output=True)
    try:
        make.training(organiser="副本停止后的培训")
        assert "副本停止后的培训" in client.get("/training").text
        health = client.get("/healthz")
        assert health.status_code == 200 and health.get_json()["replica"] == "down"
    finally:
        subprocess.run([SCRIPT, "start"], check=True, capture_output=True)
    if check_seconds == 0:
        assert client.get("/healthz").get_json()["replica"] == "ok"


@on_a_replica
def test_an_app_with_a_replica_leaves_other_apps_schema_commands_alone(reading_app, app):
    reading_app()
    with app.app_context():
        db.create_all()  # an app without the replica, in the same process


def test_without_postgresql_a_replica_url_changes_nothing(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/r.db",
                      "DATABASE_REPLICA_URL": "postgresql+psycopg://postgres@127.0.0.1:5433/test",
                      "JOBS_WORKER": "none", "JOBS_IMMEDIATE": True})
    assert app.test_client().get("/healthz").get_json() == {"status": "ok", "database": "ok"}

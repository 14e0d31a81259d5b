"""Fixtures: an app on a fresh database (SQLite, or TEST_DATABASE_URL), a client, users."""

from __future__ import annotations

import os
import re
from functools import partial
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from registry import create_app
from registry.extensions import db
from registry.models import Institution
from registry.services import seeding
from tests import factories

SEEDED = {"regions"}  # never changed by a test; target sets are reloaded after each test


def reset_schema() -> None:
    """Drop every table (Alembic's too), so a test database starts empty."""
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def seeded_schema() -> None:
    """A fresh schema holding the seeded regions and target sets."""
    reset_schema()
    db.create_all()
    seeding.load_regions()
    seeding.load_target_sets()
    db.session.commit()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    return url or f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry-test.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SCANS_DIR": str(tmp_path_factory.mktemp("scans")),
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "JOBS_IMMEDIATE": True,  # a check or an import runs inline as it is submitted
        "JOBS_WORKER": "none",
    })
    with app.app_context():
        seeded_schema()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _empty_register(app):
    """Each test starts with the seeded regions and targets and nothing else."""
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in SEEDED:
                    connection.execute(table.delete())
        seeding.load_target_sets()
        db.session.commit()


@pytest.fixture(autouse=True)
def _fast_passwords(monkeypatch):
    """Cheap password hashes in tests: hundreds of cases create users and log in."""
    monkeypatch.setattr("registry.models.users.generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1"))


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Log a test client in and out."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = factories.PASSWORD):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture()
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture()
def make(app):
    """The factories, each run inside an app context and committed."""
    return factories.Factories(app)


def _logged_in(make, auth, role: str, username: str, region: str | None = None) -> None:
    make.user(role, region, username=username)
    auth.login(username)


@pytest.fixture()
def admin(make, auth) -> None:
    """Logged in as a city-level administrator, `boss`."""
    _logged_in(make, auth, "admin", "boss")


@pytest.fixture()
def civil(make, auth) -> None:
    """Logged in as city-level civil-affairs staff, `minzheng`."""
    _logged_in(make, auth, "civil_affairs", "minzheng")


@pytest.fixture()
def health(make, auth) -> None:
    """Logged in as city-level health staff, `weijian`."""
    _logged_in(make, auth, "health", "weijian")


@pytest.fixture()
def official(make, auth) -> None:
    """Logged in as a 茂南 district official, `lingdao`."""
    _logged_in(make, auth, "district_official", "lingdao", factories.MAONAN)


def count(app, model) -> int:
    """How many rows the table of `model` holds."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def code_of(app, institution_id: int) -> str:
    """The registry code (机构编码) of an institution."""
    with app.app_context():
        return db.session.get(Institution, institution_id).code


def lists(client, url: str, shown: str, hidden: str) -> bool:
    """Whether the page at `url` names `shown` and not `hidden` (a filtered list)."""
    page = client.get(url).text
    return shown in page and hidden not in page


def confirm_upload(client, report: str):
    """Press 确认导入 on an import report (its form names the check it answers); the page it ends on."""
    token = re.search(r'/data/import/([^/"]+)/confirm', report).group(1)
    job = re.search(r'name="job" value="([^"]+)"', report).group(1)
    return client.post(f"/data/import/{token}/confirm", data={"job": job}, follow_redirects=True)


class _BodyRows(HTMLParser):
    """The text of each cell of each row in the page's table bodies."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(page: str) -> list[list[str]]:
    """The rows of the page's tables (bodies only), each a list of its cells' text."""
    parser = _BodyRows()
    parser.feed(page)
    return parser.rows

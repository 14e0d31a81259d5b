"""API tokens expire (180 days unless the administrator chooses), and note when they were last used."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text, update

from registry import create_app
from registry.extensions import db
from registry.models import ApiToken
from registry.models.clock import utcnow
from tests.factories import MAONAN


def _token(app, token_id: int) -> ApiToken:
    with app.app_context():
        token = db.session.get(ApiToken, token_id)
        db.session.expunge(token)
        return token


def _set(app, token_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(**values))
        db.session.commit()


def _api(app, plain: str):
    return app.test_client().get("/api/v1/institutions", headers={"Authorization": f"Bearer {plain}"})


def _about(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(minutes=1)


def test_a_token_issued_without_a_choice_expires_in_180_days(app, client, make, admin):
    official = make.user("district_official", MAONAN, username="lingdao")
    page = client.get("/admin/tokens").text
    assert 'value="180"' in page and "有效期（天）" in page
    client.post("/admin/tokens", data={"user_id": official, "name": "区县大屏"})
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        assert _about(token.expires_at, utcnow() + timedelta(days=180))


def test_the_administrator_chooses_a_shorter_life(app, client, make, admin):
    official = make.user("district_official", MAONAN, username="lingdao")
    page = client.post("/admin/tokens", data={"user_id": official, "name": "临时对接", "days": "30"}).text
    assert 'id="issued-token"' in page
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        assert _about(token.expires_at, utcnow() + timedelta(days=30))
        shown = (token.expires_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # Maoming's clock
    assert shown in page


@pytest.mark.parametrize("days", ["0", "731", "-5"])
def test_a_life_out_of_range_is_refused_and_no_token_written(app, client, make, admin, days):
    official = make.user("district_official", MAONAN, username="lingdao")
    page = client.post("/admin/tokens", data={"user_id": official, "name": "对接", "days": days}).text
    assert "有效期须在 1 到 730 天之间" in page
    assert 'id="issued-token"' not in page
    with app.app_context():
        assert db.session.scalars(select(ApiToken)).all() == []


def test_an_expired_token_is_refused_with_401_and_marked_on_the_tokens_page(app, client, make, admin):
    token_id, plain = make.token(make.user("district_official", MAONAN, username="lingdao"))
    assert _api(app, plain).status_code == 200
    _set(app, token_id, expires_at=utcnow() - timedelta(seconds=1))
    response = _api(app, plain)
    assert response.status_code == 401
    assert response.get_json() == {"error": "接口令牌已过期，请联系管理员重新签发"}
    page = client.get("/admin/tokens").text
    assert "已过期" in page
    assert f"/admin/tokens/{token_id}/revoke" not in page  # nothing left to revoke


def test_a_token_valid_until_its_last_minute_still_works(app, make):
    token_id, plain = make.token(make.user("district_official", MAONAN, username="lingdao"))
    _set(app, token_id, expires_at=utcnow() + timedelta(minutes=1))
    assert _api(app, plain).status_code == 200


def test_the_last_use_is_recorded_at_most_once_a_minute(app, client, make, admin):
    token_id, plain = make.token(make.user("district_official", MAONAN, username="lingdao"))
    assert "从未使用" in client.get("/admin/tokens").text
    assert _api(app, plain).status_code == 200
    first = _token(app, token_id).last_used_at
    assert first is not None and _about(first, utcnow())
    assert _api(app, plain).status_code == 200
    assert _token(app, token_id).last_used_at == first  # within the minute: not written again
    _set(app, token_id, last_used_at=first - timedelta(minutes=2))
    assert _api(app, plain).status_code == 200
    assert _token(app, token_id).last_used_at > first - timedelta(minutes=2)
    page = client.get("/admin/tokens").text
    assert "最近使用" in page and "从未使用" not in page


def test_a_refused_token_records_no_use(app, make):
    token_id, plain = make.token(make.user("district_official", MAONAN, username="lingdao"))
    _set(app, token_id, expires_at=utcnow() - timedelta(days=1))
    assert _api(app, plain).status_code == 401
    assert _token(app, token_id).last_used_at is None


def test_the_migration_gives_existing_tokens_180_days(tmp_path):
    url = f"sqlite:///{tmp_path / 'tokens.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0007_contacts")
        db.session.execute(text(
            "INSERT INTO users (id, username, full_name, password_hash, role, active, must_change_password,"
            " created_at) VALUES (1, 'lingdao', '', 'x', 'district_official', 1, 0, '2026-01-01 00:00:00')"))
        db.session.execute(text(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at)"
            " VALUES (1, 1, '旧令牌', :hash, '2026-01-01 00:00:00')"), {"hash": "0" * 64})
        db.session.commit()
        upgrade()
        token = db.session.get(ApiToken, 1)
        assert _about(token.expires_at, utcnow() + timedelta(days=180))
        assert token.last_used_at is None
        db.engine.dispose()

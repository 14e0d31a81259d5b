"""Logging in and out, accounts and their deactivation, cookies and CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry import create_app
from registry.extensions import db
from registry.models import AuditEvent, User


def test_wrong_password_is_refused_in_chinese(client, make, auth):
    make.user("health", username="weijian")
    response = auth.login("weijian", "not-the-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.text


def test_a_login_is_audited(app, make, auth):
    make.user("health", username="weijian")
    auth.login("weijian")
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).one()
        assert event.user.username == "weijian"


def test_pages_need_a_login(client):
    response = client.get("/homes")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/agreements", "/agreements"), ("https://evil.example/", "/"), ("//evil.example/", "/"),
     ("/\\evil.example", "/"), ("/homes\r\nSet-Cookie: x=1", "/"), ("/\t/evil.example", "/"),
     ("/homes\x1b[31m", "/"), ("javascript:alert(1)", "/")],
)
def test_next_redirects_only_to_local_paths(client, make, next_url, expected):
    make.user("health", username="weijian")
    response = client.post("/login", query_string={"next": next_url},
                           data={"username": "weijian", "password": "Correct-horse-battery-9"})
    assert response.status_code == 302
    assert response.location == expected


@pytest.mark.parametrize("next_url", ["/homes\r\nSet-Cookie: x=1", "/homes\n", "//evil.example/", "/\x7f"])
def test_the_language_switch_ignores_a_bad_next_even_without_login(client, next_url):
    response = client.get("/lang/en", query_string={"next": next_url})
    assert response.status_code == 302
    assert response.location == "/"
    assert client.get("/lang/en", query_string={"next": "/login"}).location == "/login"


@pytest.mark.parametrize("who", ["known", "unknown", "inactive"])
def test_a_wrong_login_costs_one_password_hash_whoever_it_names(app, client, make, monkeypatch, who):
    """An unknown username must not answer faster than a known one (no username enumeration by timing)."""
    from registry.models import users as user_model

    make.user("health", username="known")
    inactive = make.user("health", username="inactive")
    with app.app_context():
        db.session.get(User, inactive).active = False
        db.session.commit()
    checks = []
    real = user_model.check_password_hash

    def counted(pwhash: str, password: str) -> bool:
        checks.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(user_model, "check_password_hash", counted)
    response = client.post("/login", data={"username": who, "password": "not-the-password"})
    assert "用户名或密码错误" in response.text
    assert len(checks) == 1


def test_logout_ends_the_session(client, make, auth):
    make.user("health", username="weijian")
    auth.login("weijian")
    assert client.get("/homes").status_code == 200
    auth.logout()
    assert client.get("/homes").status_code == 302


def test_admin_creates_a_district_official_who_can_log_in(app, client, make, auth):
    make.user("admin", username="boss")
    auth.login("boss")
    form = {"username": "lingdao-gaozhou", "full_name": "高州市领导", "role": "district_official",
            "region_code": "440981", "password": "Gaozhou-official-2026", "confirm": "Gaozhou-official-2026"}
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 302
    assert "lingdao-gaozhou" in client.get("/admin/users").text
    auth.logout()
    assert auth.login("lingdao-gaozhou", "Gaozhou-official-2026").status_code == 302


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region_code": ""}, "区县领导必须指定所属区县"),
        ({"password": "short", "confirm": "short"}, "密码至少 12 位"),
        ({"confirm": "something-else-entirely"}, "两次输入的密码不一致"),
        ({"username": "boss"}, "用户名 boss 已存在"),
        ({"password": "xx-lingdao-new-xx", "confirm": "xx-lingdao-new-xx"}, "密码不能包含用户名"),
    ],
)
def test_account_rules(app, client, make, auth, changes, message):
    make.user("admin", username="boss")
    auth.login("boss")
    form = {"username": "lingdao-new", "role": "district_official", "region_code": "440981",
            "password": "Gaozhou-official-2026", "confirm": "Gaozhou-official-2026"} | changes
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 200
    assert message in response.text
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "lingdao-new")) is None


def test_a_deactivated_user_cannot_log_in_and_loses_the_session(app, make):
    make.user("admin", username="boss")
    staff = make.user("health", username="weijian")
    admin_client, staff_client = app.test_client(), app.test_client()
    staff_client.post("/login", data={"username": "weijian", "password": "Correct-horse-battery-9"})
    assert staff_client.get("/homes").status_code == 200
    admin_client.post("/login", data={"username": "boss", "password": "Correct-horse-battery-9"})
    assert admin_client.post(f"/admin/users/{staff}/deactivate").status_code == 302
    assert staff_client.get("/homes").status_code == 302  # the open session no longer works
    again = staff_client.post("/login", data={"username": "weijian", "password": "Correct-horse-battery-9"})
    assert "该账号已停用" in again.text
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deactivate")).one()


def test_an_admin_cannot_deactivate_themself(app, client, make, auth):
    boss = make.user("admin", username="boss")
    auth.login("boss")
    client.post(f"/admin/users/{boss}/deactivate")
    with app.app_context():
        assert db.session.get(User, boss).active


def test_session_cookie_is_httponly_and_samesite_lax(client, make, auth):
    make.user("health", username="weijian")
    response = auth.login("weijian")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_hashed(app, make):
    user_id = make.user("health", username="weijian")
    with app.app_context():
        stored = db.session.get(User, user_id).password_hash
        assert "Correct-horse-battery-9" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_forms_refuse_a_post_without_the_csrf_token(database_url):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    response = app.test_client().post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400


def test_the_interface_switches_to_english_and_back(client, make, auth):
    make.user("health", username="weijian")
    auth.login("weijian")
    assert 'lang="zh-CN"' in client.get("/homes").text
    client.get("/lang/en")
    assert 'lang="en"' in client.get("/homes").text
    client.get("/lang/zh_Hans_CN")
    assert 'lang="zh-CN"' in client.get("/homes").text


def test_the_chosen_language_outlives_a_logout(client, make, auth):
    make.user("health", username="weijian")
    auth.login("weijian")
    client.get("/lang/en")
    auth.logout()
    assert 'lang="en"' in client.get("/login").text

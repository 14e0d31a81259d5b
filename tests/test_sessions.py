"""Sessions held server-side, the login throttle, password rules, denied access in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from registry.extensions import db
from registry.models import AuditEvent, User, UserSession
from registry.models.clock import utcnow
from tests.factories import GAOZHOU, PASSWORD


def test_a_replayed_cookie_is_refused_after_logout(app, make):
    make.user("health", username="weijian")
    browser = app.test_client()
    browser.post("/login", data={"username": "weijian", "password": PASSWORD})
    assert browser.get("/homes").status_code == 200
    stolen = browser.get_cookie("session").value
    browser.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/homes").status_code == 302  # sent to the login page


def test_a_new_session_id_at_login(app, make):
    make.user("health", username="weijian")
    browser = app.test_client()
    browser.get("/login")
    before = browser.get_cookie("session")
    browser.post("/login", data={"username": "weijian", "password": PASSWORD})
    assert browser.get_cookie("session").value != (before.value if before else None)


@pytest.mark.parametrize(("column", "age"), [
    ("last_seen_at", timedelta(minutes=31)),  # idle for longer than SESSION_IDLE_MINUTES
    ("created_at", timedelta(hours=13)),  # older than SESSION_MAX_HOURS, however busy
], ids=["idle", "past-its-lifetime"])
def test_a_session_ends(app, client, make, auth, column, age):
    make.user("health", username="weijian")
    auth.login("weijian")
    with app.app_context():
        db.session.execute(update(UserSession).values({column: utcnow() - age}))
        db.session.commit()
    assert client.get("/homes").status_code == 302


def test_the_login_throttle_locks_a_username_and_says_so(app, client, make):
    make.user("health", username="weijian")
    for _attempt in range(5):
        response = client.post("/login", data={"username": "weijian", "password": "wrong-password-123"})
        assert "用户名或密码错误" in response.text
    locked = client.post("/login", data={"username": "weijian", "password": PASSWORD})
    assert "登录失败次数过多，请 15 分钟后再试" in locked.text
    other_server = app.test_client()  # the count lives in the database: any server sees it
    assert "登录失败次数过多" in other_server.post(
        "/login", data={"username": "WEIJIAN", "password": PASSWORD}).text
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "users")).all()
        assert actions.count("login_failed") == 5 and "login_locked" in actions


def test_a_password_set_by_an_administrator_must_be_changed(app, client, admin, auth):
    form = {"username": "new-staff", "role": "health", "region_code": "", "password": "Initial-pass-2026",
            "confirm": "Initial-pass-2026"}
    client.post("/admin/users/new", data=form)
    auth.logout()
    response = auth.login("new-staff", "Initial-pass-2026")
    assert response.location == "/account/password"
    assert client.get("/homes").location == "/account/password"
    common = client.post("/account/password", data={"current": "Initial-pass-2026", "password": "qwertyuiop123",
                                                    "confirm": "qwertyuiop123"})
    assert "这是常见密码" in common.text
    done = client.post("/account/password", data={"current": "Initial-pass-2026", "password": "Changed-pass-2026x",
                                                  "confirm": "Changed-pass-2026x"})
    assert done.status_code == 302
    assert client.get("/homes").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "new-staff")).must_change_password is False


def test_an_idor_attempt_is_a_404_and_an_audit_entry(app, client, make, auth):
    other = make.home(region=GAOZHOU)
    make.user("civil_affairs", "440902", username="minzheng-mn")
    auth.login("minzheng-mn")
    assert client.get(f"/institutions/{other}").status_code == 404
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).one()
        assert (event.entity, event.entity_id, event.user.username) == ("institutions", other, "minzheng-mn")


def test_a_forbidden_action_is_audited(app, client, make, auth):
    make.user("district_official", "440902", username="lingdao")
    auth.login("lingdao")
    assert client.get("/institutions/new?kind=eldercare").status_code == 403
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).one()


def change_password_with(client, current: str):
    return client.post("/account/password", data={"current": current, "password": "Changed-pass-2026x",
                                                  "confirm": "Changed-pass-2026x"})


def test_the_password_page_is_throttled_and_logs_out_after_repeated_failures(app, make):
    make.user("health", username="weijian")
    browser, other_device = app.test_client(), app.test_client()
    for client in (browser, other_device):
        client.post("/login", data={"username": "weijian", "password": PASSWORD})
    for _attempt in range(4):
        assert "当前密码不正确" in change_password_with(browser, "wrong-password-123").text
    locked = change_password_with(browser, "wrong-password-123")
    assert locked.location == "/login"
    assert "当前密码输错次数过多，已退出登录，请 15 分钟后再登录" in browser.get("/login").text
    assert browser.get("/homes").status_code == 302
    assert other_device.get("/homes").status_code == 302  # every session of the account ended
    assert change_password_with(other_device, PASSWORD).status_code == 302  # to the login page: nothing changed
    assert "登录失败次数过多" in browser.post("/login", data={"username": "weijian", "password": PASSWORD}).text
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "weijian"))
        assert user.check_password(PASSWORD)
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "users")).all()
        assert actions.count("login_failed") == 5 and "login_locked" in actions


def test_a_locked_account_cannot_change_its_password_even_with_the_right_one(app, client, make, auth):
    make.user("health", username="weijian")
    auth.login("weijian")
    guesser = app.test_client()
    for _attempt in range(5):
        guesser.post("/login", data={"username": "weijian", "password": "wrong-password-123"})
    response = change_password_with(client, PASSWORD)
    assert "登录失败次数过多，请 15 分钟后再试" in response.text
    assert client.get("/homes").status_code == 200  # someone else's guesses do not end this session
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "weijian")).check_password(PASSWORD)

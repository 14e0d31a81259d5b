"""An administrator edits an account's name, role and region, and resets its password."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from registry.extensions import db
from registry.models import AuditEvent, User
from tests.factories import GAOZHOU, MAONAN, PASSWORD

NEW_PASSWORD = "Lychee-harbour-tram-42"


def logged_in(app, username: str, password: str = PASSWORD):
    """A browser of its own, logged in as `username`."""
    browser = app.test_client()
    browser.post("/login", data={"username": username, "password": password})
    return browser


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).options(joinedload(AuditEvent.user))
                                       .where(AuditEvent.action == action).order_by(AuditEvent.id)))


def account(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_the_users_list_offers_edit_reset_and_deactivate(client, make, admin):
    staff = make.user("health", username="weijian")
    page = client.get("/admin/users").text
    assert f'href="/admin/users/{staff}/edit"' in page
    assert f'href="/admin/users/{staff}/password"' in page
    assert f'action="/admin/users/{staff}/deactivate"' in page
    assert "编辑" in page and "重置密码" in page and "停用" in page


def test_an_administrators_own_row_offers_only_edit(app, client, make, admin):
    with app.app_context():
        boss = db.session.scalar(select(User.id).where(User.username == "boss"))
    page = client.get("/admin/users").text
    assert f'href="/admin/users/{boss}/edit"' in page
    assert f'/admin/users/{boss}/password' not in page and f'/admin/users/{boss}/deactivate' not in page


def test_the_edit_form_shows_the_account_as_it_is(client, make, admin):
    official = make.user("district_official", GAOZHOU, username="lingdao-gz")
    page = client.get(f"/admin/users/{official}/edit").text
    assert "编辑账号 lingdao-gz" in page
    assert '<option selected value="district_official">' in page
    assert '<option selected value="440981">' in page
    assert 'name="password"' not in page and 'name="username"' not in page


def test_an_administrator_changes_name_role_and_region_and_it_is_audited(app, client, make, admin):
    staff = make.user("civil_affairs", GAOZHOU, username="minzheng-gz")
    response = client.post(f"/admin/users/{staff}/edit",
                           data={"full_name": "茂南区领导", "role": "district_official", "region_code": MAONAN})
    assert response.status_code == 302
    assert "已保存账号 minzheng-gz" in client.get("/admin/users").text
    user = account(app, staff)
    assert (user.full_name, user.role, user.region_code) == ("茂南区领导", "district_official", MAONAN)
    [event] = [e for e in events(app, "update") if e.entity == "users"]
    assert event.entity_id == staff and event.summary == "minzheng-gz"
    assert (event.before["role"], event.after["role"]) == ("civil_affairs", "district_official")
    assert (event.before["region_code"], event.after["region_code"]) == (GAOZHOU, MAONAN)
    assert event.after["full_name"] == "茂南区领导"
    audit_page = client.get("/admin/audit?action=update").text
    assert "角色: 民政工作人员 → 区县领导" in audit_page and "所属区县: 高州市 → 茂南区" in audit_page


def test_staff_may_become_city_level_by_leaving_the_region_empty(app, client, make, admin):
    staff = make.user("health", GAOZHOU, username="weijian-gz")
    client.post(f"/admin/users/{staff}/edit", data={"full_name": "", "role": "health", "region_code": ""})
    assert account(app, staff).region_code is None


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"role": "district_official", "region_code": ""}, "region_code", "区县领导必须指定所属区县"),
    ({"role": "superuser", "region_code": ""}, "role", "Not a valid choice"),
    ({"role": "health", "region_code": "999999"}, "region_code", "Not a valid choice"),
])
def test_the_rules_of_roles_and_regions_hold_as_on_creation(app, client, make, admin, form, field, message):
    staff = make.user("health", GAOZHOU, username="weijian-gz")
    response = client.post(f"/admin/users/{staff}/edit", data={"full_name": "改名", **form})
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    user = account(app, staff)
    assert (user.full_name, user.role, user.region_code) == ("", "health", GAOZHOU)
    assert not [e for e in events(app, "update") if e.entity == "users"]


def test_a_district_official_needs_a_region_in_the_service_too(app, make):
    from registry.services import RecordInvalid, users

    official = make.user("district_official", GAOZHOU, username="lingdao-gz")
    boss = make.user("admin", username="boss")
    with app.app_context():
        user, acting = db.session.get(User, official), db.session.get(User, boss)
        with pytest.raises(RecordInvalid) as refused:
            users.update(user, "", "district_official", None, acting)
        assert refused.value.errors == {"region_code": "区县领导必须指定所属区县"}


def test_an_administrator_cannot_remove_their_own_admin_role(app, client, admin):
    with app.app_context():
        boss = db.session.scalar(select(User.id).where(User.username == "boss"))
    response = client.post(f"/admin/users/{boss}/edit", data={"full_name": "", "role": "health", "region_code": ""})
    assert response.status_code == 200
    assert "不能取消自己的系统管理员角色" in response.text
    assert account(app, boss).role == "admin"
    assert client.get("/admin/users").status_code == 200  # still an administrator


def test_an_administrator_may_rename_themself_and_stays_logged_in(app, client, admin):
    with app.app_context():
        boss = db.session.scalar(select(User.id).where(User.username == "boss"))
    client.post(f"/admin/users/{boss}/edit", data={"full_name": "系统管理员甲", "role": "admin", "region_code": ""})
    assert account(app, boss).full_name == "系统管理员甲"
    assert client.get("/admin/users").status_code == 200


def test_another_administrator_may_be_made_staff(app, client, make, admin):
    other = make.user("admin", username="boss-2")
    client.post(f"/admin/users/{other}/edit", data={"full_name": "", "role": "health", "region_code": ""})
    assert account(app, other).role == "health"


def test_a_new_role_ends_the_users_sessions(app, client, make, admin):
    staff = make.user("health", username="weijian")
    browser = logged_in(app, "weijian")
    assert browser.get("/homes").status_code == 200
    client.post(f"/admin/users/{staff}/edit", data={"full_name": "", "role": "civil_affairs", "region_code": ""})
    assert browser.get("/homes").status_code == 302  # sent to log in again


def test_a_new_region_ends_the_users_sessions(app, client, make, admin):
    staff = make.user("health", GAOZHOU, username="weijian-gz")
    browser = logged_in(app, "weijian-gz")
    client.post(f"/admin/users/{staff}/edit", data={"full_name": "", "role": "health", "region_code": MAONAN})
    assert browser.get("/homes").status_code == 302


def test_a_new_name_alone_keeps_the_users_sessions(app, client, make, admin):
    staff = make.user("health", GAOZHOU, username="weijian-gz")
    browser = logged_in(app, "weijian-gz")
    client.post(f"/admin/users/{staff}/edit", data={"full_name": "高州卫健", "role": "health", "region_code": GAOZHOU})
    assert account(app, staff).full_name == "高州卫健"
    assert browser.get("/homes").status_code == 200


def test_an_edit_that_changes_nothing_says_so_and_writes_no_event(app, client, make, admin):
    staff = make.user("health", GAOZHOU, username="weijian-gz")
    client.post(f"/admin/users/{staff}/edit", data={"full_name": "", "role": "health", "region_code": GAOZHOU})
    assert "没有修改任何内容" in client.get("/admin/users").text
    assert not [e for e in events(app, "update") if e.entity == "users"]


def test_the_new_rights_apply_at_the_next_login(app, client, make, admin):
    staff = make.user("health", username="weijian")
    client.post(f"/admin/users/{staff}/edit", data={"full_name": "", "role": "district_official",
                                                      "region_code": GAOZHOU})
    browser = logged_in(app, "weijian")
    assert browser.get("/institutions/new?kind=medical").status_code == 403


@pytest.mark.parametrize("path", ["edit", "password"])
def test_only_an_administrator_edits_accounts(app, make, path):
    staff = make.user("health", username="weijian")
    make.user("civil_affairs", username="minzheng")
    browser = logged_in(app, "minzheng")
    assert browser.get(f"/admin/users/{staff}/{path}").status_code == 403
    assert browser.post(f"/admin/users/{staff}/{path}", data={"role": "admin", "password": NEW_PASSWORD,
                                                                "confirm": NEW_PASSWORD}).status_code == 403
    assert account(app, staff).role == "health"


def test_editing_an_unknown_account_is_not_found(client, admin):
    assert client.get("/admin/users/999999/edit").status_code == 404
    assert client.get("/admin/users/999999/password").status_code == 404


# --- 重置密码 -----------------------------------------------------------------------------------


def test_a_reset_password_must_be_changed_at_the_next_login(app, client, make, admin):
    staff = make.user("health", username="weijian")
    response = client.post(f"/admin/users/{staff}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert "已重置 weijian 的密码" in client.get("/admin/users").text
    browser = app.test_client()
    assert "用户名或密码错误" in browser.post("/login", data={"username": "weijian", "password": PASSWORD}).text
    login = browser.post("/login", data={"username": "weijian", "password": NEW_PASSWORD})
    assert login.headers["Location"] == "/account/password"
    assert browser.get("/homes").headers["Location"] == "/account/password"  # nothing else first
    changed = browser.post("/account/password", data={"current": NEW_PASSWORD, "password": "Banyan-ferry-lantern-7",
                                                      "confirm": "Banyan-ferry-lantern-7"})
    assert changed.status_code == 302
    assert browser.get("/homes").status_code == 200
    [change] = events(app, "change_password")
    assert (change.summary, change.user.username) == ("weijian", "weijian")


def test_a_reset_ends_the_users_sessions(app, client, make, admin):
    staff = make.user("health", username="weijian")
    browser = logged_in(app, "weijian")
    assert browser.get("/homes").status_code == 200
    client.post(f"/admin/users/{staff}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert browser.get("/homes").status_code == 302
    assert client.get("/admin/users").status_code == 200  # the administrator's own session goes on


def test_a_reset_is_audited_without_the_password(app, client, make, admin):
    staff = make.user("health", username="weijian")
    client.post(f"/admin/users/{staff}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    [event] = events(app, "reset_password")
    assert (event.entity, event.entity_id, event.summary) == ("users", staff, "weijian")
    assert event.user.username == "boss"
    assert (event.before["must_change_password"], event.after["must_change_password"]) == (False, True)
    stored = repr((event.before, event.after, event.summary))
    assert NEW_PASSWORD not in stored and "password_hash" not in stored
    assert "重置密码" in client.get("/admin/audit?action=reset_password").text


@pytest.mark.parametrize(("password", "reason"), [
    ("short-1", "密码至少 12 位"),
    ("xx-weijian-xx-2026", "密码不能包含用户名"),
    ("123456789012", "密码是连续的字母或数字"),
])
def test_a_reset_password_follows_the_password_rule(app, client, make, admin, password, reason):
    staff = make.user("health", username="weijian")
    response = client.post(f"/admin/users/{staff}/password", data={"password": password, "confirm": password})
    assert response.status_code == 200 and reason in response.text
    assert not events(app, "reset_password")
    assert logged_in(app, "weijian").get("/homes").status_code == 200  # the old password still works


def test_a_reset_needs_the_password_twice(app, client, make, admin):
    staff = make.user("health", username="weijian")
    response = client.post(f"/admin/users/{staff}/password", data={"password": NEW_PASSWORD, "confirm": "other"})
    assert "两次输入的密码不一致" in response.text
    assert not events(app, "reset_password")


def test_an_administrator_does_not_reset_their_own_password(app, client, admin):
    with app.app_context():
        boss = db.session.scalar(select(User.id).where(User.username == "boss"))
    response = client.post(f"/admin/users/{boss}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "不能重置自己的密码" in response.text
    assert not account(app, boss).must_change_password

"""The password rule: length, not the username or name, and hard to guess (zxcvbn score ≥ 3)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import User
from tests.factories import PASSWORD

WEAK = [
    ("123456789012", "密码是连续的字母或数字"),
    ("aaaaaaaaaaaa", "密码含有大段重复字符"),
    ("qwertyuiop12", "密码是键盘上相邻按键的顺序"),
    ("password123456", "这是常见密码"),
]


def new_account(**changes) -> dict:
    return {"username": "lingdao-new", "full_name": "", "role": "district_official", "region_code": "440981",
            "password": "Gaozhou-official-2026", "confirm": "Gaozhou-official-2026"} | changes


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_an_administrator_cannot_give_a_weak_password(app, client, admin, password, reason):
    response = client.post("/admin/users/new", data=new_account(password=password, confirm=password))
    assert response.status_code == 200
    assert reason in response.text
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "lingdao-new")) is None


def test_a_password_made_of_the_full_name_is_refused(app, client, admin):
    form = new_account(full_name="wangxiaoming", password="wangxiaoming2026", confirm="wangxiaoming2026")
    response = client.post("/admin/users/new", data=form)
    assert "密码不能包含用户名或姓名" in response.text
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "lingdao-new")) is None


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_create_user_on_the_command_line_refuses_a_weak_password(app, runner, password, reason):
    result = runner.invoke(args=["registry", "create-user", "someone", "--role", "health", "--password", password])
    assert result.exit_code == 1
    assert f"password: {reason}" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "someone")) is None


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_a_weak_new_password_is_refused(app, client, make, auth, password, reason):
    make.user("health", username="weijian")
    auth.login("weijian")
    response = client.post("/account/password", data={"current": PASSWORD, "password": password,
                                                      "confirm": password})
    assert response.status_code == 200
    assert reason in response.text
    auth.logout()
    assert auth.login("weijian", password).status_code == 200  # the old password still holds
    assert auth.login("weijian").status_code == 302


def test_a_strong_password_is_accepted(app, client, admin):
    response = client.post("/admin/users/new", data=new_account())
    assert response.status_code == 302

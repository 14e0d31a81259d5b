"""The `registry` commands: init, demo, create-user."""

from __future__ import annotations

from sqlalchemy import select

from registry.extensions import db
from registry.models import Agreement, Institution, Region, Target, User
from tests.conftest import count, reset_schema, seeded_schema


def test_init_migrates_and_seeds_and_is_safe_to_run_again(app, runner):
    with app.app_context():
        reset_schema()
    try:
        first = runner.invoke(args=["registry", "init"])
        assert first.exit_code == 0, first.output
        assert count(app, Region) == 7
        assert count(app, Target) == 20
        with app.app_context():
            target = db.session.scalars(select(Target).where(Target.indicator == "eldercare_run_medical")).first()
            target.value, target.edited = 12, True
            db.session.commit()
        again = runner.invoke(args=["registry", "init"])
        assert again.exit_code == 0, again.output
        assert count(app, Target) == 20
        with app.app_context():
            values = db.session.scalars(
                select(Target.value).where(Target.indicator == "eldercare_run_medical")
            ).all()
            assert 12 in values  # an administrator's edit survives a second init
    finally:
        with app.app_context():
            seeded_schema()


def test_demo_loads_once_into_an_empty_register(app, runner):
    result = runner.invoke(args=["registry", "demo", "--print-logins"])
    assert result.exit_code == 0, result.output
    assert count(app, Institution) == 23
    assert count(app, Agreement) == 9
    assert "lingdao-maonan" in result.output and "Maoming-demo-2026" in result.output
    again = runner.invoke(args=["registry", "demo"])
    assert again.exit_code == 0
    assert count(app, Institution) == 23


def test_demo_logins_work_for_every_role(app, runner, client, auth):
    runner.invoke(args=["registry", "demo"])
    for username in ("admin", "minzheng", "weijian", "lingdao-maonan"):
        response = auth.login(username, "Maoming-demo-2026")
        assert response.status_code == 302, username
        assert response.location == "/"
        assert client.get("/").status_code == 200
        auth.logout()


def test_every_demo_role_sees_the_review_workflow_at_once(app, runner, client, auth):
    runner.invoke(args=["registry", "demo"])
    assert count(app, Institution) == 23  # the pending requests are not in the register
    seen = {}
    for username in ("minzheng", "weijian", "minzheng-maonan", "weijian-gaozhou", "lingdao-maonan"):
        auth.login(username, "Maoming-demo-2026")
        bell = client.get("/notifications").text  # before /review/mine marks the decisions seen
        seen[username] = (client.get("/review").text, client.get("/review/mine").text,
                          client.get("/reports/2022-Q4", follow_redirects=True).text, bell)
        auth.logout()
    queue, _mine, _period, bell = seen["minzheng"]
    assert "茂南康乐养老院" in queue and "茂南福寿老人公寓" in queue and "待我审核的变更申请" in bell
    queue, _mine, period, bell = seen["weijian"]
    assert "高州长寿养护院康复门诊部" in queue and "茂南康乐养老院" not in queue
    assert "1 / 7 个区县已审核" in period and "已上报" in period and "未上报" in period
    assert "待审核的区县上报" in bell
    _queue, mine, _period, bell = seen["minzheng-maonan"]
    assert "已退回" in mine and "成立日期与备案证书不符" in mine and "我的申请已有审核结果" in bell
    assert "高州长寿养护院康复门诊部" in seen["weijian-gaozhou"][1] and "已上报" in seen["weijian-gaozhou"][2]
    assert client.get("/reports/2022-Q4/440902").status_code == 302  # logged out
    auth.login("lingdao-maonan", "Maoming-demo-2026")
    assert "已审核" in client.get("/reports/2022-Q4/440902").text


def test_demo_coordinates_lie_in_maoming(app, runner):
    runner.invoke(args=["registry", "demo"])
    with app.app_context():
        for institution in db.session.scalars(select(Institution)):
            assert 21.3 < institution.lat < 22.7 and 110.3 < institution.lon < 111.6, institution.name
            assert institution.name.startswith("【示例】")


def test_create_user(app, runner):
    result = runner.invoke(args=["registry", "create-user", "lingdao-gaozhou", "--role", "district_official",
                                 "--region", "440981", "--password", "A-long-enough-pass"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "lingdao-gaozhou"))
        assert (user.role, user.region_code) == ("district_official", "440981")
        assert user.check_password("A-long-enough-pass")


def test_create_user_refuses_an_official_without_a_region(app, runner):
    result = runner.invoke(args=["registry", "create-user", "someone", "--role", "district_official",
                                 "--password", "A-long-enough-pass"])
    assert result.exit_code == 1
    assert "区县领导必须指定所属区县" in result.output
    assert count(app, User) == 0


def test_create_user_refuses_a_short_password(app, runner):
    result = runner.invoke(args=["registry", "create-user", "someone", "--role", "health",
                                 "--password", "short"])
    assert result.exit_code == 1
    assert "密码至少 12 位" in result.output

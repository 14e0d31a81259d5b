"""The bell (提醒): what waits for each user, counted on every page's header."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from registry.extensions import db
from registry.models import ChangeRequest, clock
from registry.services import periods
from tests.conftest import AuthActions
from tests.factories import GAOZHOU, MAONAN
from tests.test_institutions import home_form


def _login(make, client, role: str, region: str | None, username: str) -> None:
    make.user(role, region, username=username)
    AuthActions(client).logout()
    AuthActions(client).login(username)


def _bell(client) -> str:
    return client.get("/notifications").text


def test_agreements_of_ones_region_ending_within_60_days_ring_the_bell(app, client, make):
    with app.app_context():
        today = clock.today()
    home, hospital = make.home(MAONAN), make.medical(MAONAN)
    make.agreement(home, hospital, valid_to=today + timedelta(days=30))
    far_home, far_hospital = make.home(GAOZHOU), make.medical(GAOZHOU)
    make.agreement(far_home, far_hospital, valid_to=today + timedelta(days=300))
    _login(make, client, "district_official", MAONAN, "ld-maonan")
    assert "本辖区60天内到期的签约协议" in _bell(client)
    _login(make, client, "district_official", GAOZHOU, "ld-gaozhou")
    assert "本辖区60天内到期的签约协议" not in _bell(client)


def test_a_reviewer_is_told_of_waiting_requests_and_the_submitter_of_the_decision(app, client, make):
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    client.post("/institutions/new?kind=eldercare", data=home_form(name="铃铛养老院"))
    _login(make, client, "health", None, "wj-city")
    assert "待我审核的变更申请" not in _bell(client)  # another department's
    _login(make, client, "civil_affairs", None, "mz-city")
    page = client.get("/").text
    assert "待我审核的变更申请" in _bell(client) and 'badge rounded-pill text-bg-danger">1<' in page
    with app.app_context():  # PostgreSQL's ids go on from the tests before: the one request there is
        request_id = db.session.scalar(select(ChangeRequest.id))
    client.post(f"/review/{request_id}/return", data={"reason": "缺少备案号"})
    assert "待我审核的变更申请" not in _bell(client)
    AuthActions(client).logout()
    AuthActions(client).login("mz-maonan")
    assert "我的申请已有审核结果" in _bell(client)
    client.get("/review/mine")  # seen
    assert "我的申请已有审核结果" not in _bell(client)


def test_a_district_is_told_its_report_is_due_and_the_city_that_one_waits(app, client, make):
    _login(make, client, "health", GAOZHOU, "wj-gaozhou")
    assert "本辖区有待上报或被退回的报告" in _bell(client)
    _login(make, client, "health", None, "wj-city")
    assert "待审核的区县上报" not in _bell(client)
    AuthActions(client).logout()
    AuthActions(client).login("wj-gaozhou")
    with app.app_context():
        due = periods.due(clock.today())
    for period in due:
        client.post(f"/reports/{period.key}/{GAOZHOU}/submit")
    assert "本辖区有待上报或被退回的报告" not in _bell(client)
    AuthActions(client).logout()
    AuthActions(client).login("wj-city")
    assert "待审核的区县上报" in _bell(client)

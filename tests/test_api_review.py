"""The JSON API of review and reporting (docs/review-and-reporting.md): change requests and period reports, scoped like the pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import ChangeRequest, PeriodReport, User, clock
from registry.services import compliance, reports, review
from registry.services.periods import Period
from tests.factories import DIANBAI, GAOZHOU, MAONAN, count_statements

Q4 = "2022-Q4"


def request_change(app, user_id: int, name: str, region: str = MAONAN, kind: str = "eldercare") -> int:
    """A district user's request to register a new institution (waiting for review); its id."""
    values = {"name": name, "region_code": region, "opened_on": date(2021, 1, 1), "host": None}
    values |= {"beds_total": 60} if kind == "eldercare" else {"medical_type": "诊所"}
    with app.app_context():
        request = review.submit(db.session.get(User, user_id), kind, "create", values)
        db.session.commit()
        return request.id


def decide_change(app, request_id: int, reviewer_id: int, reason: str = "") -> None:
    """Approve the request, or return it when there is a reason."""
    with app.app_context():
        request, reviewer = db.session.get(ChangeRequest, request_id), db.session.get(User, reviewer_id)
        if reason:
            review.return_(request, reviewer, reason)
        else:
            review.approve(request, reviewer)
        db.session.commit()


def submit_report(app, region: str, submitter_id: int, reviewer_id: int | None = None,
                  period: str = Q4) -> None:
    """The region's report for the period, submitted (and approved when a reviewer is given)."""
    with app.app_context():
        report = reports.submit(Period.parse(period), region, db.session.get(User, submitter_id), clock.today())
        if reviewer_id is not None:
            reports.approve(report, db.session.get(User, reviewer_id))
        db.session.commit()


def _get(client, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(path, headers=headers)
    assert response.is_json, (path, response.status_code, response.text[:200])
    return response.status_code, response.get_json()


# --- change requests --------------------------------------------------------------------------


@pytest.fixture()
def requests_(app, make) -> dict[str, int]:
    """Requests of 茂南 civil affairs (two people), 茂南 health and 高州 civil affairs; the submitters' ids."""
    users = {
        "maonan_civil": make.user("civil_affairs", MAONAN, username="mz-maonan"),
        "maonan_civil_2": make.user("civil_affairs", MAONAN, username="mz-maonan-2"),
        "maonan_health": make.user("health", MAONAN, username="wj-maonan"),
        "gaozhou_civil": make.user("civil_affairs", GAOZHOU, username="mz-gaozhou"),
    }
    request_change(app, users["maonan_civil"], "茂南甲养老院")
    request_change(app, users["maonan_civil_2"], "茂南乙养老院")
    request_change(app, users["maonan_health"], "茂南丙诊所", kind="medical")
    request_change(app, users["gaozhou_civil"], "高州丁养老院", region=GAOZHOU)
    return users


@pytest.mark.parametrize(("role", "region", "summaries"), [
    ("civil_affairs", MAONAN, {"茂南甲养老院", "茂南乙养老院"}),  # their department's, in their region
    ("civil_affairs", None, {"茂南甲养老院", "茂南乙养老院", "高州丁养老院"}),
    ("health", None, {"茂南丙诊所"}),
    ("health", GAOZHOU, set()),
    ("district_official", MAONAN, {"茂南甲养老院", "茂南乙养老院", "茂南丙诊所"}),
    ("district_official", GAOZHOU, {"高州丁养老院"}),
    ("admin", None, {"茂南甲养老院", "茂南乙养老院", "茂南丙诊所", "高州丁养老院"}),
])
def test_change_requests_are_scoped_like_the_review_queue(client, make, requests_, role, region, summaries):
    _, token = make.token(make.user(role, region))
    status, data = _get(client, "/api/v1/change-requests", token)
    assert status == 200
    assert {r["summary"] for r in data["items"]} == summaries
    assert data["total"] == len(summaries)


def test_a_submitter_sees_their_own_requests_outside_their_department(app, client, make, requests_):
    request_change(app, requests_["maonan_civil"], "茂南戊诊所", kind="medical")  # reviewed by health
    _, token = make.token(requests_["maonan_civil"])
    _, data = _get(client, "/api/v1/change-requests", token)
    assert {r["summary"] for r in data["items"]} == {"茂南甲养老院", "茂南乙养老院", "茂南戊诊所"}


def _request_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(ChangeRequest.id).order_by(ChangeRequest.id)))


def test_change_requests_come_newest_first_and_filter_by_status(app, client, make, requests_):
    city_civil = make.user("civil_affairs", username="mz-city")
    ids = _request_ids(app)
    first, second = ids[0], ids[1]
    decide_change(app, first, city_civil)
    decide_change(app, second, city_civil, reason="床位数与备案不符")
    _, token = make.token(make.user("admin"))
    _, everything = _get(client, "/api/v1/change-requests", token)
    assert [r["id"] for r in everything["items"]] == ids[::-1]
    _, approved = _get(client, "/api/v1/change-requests?status=approved", token)
    _, returned = _get(client, "/api/v1/change-requests?status=returned", token)
    _, pending = _get(client, "/api/v1/change-requests?status=pending&per_page=1", token)
    assert [r["id"] for r in approved["items"]] == [first]
    assert [(r["id"], r["reason"], r["decided_by"]) for r in returned["items"]] == [(second, "床位数与备案不符",
                                                                                     "mz-city")]
    assert (pending["total"], pending["pages"], len(pending["items"])) == (2, 2, 1)


def test_a_change_request_carries_its_values_people_times_and_impact(app, client, make, requests_):
    _, token = make.token(requests_["maonan_civil"])
    _, data = _get(client, "/api/v1/change-requests", token)
    (item,) = [r for r in data["items"] if r["summary"] == "茂南甲养老院"]
    assert (item["subject"], item["action"], item["department"], item["region"]) == ("eldercare", "create",
                                                                                    "civil_affairs", MAONAN)
    assert (item["entity"], item["entity_id"], item["before"]) == ("institutions", None, None)
    assert item["values"]["name"] == "茂南甲养老院" and item["values"]["opened_on"] == "2021-01-01"
    assert (item["status"], item["submitted_by"], item["decided_by"], item["decided_at"]) == (
        "pending", "mz-maonan", None, None)
    assert item["submitted_at"].endswith("Z") and item["reason"] == ""
    assert {"indicator": "agreement_coverage", "region": MAONAN, "value": 0, "denominator": 1} in item["impact"]


def test_the_list_runs_as_many_queries_for_many_requests_as_for_one(app, client, make, admin):
    submitter, reviewer = make.user("civil_affairs", MAONAN), make.user("civil_affairs")
    decide_change(app, request_change(app, submitter, "茂南一号养老院"), reviewer)
    few = count_statements(app, client, "/api/v1/change-requests")
    for n in range(4):
        decide_change(app, request_change(app, make.user("civil_affairs", MAONAN), f"茂南{n}号院"), reviewer,
                      reason="请核对")
    assert count_statements(app, client, "/api/v1/change-requests") == few


# --- period reports ---------------------------------------------------------------------------


@pytest.fixture()
def reported(app, make) -> dict[str, int]:
    """2022-Q4: 茂南 and 电白 approved, 高州 submitted and waiting; the others never submitted."""
    home = make.home(MAONAN, name="茂南颐养院", beds_total=250, opened_on=date(2019, 1, 1))
    make.medical(MAONAN, host=home, medical_type="护理院", opened_on=date(2019, 6, 1))
    make.agreement(home, make.medical(MAONAN, opened_on=date(2000, 1, 1)), valid_from=date(2021, 1, 1))
    make.home(MAONAN, beds_total=80, opened_on=date(2018, 1, 1))
    dianbai = make.home(DIANBAI, opened_on=date(2015, 1, 1))
    make.medical(DIANBAI, host=dianbai, medical_type="医务室", opened_on=date(2016, 1, 1))
    make.home(GAOZHOU, opened_on=date(2015, 1, 1))
    city_health = make.user("health", username="wj-city")
    for region in (MAONAN, DIANBAI):
        submit_report(app, region, make.user("health", region), city_health)
    submit_report(app, GAOZHOU, make.user("health", GAOZHOU))
    return {"city_health": city_health}


def _approved_snapshots(app) -> list[dict]:
    with app.app_context():
        return [r.snapshot for r in db.session.scalars(select(PeriodReport).where(PeriodReport.status == "approved"))]


def test_the_city_figure_of_a_period_is_the_sum_of_the_approved_snapshots(app, client, make, reported):
    _, token = make.token(make.user("admin"))
    status, data = _get(client, f"/api/v1/reports?period={Q4}", token)
    assert status == 200
    assert (data["period"], data["label"], data["as_of"], data["deadline"]) == (Q4, "2022年第四季度",
                                                                              "2022-12-31", "2023-01-15")
    assert data["approved"] == 2
    snapshots = _approved_snapshots(app)
    for key, indicator in compliance.INDICATORS.items():
        entries = [s["indicators"][key] for s in snapshots]
        city = data["indicators"][key]["city"]
        if indicator.share:
            assert (city["numerator"], city["denominator"]) == (sum(e["numerator"] for e in entries),
                                                                sum(e["denominator"] for e in entries)), key
        else:
            assert city == {"value": sum(e["value"] for e in entries)}, key
    assert data["indicators"]["eldercare_run_medical"]["city"]["value"] == 2  # 茂南 1 + 电白 1; 高州 waits


def test_each_region_shows_its_newest_version_or_nothing(client, make, reported):
    _, token = make.token(make.user("health"))
    _, data = _get(client, f"/api/v1/reports?period={Q4}", token)
    assert len(data["regions"]) == 7
    maonan, gaozhou, binhai = data["regions"][MAONAN], data["regions"][GAOZHOU], data["regions"]["440900-BH"]
    assert (maonan["status"], maonan["version"], maonan["decided_at"][-1]) == ("approved", 1, "Z")
    assert (gaozhou["status"], gaozhou["decided_at"]) == ("submitted", None)
    assert binhai == {"status": "not_submitted", "version": None, "submitted_at": None, "decided_at": None,
                      "late": True}  # the deadline has passed
    figures = data["indicators"]["agreement_coverage"]["regions"]
    assert figures[MAONAN] == {"value": 0.5, "numerator": 1, "denominator": 2}  # no member lists
    assert figures[GAOZHOU]["denominator"] == 1  # a submitted version's figures, though not yet in the sum
    assert figures["440900-BH"] == {"value": None}


def test_a_district_official_sees_their_own_region_and_the_city_sum(client, make, reported):
    _, token = make.token(make.user("district_official", MAONAN))
    _, data = _get(client, f"/api/v1/reports?period={Q4}", token)
    assert set(data["regions"]) == {MAONAN}
    assert all(set(figures["regions"]) == {MAONAN} for figures in data["indicators"].values())
    assert data["approved"] == 2
    assert data["indicators"]["eldercare_run_medical"]["city"]["value"] == 2


def test_a_period_not_yet_ended_shows_every_region_not_submitted(client, make, reported):
    _, token = make.token(make.user("admin"))
    year = clock.today().year
    status, data = _get(client, f"/api/v1/reports?period={year}", token)
    assert status == 200
    assert data["approved"] == 0
    assert {(r["status"], r["late"]) for r in data["regions"].values()} == {("not_submitted", False)}
    assert data["indicators"]["eldercare_run_medical"]["city"] == {"value": 0}


# --- bad queries and authentication -------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/reports?period=2022-Q5", "/api/v1/reports?period=2019", "/api/v1/reports?period=",
    "/api/v1/reports", "/api/v1/change-requests?status=bogus", "/api/v1/change-requests?status=",
    "/api/v1/change-requests?page=0",
])
def test_a_bad_review_query_answers_400_in_chinese(client, make, path):
    _, token = make.token(make.user("admin"))
    status, data = _get(client, path, token)
    assert status == 400
    assert "报告期" in data["error"] or "参数" in data["error"]


@pytest.mark.parametrize("path", ["/api/v1/change-requests", f"/api/v1/reports?period={Q4}"])
def test_without_a_login_or_a_token_review_answers_401(client, path):
    status, data = _get(client, path)
    assert status == 401 and "需要登录" in data["error"]

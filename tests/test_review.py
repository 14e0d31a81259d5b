"""Change review (docs/review-and-reporting.md): a district's change that moves an indicator waits for the city bureau."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Agreement, AuditEvent, ChangeRequest, Institution, clock
from registry.services import compliance
from tests.conftest import AuthActions, confirm_upload, count
from tests.factories import GAOZHOU, MAONAN
from tests.test_institutions import home_form, medical_form


def _login(make, client, role: str, region: str | None, username: str) -> None:
    make.user(role, region, username=username)
    AuthActions(client).logout()
    assert AuthActions(client).login(username).status_code == 302


def _figure(app, key: str, region: str) -> int:
    with app.app_context():
        return compliance.INDICATORS[key].counts(clock.today()).get(region, (0, 0))[0]


def _request(app) -> ChangeRequest:
    with app.app_context():
        request = db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id.desc())).first()
        db.session.expunge_all()
        return request


@pytest.fixture()
def district_civil(make, client):
    """Logged in as 茂南 civil-affairs staff, `mz-maonan`."""
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")


def _edit_form(client, institution_id: int, **changes) -> dict:
    """The edit form of a factory home (100 beds, opened 2020-01-01, in 茂南) with `changes`, at its version."""
    page = client.get(f"/institutions/{institution_id}/edit").text
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    return home_form(opened_on="2020-01-01", beds_total="100", beds_nursing="", lat="", lon="", ownership="",
                     address="") | changes | {"version": version}


def test_a_district_home_waits_for_the_city_bureau_and_counts_once_approved(app, client, make, district_civil):
    response = client.post("/institutions/new?kind=eldercare", data=home_form(name="茂南待审养老院"))
    assert response.status_code == 302 and "/review/" in response.location
    assert count(app, Institution) == 0  # nothing in the register yet
    page = client.get(response.location).text
    assert "待审核" in page and "茂南待审养老院" in page and "市民政局" in page
    assert "茂南区 养老机构签约率 分子 +0，分母 +1" in page
    homes = client.get("/homes").text
    assert "茂南待审养老院" not in homes and "1 项新增登记正在等待审核" in homes

    _login(make, client, "civil_affairs", None, "mz-city")
    queue = client.get("/review").text
    assert "茂南待审养老院" in queue and "mz-maonan" in queue
    request = _request(app)
    assert client.post(f"/review/{request.id}/approve", data={}).status_code == 302
    with app.app_context():
        home = db.session.scalar(select(Institution))
        assert (home.name, home.beds_total) == ("茂南待审养老院", 120)
        decided = db.session.get(ChangeRequest, request.id)
        assert (decided.status, decided.entity_id) == ("approved", home.id)
        linked = db.session.scalars(select(AuditEvent.action).where(AuditEvent.change_request_id == request.id)
                                    .order_by(AuditEvent.id)).all()
        assert linked == ["request", "create", "approve"]
    assert "茂南待审养老院" in client.get("/homes").text


def test_a_pending_change_moves_no_figure_and_approval_moves_it_exactly_once(app, client, make, district_civil):
    home = make.home(MAONAN, beds_total=150)
    make.medical(MAONAN, host=home, medical_type="护理院")
    large = "large_home_medical"
    assert _figure(app, large, MAONAN) == 0
    response = client.post(f"/institutions/{home}/edit", data=_edit_form(
        client, home, name="茂南改名养老院", beds_total="220", beds_nursing="60"))
    assert response.status_code == 302
    with app.app_context():
        record = db.session.get(Institution, home)
        assert (record.name, record.beds_total) == ("茂南改名养老院", 150)  # the name now, the beds wait
    assert _figure(app, large, MAONAN) == 0
    page = client.get(f"/institutions/{home}").text
    assert "待审核" in page and "床位数：150 → 220" in page and "mz-maonan" in page

    request = _request(app)
    _login(make, client, "civil_affairs", None, "mz-city")
    detail = client.get(f"/review/{request.id}").text
    assert "茂南区 200床及以上养老机构内设医疗机构占比 分子 +1，分母 +1" in detail
    client.post(f"/review/{request.id}/approve", data={})
    assert _figure(app, large, MAONAN) == 1
    # approving again changes nothing more
    again = client.post(f"/review/{request.id}/approve", data={}, follow_redirects=True)
    assert "该申请已处理" in again.text
    assert _figure(app, large, MAONAN) == 1
    with app.app_context():
        assert db.session.get(Institution, home).beds_total == 220


def test_a_stale_request_is_refused_and_shows_both_differences(app, client, make, district_civil):
    home = make.home(MAONAN, beds_total=100)
    client.post(f"/institutions/{home}/edit", data=_edit_form(client, home, beds_total="180"))
    request = _request(app)
    _login(make, client, "civil_affairs", None, "mz-city")
    # the city edits the beds meanwhile
    client.post(f"/institutions/{home}/edit", data=_edit_form(client, home, beds_total="130"))
    page = client.get(f"/review/{request.id}").text
    assert "已过期" in page and "床位数：100 → 130" in page and "180" in page
    refused = client.post(f"/review/{request.id}/approve", data={}, follow_redirects=True)
    assert "不能直接应用" in refused.text
    with app.app_context():
        assert db.session.get(Institution, home).beds_total == 130
        assert db.session.get(ChangeRequest, request.id).status == "pending"


def test_an_edit_of_other_fields_meanwhile_does_not_make_it_stale(app, client, make, district_civil):
    home = make.home(MAONAN, beds_total=100)
    client.post(f"/institutions/{home}/edit", data=_edit_form(client, home, beds_total="180"))
    client.post(f"/institutions/{home}/edit", data=_edit_form(client, home, phone="0668-1234567"))
    request = _request(app)
    _login(make, client, "civil_affairs", None, "mz-city")
    page = client.get(f"/review/{request.id}").text
    assert "已过期" not in page and "另有修改" in page and "0668-1234567" in page
    client.post(f"/review/{request.id}/approve", data={})
    with app.app_context():
        assert db.session.get(Institution, home).beds_total == 180


def test_return_needs_a_reason_and_the_submitter_reads_it(app, client, make, district_civil):
    home = make.home(MAONAN)
    client.post(f"/institutions/{home}/close", data={"closed_on": "2026-01-31", **_edit_form(client, home)})
    request = _request(app)
    assert request.action == "close" and request.status == "pending"
    with app.app_context():
        assert db.session.get(Institution, home).closed_on is None
    _login(make, client, "civil_affairs", None, "mz-city")
    empty = client.post(f"/review/{request.id}/return", data={"reason": "  "}, follow_redirects=True)
    assert "请填写退回原因" in empty.text
    assert _request(app).status == "pending"
    client.post(f"/review/{request.id}/return", data={"reason": "停业日期与民政批复不符"})
    assert _request(app).status == "returned"
    AuthActions(client).logout()
    AuthActions(client).login("mz-maonan")
    mine = client.get("/review/mine").text
    assert "已退回" in mine and "停业日期与民政批复不符" in mine
    with app.app_context():
        assert db.session.get(Institution, home).closed_on is None


def test_the_submitter_withdraws_a_pending_request(app, client, make, district_civil):
    client.post("/institutions/new?kind=eldercare", data=home_form(name="撤回测试养老院"))
    request = _request(app)
    assert client.post(f"/review/{request.id}/withdraw").status_code == 302
    assert _request(app).status == "withdrawn"
    _login(make, client, "civil_affairs", None, "mz-city")
    assert client.post(f"/review/{request.id}/approve", data={}, follow_redirects=True).status_code == 200
    assert count(app, Institution) == 0


def test_only_the_submitter_withdraws(app, client, make, district_civil):
    client.post("/institutions/new?kind=eldercare", data=home_form(name="撤回测试养老院"))
    request = _request(app)
    _login(make, client, "civil_affairs", None, "mz-city")
    assert client.post(f"/review/{request.id}/withdraw").status_code == 403
    assert _request(app).status == "pending"


def test_a_medical_change_goes_to_the_city_health_bureau_not_civil_affairs(app, client, make):
    _login(make, client, "health", MAONAN, "wj-maonan")
    client.post("/institutions/new?kind=medical", data=medical_form(name="茂南待审医院"))
    request = _request(app)
    assert request.department == "health"
    _login(make, client, "civil_affairs", None, "mz-city")
    assert client.get(f"/review/{request.id}").status_code == 404
    assert "茂南待审医院" not in client.get("/review").text
    _login(make, client, "health", None, "wj-city")
    assert "茂南待审医院" in client.get("/review").text
    client.post(f"/review/{request.id}/approve", data={})
    assert count(app, Institution) == 1


def test_city_staff_and_administrators_change_at_once(app, client, make, civil):
    client.post("/institutions/new?kind=eldercare", data=home_form(name="市级直接登记养老院"))
    assert count(app, Institution) == 1 and count(app, ChangeRequest) == 0


def test_review_off_applies_district_changes_at_once(app, client, make, district_civil):
    app.config["REVIEW_CHANGES"] = False
    try:
        client.post("/institutions/new?kind=eldercare", data=home_form(name="无需审核养老院"))
    finally:
        app.config["REVIEW_CHANGES"] = True
    assert count(app, Institution) == 1 and count(app, ChangeRequest) == 0


def test_other_fields_alone_apply_at_once(app, client, make, district_civil):
    home = make.home(MAONAN)
    client.post(f"/institutions/{home}/edit", data=_edit_form(client, home, name="只改名称养老院",
                                                             beds_total="100", beds_nursing=""))
    assert count(app, ChangeRequest) == 0
    with app.app_context():
        assert db.session.get(Institution, home).name == "只改名称养老院"


def test_a_broken_rule_is_refused_at_once_not_sent_for_review(app, client, make, district_civil):
    page = client.post("/institutions/new?kind=eldercare", data=home_form(beds_total="-5")).text
    assert "床位数不能为负数" in page
    assert count(app, ChangeRequest) == 0


def test_a_district_agreement_waits_for_health_and_a_termination_too(app, client, make):
    home, hospital = make.home(MAONAN), make.medical(MAONAN)
    _login(make, client, "health", MAONAN, "wj-maonan")
    with app.app_context():
        home_code = db.session.get(Institution, home).code
        hospital_code = db.session.get(Institution, hospital).code
    response = client.post("/agreements/new", data={
        "eldercare_code": home_code, "medical_code": hospital_code, "signed_on": "2024-12-20",
        "valid_from": "2025-01-01", "valid_to": "2027-12-31", "services": ["双向转诊", "预约就诊绿色通道"]})
    assert response.status_code == 302 and "/review/" in response.location
    assert count(app, Agreement) == 0
    coverage = "agreement_coverage"
    assert _figure(app, coverage, MAONAN) == 0
    request = _request(app)
    _login(make, client, "health", None, "wj-city")
    client.post(f"/review/{request.id}/approve", data={})
    assert _figure(app, coverage, MAONAN) == 1
    with app.app_context():
        agreement = db.session.scalar(select(Agreement))
        agreement_id, version = agreement.id, agreement.version
    AuthActions(client).logout()
    AuthActions(client).login("wj-maonan")
    client.post(f"/agreements/{agreement_id}/terminate", data={"terminated_on": "2026-01-01", "version": version})
    assert _figure(app, coverage, MAONAN) == 1
    termination = _request(app)
    assert termination.action == "terminate"
    page = client.get(f"/agreements/{agreement_id}").text
    assert "待审核" in page and "终止日期：— → 2026-01-01" in page


def test_a_request_outside_ones_region_is_not_found(app, client, make):
    _login(make, client, "civil_affairs", GAOZHOU, "mz-gaozhou")
    client.post("/institutions/new?kind=eldercare", data=home_form(name="高州待审养老院", region_code=GAOZHOU))
    request = _request(app)
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    assert client.get(f"/review/{request.id}").status_code == 404
    assert "高州待审养老院" not in client.get("/review").text
    _login(make, client, "district_official", MAONAN, "ld-maonan")
    assert client.get(f"/review/{request.id}").status_code == 404


def test_the_records_history_shows_the_requests_life(app, client, make, district_civil):
    home = make.home(MAONAN, beds_total=100)
    client.post(f"/institutions/{home}/edit", data=_edit_form(client, home, beds_total="210"))
    request = _request(app)
    _login(make, client, "civil_affairs", None, "mz-city")
    client.post(f"/review/{request.id}/approve", data={})
    page = client.get(f"/institutions/{home}").text
    for step in ("提交审核", "审核通过", f"申请 #{request.id}"):
        assert step in page
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.change_request_id == request.id))
        assert events == 3


def test_a_city_reviewer_cannot_decide_another_departments_request(app, client, make, district_civil):
    client.post("/institutions/new?kind=eldercare", data=home_form(name="部门测试养老院"))
    request = _request(app)
    _login(make, client, "health", None, "wj-city")
    assert client.post(f"/review/{request.id}/approve", data={}).status_code == 404
    _login(make, client, "admin", None, "boss")
    client.post(f"/review/{request.id}/approve", data={})
    assert _request(app).status == "approved"


def test_opened_on_pending_then_approved_for_a_record_opened_later(app, client, make, district_civil):
    home = make.home(MAONAN, opened_on=date(2020, 1, 1))
    client.post(f"/institutions/{home}/edit", data=_edit_form(client, home, opened_on="2019-06-01",
                                                             beds_total="100", beds_nursing=""))
    assert _request(app).values == {"opened_on": "2019-06-01"}


def _upload(client, text: str):
    return client.post("/data/import", data={"file": (io.BytesIO(text.encode("utf-8-sig")), "机构.csv")},
                       content_type="multipart/form-data", follow_redirects=True)


def test_a_district_import_arrives_as_one_request_and_is_written_once_approved(app, client, make, district_civil):
    text = ("机构类别,机构名称,所属区县,成立日期,床位数\n"
            "养老机构,导入甲养老院,茂南区,2021-03-01,80\n"
            "养老机构,导入乙养老院,茂南区,2021-04-01,220\n")
    report = _upload(client, text)
    assert "检查通过" in report.text and "提交市民政局审核" in report.text
    assert "茂南区 养老机构签约率 分子 +0，分母 +2" in report.text
    submitted = confirm_upload(client, report.text)
    assert "已提交市民政局审核" in submitted.text
    assert count(app, Institution) == 0
    request = _request(app)
    assert (request.subject, request.action, request.report["counts"]["institutions"]["create"]) == ("import",
                                                                                                     "import", 2)
    assert count(app, ChangeRequest) == 1  # one request for the whole file

    _login(make, client, "civil_affairs", None, "mz-city")
    page = client.get(f"/review/{request.id}").text
    assert "机构.csv" in page and "校验报告" in page and "下载原文件" in page
    assert client.get(f"/review/{request.id}/file").data.decode("utf-8-sig") == text
    client.post(f"/review/{request.id}/approve", data={})
    assert count(app, Institution) == 2
    with app.app_context():
        assert db.session.get(ChangeRequest, request.id).status == "approved"
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.change_request_id == request.id)
                                     .order_by(AuditEvent.id)).all()
        assert actions == ["request", "import", "import", "import", "approve"]


def test_a_district_import_returned_writes_nothing(app, client, make, district_civil):
    report = _upload(client, "机构类别,机构名称,所属区县,成立日期,床位数\n养老机构,退回养老院,茂南区,2021-03-01,80\n")
    confirm_upload(client, report.text)
    request = _request(app)
    _login(make, client, "civil_affairs", None, "mz-city")
    client.post(f"/review/{request.id}/return", data={"reason": "床位数与备案不符"})
    assert count(app, Institution) == 0 and _request(app).status == "returned"


# Who may do what with a request, role by role (the matrix of issue 12). {civ} is a pending request of 茂南's
# civil-affairs staff (a new home), {hea} one of 茂南's health staff (a new hospital), {imp} a 茂南 file import.
#            method, route,                       admin  civ   health civ@MN health@MN off@MN  civ@GZ
REQUEST_MATRIX = [
    ("GET", "/review/{civ}",                       200,   200,  404,   200,   404,      200,    404),
    ("GET", "/review/{hea}",                       200,   404,  200,   404,   200,      200,    404),
    ("GET", "/review/{imp}/file",                  200,   200,  404,   200,   404,      200,    404),
    ("POST", "/review/{civ}/approve",              302,   302,  404,   403,   404,      403,    404),
    ("POST", "/review/{hea}/approve",              302,   404,  302,   404,   403,      403,    404),
    ("POST", "/review/{civ}/return",               302,   302,  404,   403,   404,      403,    404),
    ("POST", "/review/{civ}/withdraw",             403,   403,  404,   302,   404,      403,    404),
]
MATRIX_USERS = [("admin", None), ("civil_affairs", None), ("health", None), ("civil_affairs", MAONAN),
                ("health", MAONAN), ("district_official", MAONAN), ("civil_affairs", GAOZHOU)]


@pytest.mark.parametrize(("user", "column"), [(u, i) for i, u in enumerate(MATRIX_USERS)],
                         ids=[f"{r}@{g or 'city'}" for r, g in MATRIX_USERS])
@pytest.mark.parametrize("row", REQUEST_MATRIX, ids=[f"{m} {p}" for m, p, *_ in REQUEST_MATRIX])
def test_request_routes_answer_each_role_as_the_matrix_says(app, client, make, row, user, column):
    method, path, *expected = row
    ids = {}
    _login(make, client, "civil_affairs", MAONAN, "submitter-civ")
    client.post("/institutions/new?kind=eldercare", data=home_form(name="矩阵养老院"))
    ids["civ"] = _request(app).id
    report = _upload(client, "机构类别,机构名称,所属区县,成立日期,床位数\n养老机构,矩阵导入养老院,茂南区,2021-03-01,80\n")
    confirm_upload(client, report.text)
    ids["imp"] = _request(app).id
    _login(make, client, "health", MAONAN, "submitter-health")
    client.post("/institutions/new?kind=medical", data=medical_form(name="矩阵医院"))
    ids["hea"] = _request(app).id
    submitters = {("civil_affairs", MAONAN): "submitter-civ", ("health", MAONAN): "submitter-health"}
    if user in submitters:  # the district's own staff: the submitters themselves
        AuthActions(client).logout()
        AuthActions(client).login(submitters[user])
    else:
        _login(make, client, user[0], user[1], "matrix-user")
    url = path.format(**ids)
    answer = client.get(url) if method == "GET" else client.post(url, data={"reason": "矩阵测试"})
    assert answer.status_code == expected[column]

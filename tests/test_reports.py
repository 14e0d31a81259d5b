"""Period reports (docs/review-and-reporting.md): districts submit a snapshot, the city approves or returns it."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from registry.extensions import db
from registry.models import ChangeRequest, Institution, PeriodReport, ReportAmendment, TrainingRecord
from registry.services import compliance
from tests.conftest import AuthActions, confirm_upload
from tests.factories import DIANBAI, GAOZHOU, MAONAN

Q4 = "2022-Q4"


def _login(make, client, role: str, region: str | None, username: str) -> None:
    make.user(role, region, username=username)
    AuthActions(client).logout()
    assert AuthActions(client).login(username).status_code == 302


def _relogin(client, username: str) -> None:
    AuthActions(client).logout()
    assert AuthActions(client).login(username).status_code == 302


def _reports(app, region: str = MAONAN) -> list[PeriodReport]:
    with app.app_context():
        found = list(db.session.scalars(select(PeriodReport).where(PeriodReport.region_code == region)
                                        .order_by(PeriodReport.version)))
        db.session.expunge_all()
        return found


@pytest.fixture()
def register(make):
    """茂南: a home of 250 beds with a 护理院 inside and an agreement; another home without; 电白: one home."""
    home = make.home(MAONAN, name="茂南颐养院", beds_total=250, opened_on=date(2019, 1, 1))
    make.medical(MAONAN, host=home, name="颐养院护理院", medical_type="护理院", opened_on=date(2019, 6, 1))
    hospital = make.medical(MAONAN, name="茂南人民医院", opened_on=date(2000, 1, 1))
    make.agreement(home, hospital, valid_from=date(2021, 1, 1), valid_to=date(2025, 12, 31))
    other = make.home(MAONAN, name="茂南夕阳红养老院", beds_total=80, opened_on=date(2018, 1, 1))
    make.home(DIANBAI, name="电白敬老院", beds_total=60, opened_on=date(2015, 1, 1))
    return {"home": home, "hospital": hospital, "other": other}


def _submit(client, region: str = MAONAN, period: str = Q4):
    return client.post(f"/reports/{period}/{region}/submit", follow_redirects=True)


def _decide(client, action: str, version: int, region: str = MAONAN, reason: str = "", period: str = Q4):
    return client.post(f"/reports/{period}/{region}/{action}", data={"version": str(version), "reason": reason},
                       follow_redirects=True)


def test_a_district_submits_a_snapshot_of_its_figures_on_the_periods_last_day(app, client, make, register):
    _login(make, client, "health", MAONAN, "wj-maonan")
    page = _submit(client)
    assert "已上报2022年第四季度 茂南区 的数据（第 1 版）" in page.text
    (report,) = _reports(app)
    assert (report.version, report.status, report.as_of) == (1, "submitted", date(2022, 12, 31))
    figures = report.snapshot["indicators"]
    assert figures["eldercare_run_medical"]["value"] == 1
    assert (figures["agreement_coverage"]["numerator"], figures["agreement_coverage"]["denominator"]) == (1, 2)
    assert [m[2] for m in figures["agreement_coverage"]["members"]] == ["茂南颐养院"]
    assert [m[2] for m in figures["agreement_coverage"]["missing"]] == ["茂南夕阳红养老院"]
    with app.app_context():
        report_day = compliance.compute(date(2022, 12, 31))
        assert figures["large_home_medical"]["value"] == report_day.figure("large_home_medical", MAONAN).value
    assert any(t["indicator"] == "integrated_with_specialty" for t in report.snapshot["targets"])
    # submitting again while it waits is refused
    assert "不能重复上报" in _submit(client).text
    assert len(_reports(app)) == 1


def test_return_needs_a_reason_and_a_resubmission_is_a_new_version(app, client, make, register):
    _login(make, client, "health", MAONAN, "wj-maonan")
    _submit(client)
    _login(make, client, "health", None, "wj-city")
    assert "请填写退回原因" in _decide(client, "return", 1).text
    assert _reports(app)[0].status == "submitted"
    _decide(client, "return", 1, reason="护理院开业日期有误，请核实")
    _relogin(client, "wj-maonan")
    page = client.get(f"/reports/{Q4}/{MAONAN}").text
    assert "已退回" in page and "护理院开业日期有误，请核实" in page
    _submit(client)
    first, second = _reports(app)
    assert (first.version, first.status, second.version, second.status) == (1, "returned", 2, "submitted")
    _relogin(client, "wj-city")
    _decide(client, "approve", 2)
    assert [r.status for r in _reports(app)] == ["returned", "approved"]
    old = client.get(f"/reports/{Q4}/{MAONAN}?v=1").text
    assert "第 1 版上报数据" in old and "历史版本" in old


def test_a_decision_on_a_version_the_page_did_not_show_is_refused(app, client, make, register):
    _login(make, client, "health", MAONAN, "wj-maonan")
    _submit(client)
    _login(make, client, "health", None, "wj-city")
    assert "已有新的版本" in _decide(client, "approve", 7).text
    assert _reports(app)[0].status == "submitted"


def test_snapshots_never_change(app, client, make, register):
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    _submit(client)
    (report,) = _reports(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="never change"):
            db.session.execute(update(PeriodReport).where(PeriodReport.id == report.id)
                               .values(snapshot={"indicators": {}}))
        db.session.rollback()
        with pytest.raises(DBAPIError, match="never change"):
            db.session.execute(text("UPDATE period_reports SET as_of = :day"), {"day": date(2022, 6, 30)})
        db.session.rollback()
        stored = db.session.get(PeriodReport, report.id)
        assert stored.snapshot == report.snapshot and stored.as_of == date(2022, 12, 31)
    # the register changes; the stored figures do not
    make.home(MAONAN, name="新开养老院", opened_on=date(2022, 3, 1))
    assert _reports(app)[0].snapshot == report.snapshot


def test_the_city_view_counts_approved_regions_and_sums_their_snapshots(app, client, make, register):
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    _submit(client)
    _login(make, client, "civil_affairs", DIANBAI, "mz-dianbai")
    _submit(client, DIANBAI)
    _login(make, client, "health", None, "wj-city")
    _decide(client, "approve", 1)
    page = client.get(f"/reports/{Q4}").text
    assert "1 / 7 个区县已审核" in page
    _decide(client, "approve", 1, region=DIANBAI)
    page = client.get(f"/reports/{Q4}").text
    assert "2 / 7 个区县已审核" in page and "未上报" in page
    approved = [r.snapshot["indicators"]["agreement_coverage"] for r in _reports(app) + _reports(app, DIANBAI)]
    numerator = sum(e["numerator"] for e in approved)
    denominator = sum(e["denominator"] for e in approved)
    assert (numerator, denominator) == (1, 3)
    assert f"（{numerator}/{denominator}）" in page


def test_late_reports_are_marked(app, client, make, register):
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    _submit(client)  # 2022-Q4 was due on 2023-01-15
    _login(make, client, "health", None, "wj-city")
    page = client.get(f"/reports/{Q4}").text
    assert page.count("逾期") >= 7  # 茂南 submitted late, the six others have not submitted at all
    app.config["REPORT_DEADLINE_DAYS"] = 100_000
    try:
        assert "逾期</span>" not in client.get(f"/reports/{Q4}").text
    finally:
        app.config["REPORT_DEADLINE_DAYS"] = 15


def test_a_period_not_yet_ended_cannot_be_submitted(app, client, make):
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    page = _submit(client, period="2099-Q1")
    assert "尚未结束" in page.text or page.status_code == 200
    assert _reports(app) == []


def _approved_q4(make, client):
    _login(make, client, "health", MAONAN, "wj-maonan")
    _submit(client)
    _login(make, client, "health", None, "wj-city")
    _decide(client, "approve", 1)


def _city_edits_other_home(make, client, other: int, **changes) -> dict:
    """With 2022-Q4 of 茂南 approved, the city's civil-affairs staff fill 茂南夕阳红养老院's edit form."""
    _approved_q4(make, client)
    _login(make, client, "civil_affairs", None, "mz-city")
    edit = client.get(f"/institutions/{other}/edit").text
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit).group(1)
    return {"name": "茂南夕阳红养老院", "region_code": MAONAN, "opened_on": "2018-01-01", "beds_total": "80",
            "version": version} | changes


def test_a_back_dated_change_after_approval_warns_then_shows_on_the_report(app, client, make, register):
    other = register["other"]
    form = _city_edits_other_home(make, client, other, opened_on="2023-02-01")
    warned = client.post(f"/institutions/{other}/edit", data=form)
    assert warned.status_code == 200
    assert "将改变已审核的 2022年第四季度 茂南区 数据" in warned.text
    with app.app_context():
        assert db.session.get(Institution, other).opened_on == date(2018, 1, 1)  # not saved
    saved = client.post(f"/institutions/{other}/edit", data=form | {"confirm_backdated": "1"})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(Institution, other).opened_on == date(2023, 2, 1)
        assert db.session.scalar(select(ReportAmendment.event_id)) is not None
    page = client.get(f"/reports/{Q4}/{MAONAN}").text
    assert "审核后有变动" in page and "缺口减少：茂南夕阳红养老院" in page and "审核后的变更" in page


def test_a_change_that_leaves_approved_figures_alone_saves_without_a_warning(app, client, make, register):
    other = register["other"]
    form = _city_edits_other_home(make, client, other, beds_total="90")
    assert client.post(f"/institutions/{other}/edit", data=form).status_code == 302
    assert "审核后有变动" not in client.get(f"/reports/{Q4}/{MAONAN}").text


def test_an_approved_report_exports_as_the_upward_workbook(app, client, make, register):
    _approved_q4(make, client)
    response = client.get(f"/reports/{Q4}/{MAONAN}/report.xlsx")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value == "茂名市医养结合工作指标上报表" and "A1:I1" in sheet.merged_cells
    assert sheet["A2"].value == "填报单位：茂南区"
    assert "2022年第四季度" in sheet["F2"].value
    header = [c.value for c in sheet[4]]
    assert header[:6] == ["序号", "指标", "条款", "分子", "分母", "数值"]
    rows = {sheet.cell(r, 2).value: [sheet.cell(r, c).value for c in range(1, 10)] for r in range(5, 12)}
    assert rows["养老机构签约率"][3:6] == [1, 2, 0.5]
    assert rows["养老机构设立的医疗机构"][0] == 1
    footer = [c.value for c in sheet[13] if c.value]
    assert footer[0] == "填表人：wj-maonan" and footer[1] == "审核人：wj-city"
    assert int(sheet.page_setup.paperSize) == 9 and sheet.print_title_rows == "$4:$4"  # A4, the header on every page
    names = workbook.sheetnames
    assert any("签约率-计入" in n for n in names) and any("签约率-缺口" in n for n in names)
    members = workbook[next(n for n in names if "签约率-缺口" in n)]
    assert members["C3"].value == "茂南夕阳红养老院"
    assert client.get(f"/reports/{Q4}/{MAONAN}/print").status_code == 200


def test_only_approved_reports_export(app, client, make, register):
    _login(make, client, "health", MAONAN, "wj-maonan")
    _submit(client)
    assert client.get(f"/reports/{Q4}/{MAONAN}/report.xlsx").status_code == 404
    assert client.get(f"/reports/{Q4}/{MAONAN}/print").status_code == 404


def test_an_exported_name_that_looks_like_a_formula_is_text(app, client, make):
    make.home(MAONAN, name="=HYPERLINK(\"x\")养老院", opened_on=date(2019, 1, 1))
    _approved_q4(make, client)
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/{Q4}/{MAONAN}/report.xlsx").data))
    members = workbook[next(n for n in workbook.sheetnames if "签约率-缺口" in n)]
    assert members["C3"].value.startswith("'=")


# Who may do what, region by region (the matrix of issue 12).
#            route,                                      admin  civ   health civ@MN health@MN off@MN  off@GZ
MATRIX = [
    ("GET", "/reports",                                  200,   200,  200,   200,   200,      200,    200),
    ("GET", f"/reports/{Q4}",                            200,   200,  200,   302,   302,      302,    302),
    ("GET", f"/reports/{Q4}/{MAONAN}",                   200,   200,  200,   200,   200,      200,    404),
    ("GET", f"/reports/{Q4}/{GAOZHOU}",                  200,   200,  200,   404,   404,      404,    200),
    ("POST", f"/reports/{Q4}/{MAONAN}/submit",           403,   403,  403,   302,   302,      403,    404),
    ("POST", f"/reports/{Q4}/{MAONAN}/approve",          302,   403,  302,   403,   403,      403,    404),
    ("POST", f"/reports/{Q4}/{MAONAN}/return",           302,   403,  302,   403,   403,      403,    404),
    ("GET", "/review",                                   200,   200,  200,   200,   200,      200,    200),
    ("GET", "/review/mine",                              200,   200,  200,   200,   200,      200,    200),
    ("GET", "/notifications",                            200,   200,  200,   200,   200,      200,    200),
]
USERS = [("admin", None), ("civil_affairs", None), ("health", None), ("civil_affairs", MAONAN),
         ("health", MAONAN), ("district_official", MAONAN), ("district_official", GAOZHOU)]


@pytest.mark.parametrize(("user", "column"), [(u, i) for i, u in enumerate(USERS)],
                         ids=[f"{r}@{g or 'city'}" for r, g in USERS])
@pytest.mark.parametrize("row", MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_report_routes_answer_each_role_as_the_matrix_says(app, client, make, row, user, column):
    method, path, *expected = row
    _login(make, client, user[0], user[1], "matrix-user")
    answer = client.get(path) if method == "GET" else client.post(path, data={"version": "1", "reason": "x"})
    assert answer.status_code == expected[column]


def test_training_that_changes_an_approved_year_is_confirmed_first_even_to_delete(app, client, make, register):
    _approved_q4(make, client)  # as weijian-city
    form = {"held_on": "2022-05-01", "organiser": "茂南区卫健局", "region_code": MAONAN,
            "medical_nursing": "30", "caregivers": "20"}
    warned = client.post("/training/new", data=form)
    assert "将改变已审核的 2022年第四季度 茂南区 数据" in warned.text
    with app.app_context():
        assert db.session.scalar(select(TrainingRecord.id)) is None
    assert client.post("/training/new", data=form | {"confirm_backdated": "1"}).status_code == 302
    with app.app_context():
        record = db.session.scalar(select(TrainingRecord.id))
    asked = client.post(f"/training/{record}/delete", follow_redirects=True)
    assert "删除将改变已审核的上报数据" in asked.text and 'name="confirm_backdated"' in asked.text
    with app.app_context():
        assert db.session.get(TrainingRecord, record) is not None
    client.post(f"/training/{record}/delete", data={"confirm_backdated": "1"})
    with app.app_context():
        assert db.session.get(TrainingRecord, record) is None


def test_an_approved_report_exports_for_its_region_only(app, client, make, register):
    _approved_q4(make, client)
    for role, region, answer in (("district_official", MAONAN, 200), ("district_official", GAOZHOU, 404),
                                 ("civil_affairs", None, 200), ("health", GAOZHOU, 404)):
        _login(make, client, role, region, f"export-{role}-{region}")
        assert client.get(f"/reports/{Q4}/{MAONAN}/report.xlsx").status_code == answer, (role, region)
        assert client.get(f"/reports/{Q4}/{MAONAN}/print").status_code == answer, (role, region)


def test_an_import_that_changes_an_approved_report_is_confirmed_first(app, client, make, register):
    _approved_q4(make, client)
    _login(make, client, "civil_affairs", None, "mz-city")
    text = "机构类别,机构名称,所属区县,成立日期,床位数\n养老机构,补录的老养老院,茂南区,2020-03-01,50\n"
    report = client.post("/data/import", data={"file": (io.BytesIO(text.encode("utf-8-sig")), "补录.csv")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "此文件将改变已审核的上报数据" in report.text and "2022年第四季度 茂南区" in report.text
    refused = confirm_upload(client, report.text)
    assert "请勾选确认后再导入" in refused.text
    with app.app_context():
        assert db.session.scalar(select(Institution.id).where(Institution.name == "补录的老养老院")) is None
    token = re.search(r'/data/import/([^/"]+)/confirm', report.text).group(1)
    job = re.search(r'name="job" value="([^"]+)"', report.text).group(1)
    client.post(f"/data/import/{token}/confirm", data={"job": job, "confirm_backdated": "1"})
    with app.app_context():
        assert db.session.scalar(select(Institution.id).where(Institution.name == "补录的老养老院")) is not None
        assert db.session.scalar(select(ReportAmendment.event_id)) is not None
    assert "审核后有变动" in client.get(f"/reports/{Q4}/{MAONAN}").text


def test_approving_a_request_that_changes_an_approved_report_needs_the_box_ticked(app, client, make, register):
    _approved_q4(make, client)
    _login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    other = register["other"]
    edit = client.get(f"/institutions/{other}/edit").text
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit).group(1)
    client.post(f"/institutions/{other}/edit", data={"name": "茂南夕阳红养老院", "region_code": MAONAN,
                                                     "opened_on": "2023-02-01", "beds_total": "80", "version": version})
    with app.app_context():
        request_id = db.session.scalar(select(ChangeRequest.id))
    _login(make, client, "civil_affairs", None, "mz-city")
    page = client.get(f"/review/{request_id}").text
    assert "通过后将改变已审核的上报数据" in page and "2022年第四季度 茂南区" in page and "confirm_backdated" in page
    refused = client.post(f"/review/{request_id}/approve", data={}, follow_redirects=True)
    assert "请勾选确认后再通过" in refused.text
    with app.app_context():
        assert db.session.get(Institution, other).opened_on == date(2018, 1, 1)
    client.post(f"/review/{request_id}/approve", data={"confirm_backdated": "y"})
    with app.app_context():
        assert db.session.get(Institution, other).opened_on == date(2023, 2, 1)
        assert db.session.scalar(select(ReportAmendment.event_id)) is not None


def test_the_decision_forms_carry_the_version_they_were_shown(app, client, make, register):
    _login(make, client, "health", MAONAN, "wj-maonan")
    _submit(client)
    _login(make, client, "health", None, "wj-city")
    page = client.get(f"/reports/{Q4}/{MAONAN}").text
    for action in ("approve", "return"):
        form = re.search(rf'action="/reports/{Q4}/{MAONAN}/{action}".*?</form>', page, re.S).group(0)
        assert re.findall(r'name="version"[^>]*value="([^"]*)"', form) == ["1"], action

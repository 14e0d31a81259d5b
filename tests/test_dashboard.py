"""The compliance pages, export, CLI and API: what officials and staff see."""

from __future__ import annotations

import json
import re
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEvent, Target
from tests.conftest import table_rows
from tests.factories import GAOZHOU, MAONAN


@pytest.fixture()
def register(make):
    """茂南: a 260-bed home with a 医务室 and a referral agreement; 高州: a home with none."""
    home = make.home(name="茂南大养老院", beds_total=260)
    make.medical(host=home, medical_type="医务室", name="茂南大养老院医务室")
    make.agreement(home, make.medical(name="茂南医院"))
    make.home(name="高州小养老院", region=GAOZHOU)
    return home


def test_the_dashboard_shows_every_region_against_the_targets(client, register, health):
    page = client.get("/compliance?as_of=2022-12-31").text
    assert "医养结合指标完成情况" in page
    for name in ("全市", "茂南区", "高州市", "茂名滨海新区"):
        assert name in page
    assert "≥ 10" in page and "逾期未达标" in page and "差 9" in page
    assert "50.0%" in page and "（1/2）" in page  # referral coverage for the city
    assert 'id="compliance-data"' in page and "maoming-districts.geojson" in page


def chart_data(page: str) -> dict:
    """What the dashboard's charts draw."""
    return json.loads(page.split('id="compliance-data">')[1].split("</script>")[0])


@pytest.mark.parametrize(("as_of", "years"), [("2022-12-31", [2019, 2020, 2021, 2022]),
                                              ("2024-06-30", [2019, 2020, 2021, 2022, 2023, 2024]),
                                              ("2017-03-01", [2017])])
def test_the_charts_end_at_the_year_asked_about(client, register, health, as_of, years):
    assert chart_data(client.get(f"/compliance?as_of={as_of}").text)["years"] == years


def test_the_charts_last_point_is_the_days_figure_not_its_years_end(client, make, health):
    make.training(held_on=date(2024, 3, 1), medical_nursing=10, caregivers=10)
    make.training(held_on=date(2024, 9, 1), medical_nursing=100, caregivers=100)  # after the day asked about
    page = client.get("/compliance?as_of=2024-06-30").text
    assert chart_data(page)["indicators"]["trained_in_year"]["series"][-1] == 20
    assert "全市目标进度（各年年末；2024年截至 2024-06-30）" in page


def test_a_malformed_day_falls_back_to_today(client, health):
    response = client.get("/compliance?as_of=2022-13-45")
    assert response.status_code == 200
    assert "日期格式应为 YYYY-MM-DD" in response.text


def test_drill_down_lists_the_homes_behind_a_shortfall(client, register, health):
    page = client.get("/compliance/referral_coverage/city?as_of=2022-12-31&missing=1").text
    assert "高州小养老院" in page and "茂南大养老院" not in page
    counted = client.get("/compliance/referral_coverage/city?as_of=2022-12-31").text
    assert "茂南大养老院" in counted and "高州小养老院" not in counted


def test_an_official_sees_their_district_and_city_numbers_only(client, register, official):
    page = client.get("/compliance?as_of=2022-12-31").text
    assert "茂南区" in page and "全市" in page
    assert ">高州市<" not in page
    assert "/compliance/referral_coverage/440902" in page
    assert "/compliance/referral_coverage/city" not in page
    data = json.loads(page.split('id="compliance-data">')[1].split("</script>")[0])
    assert set(data["indicators"]["referral_coverage"]["regions"]) == {MAONAN}


@pytest.mark.parametrize("path", [
    "/compliance/referral_coverage/city", f"/compliance/referral_coverage/{GAOZHOU}",
    "/compliance/nonsense/440902", "/compliance/referral_coverage/999999",
    f"/compliance/todo?region={GAOZHOU}",
])
def test_an_official_cannot_drill_outside_their_district(client, official, path):
    assert client.get(path).status_code == 404


def table(workbook) -> dict[tuple[str, str], dict[str, object]]:
    """The workbook's first sheet as (indicator, 项目) → {全市 or region: cell}; a name spans its block of rows."""
    header, *rows = workbook["指标"].iter_rows(min_row=2, values_only=True)
    found, indicator = {}, None
    for row in rows:
        indicator = row[0] or indicator
        if row[2] is not None:  # not the note below the table
            found[(indicator, row[2])] = dict(zip(header[3:], row[3:], strict=True))
    return found


REFERRAL = "建立双向转诊和预约就诊绿色通道的养老机构占比"


def test_the_workbook_opens_and_matches_the_page(client, register, health):
    response = client.get("/compliance/export.xlsx?as_of=2022-12-31")
    assert response.status_code == 200
    workbook = load_workbook(BytesIO(response.data))
    assert workbook.sheetnames[0] == "指标"
    figures = table(workbook)
    assert [figures[(REFERRAL, line)]["全市"] for line in ("数值", "分子", "分母")] == [0.5, 1, 2]
    assert figures[(REFERRAL, "数值")]["高州市"] == 0  # 高州's home has no agreement
    assert figures[(REFERRAL, "目标（2021-12-31）")]["全市"] == "≥ 100%"
    assert figures[(REFERRAL, "差距")]["全市"] == 0.5
    assert figures[(REFERRAL, "完成情况")]["全市"] == "逾期未达标"
    assert figures[("养老机构设立的医疗机构", "数值")]["茂南区"] == 1
    missing = [r[1] for r in workbook["双向转诊-缺口"].iter_rows(min_row=3, values_only=True)]
    assert missing == ["高州小养老院"]
    counted = [r[1] for r in workbook["养老设医疗-计入"].iter_rows(min_row=3, values_only=True)]
    assert counted == ["茂南大养老院医务室"]


def test_an_officials_workbook_holds_only_their_district(client, register, official):
    workbook = load_workbook(BytesIO(client.get("/compliance/export.xlsx?as_of=2022-12-31").data))
    assert [c.value for c in workbook["指标"][2]] == ["指标", "条款", "项目", "全市", "茂南区"]
    names = [r[1] for r in workbook["签约率-缺口"].iter_rows(min_row=3, values_only=True)]
    assert "高州小养老院" not in names


def test_the_cli_and_the_api_agree(app, client, runner, register, health):
    cli = runner.invoke(args=["registry", "compliance", "--as-of", "2022-12-31", "--json"])
    assert cli.exit_code == 0, cli.output
    api = client.get("/api/v1/compliance?as_of=2022-12-31")
    assert api.status_code == 200
    assert json.loads(cli.output) == api.get_json()


def test_the_cli_prints_a_readable_table(runner, register):
    result = runner.invoke(args=["registry", "compliance", "--as-of", "2022-12-31"])
    assert result.exit_code == 0
    assert "茂南区" in result.output and "referral_coverage" in result.output and "OVERDUE" in result.output


def test_the_cli_refuses_a_malformed_day(runner):
    result = runner.invoke(args=["registry", "compliance", "--as-of", "31/12/2022"])
    assert result.exit_code == 2


def test_the_api_needs_a_login_or_a_token(client):
    response = client.get("/api/v1/compliance")
    assert response.status_code == 401
    assert "需要登录" in response.get_json()["error"]


def test_an_api_token_acts_as_its_user_and_can_be_revoked(app, client, make, auth, register):
    make.user("admin", username="boss")
    official_id = make.user("district_official", MAONAN, username="lingdao")
    auth.login("boss")
    page = client.post("/admin/tokens", data={"user_id": official_id, "name": "区县大屏"}).text
    token = page.split('id="issued-token">')[1].split("<")[0]
    auth.logout()
    headers = {"Authorization": f"Bearer {token}"}
    data = app.test_client().get("/api/v1/compliance?as_of=2022-12-31", headers=headers).get_json()
    assert set(data["indicators"]["referral_coverage"]["regions"]) == {MAONAN}
    assert all(t["scope"] in ("city", MAONAN) for t in data["targets"])
    assert app.test_client().get("/homes", headers=headers).status_code == 302  # tokens open the API only
    auth.login("boss")
    with app.app_context():
        from registry.models import ApiToken

        token_id = db.session.scalar(select(ApiToken.id))
        assert "区县大屏" in client.get("/admin/tokens").text
    client.post(f"/admin/tokens/{token_id}/revoke")
    assert app.test_client().get("/api/v1/compliance", headers=headers).status_code == 401
    assert app.test_client().get("/api/v1/compliance", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_an_administrator_edits_a_target_and_adds_an_allocation(app, client, admin, register):
    with app.app_context():
        target = db.session.scalars(select(Target).where(
            Target.indicator == "referral_coverage", Target.scope == "city")).one()
        target_id = target.id
    form = {"indicator": "referral_coverage", "scope": "city", "deadline": "2021-12-31", "comparator": ">=",
            "value": "40", "clause": "二(五)", "note": ""}
    assert client.post(f"/admin/targets/{target_id}/edit", data=form).status_code == 302
    allocation = {"indicator": "eldercare_run_medical", "scope": MAONAN, "deadline": "2022-12-31",
                  "comparator": ">=", "value": "3", "clause": "一(一)", "note": "市目标分解"}
    assert client.post("/admin/target-sets/maoming-2020-63/targets/new", data=allocation).status_code == 302
    duplicate = client.post("/admin/target-sets/maoming-2020-63/targets/new", data=allocation)
    assert "该指标在此范围和期限已有目标" in duplicate.text
    too_big = client.post(f"/admin/targets/{target_id}/edit", data=form | {"value": "150"})
    assert "占比目标应在 0% 到 100% 之间" in too_big.text
    page = client.get("/compliance?as_of=2022-12-31").text
    assert "≥ 40.0%" in page and "≥ 3" in page
    with app.app_context():
        assert float(db.session.get(Target, target_id).value) == 0.4
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity == "targets", AuditEvent.user_id.is_not(None))).all()
        assert sorted(actions) == ["create", "update"]
    log = client.get("/admin/audit").text
    assert "双向转诊 · 全市 · 2021-12-31" in log and "养老设医疗 · 茂南区 · 2022-12-31" in log
    client.get("/lang/en")
    log = client.get("/admin/audit").text  # named in the reader's language, whoever made the change
    assert "Two-way referral · City · 2021-12-31" in log and "Home-run medical · Maonan" in log


def test_todo_lists_each_kind_of_warning(app, client, make, health):
    today = date.today()
    big = make.home(name="无医务室的大养老院", beds_total=300, lat=21.66, lon=110.92)
    small = make.home(name="小养老院")
    make.medical(host=small, medical_type="医务室", name="未申请医保的医务室", opened_on=date(2020, 1, 1))
    make.medical(host=big, medical_type="诊所", name="申请超时的诊所", opened_on=date(2020, 1, 1),
                 insurance_applied_on=date(2020, 6, 1))
    near = make.medical(name="近处医院", lat=21.66, lon=110.92)
    far = make.medical(name="远处医院", lat=22.35, lon=110.94)
    home = make.home(name="签约养老院", lat=21.661, lon=110.921)
    make.agreement(home, near, valid_from=date(2020, 1, 1), valid_to=date.fromordinal(today.toordinal() + 30),
                   services=("健康管理",))
    make.agreement(small, far, valid_from=date(2020, 1, 1), valid_to=date(2023, 12, 31))
    make.agreement(big, far, valid_from=date(2020, 1, 1), valid_to=date.fromordinal(today.toordinal() + 400))
    rows = table_rows(client.get("/compliance/todo").text)
    for warning, record in (("200床及以上养老机构未内设合格医疗机构", "无医务室的大养老院"),
                            ("内设医疗机构运营满3个月，可申请医保定点", "未申请医保的医务室"),
                            ("医保定点申请已超过3个月未获评定", "申请超时的诊所"),
                            ("签约协议将在60天内到期", "签约养老院 — 近处医院"),
                            ("签约协议已到期且无续签", "小养老院 — 远处医院"),
                            ("签约双方距离超出周边范围", "无医务室的大养老院 — 远处医院")):
        assert any(warning in row[2] and record in row[4] for row in rows), (warning, record)


def test_an_expired_agreement_with_a_successor_is_not_listed(client, make, health):
    home, hospital = make.home(), make.medical()
    make.agreement(home, hospital, valid_from=date(2020, 1, 1), valid_to=date(2023, 12, 31))
    make.agreement(home, hospital, valid_from=date(2024, 1, 1), valid_to=date(2040, 12, 31))
    page = client.get("/compliance/todo").text
    assert table_rows(page) == [] and "没有待办事项。" in page


def test_training_records_are_validated_and_counted(app, client, civil):
    form = {"held_on": "2022-05-01", "organiser": "市民政局", "region_code": MAONAN,
            "medical_nursing": "0", "caregivers": "0", "note": ""}
    assert "培训人数合计不能为 0" in client.post("/training/new", data=form).text
    assert "人数不能为负数" in client.post("/training/new", data=form | {"caregivers": "-5"}).text
    assert client.post("/training/new", data=form | {"caregivers": "120"}).status_code == 302
    assert "市民政局" in client.get("/training").text
    page = client.get("/compliance?as_of=2022-12-31").text
    assert '>120</a>' in page


TRAINING = "当年培训医疗护理人员和养老护理员人数"


def _training_city_cell(page: str) -> str:
    """The training row's city cell on the dashboard."""
    row = page[page.index(f"<th scope=\"row\">{TRAINING}"):]
    return row[row.index("<td>"):row.index("</td>")]


def target_lines(cell: str) -> list[str]:
    """A dashboard cell's target lines, as read."""
    return [" ".join(re.sub(r"<[^>]+>", " ", line).split())
            for line in re.findall(r'<div class="target[^"]*">(.*?)</div>', cell, re.S)]


def test_the_training_row_states_each_years_count_next_to_that_years_gap(client, make, health):
    make.training(held_on=date(2022, 5, 1), medical_nursing=200, caregivers=100)  # 300 trained in 2022
    make.training(held_on=date(2026, 3, 1), medical_nursing=30, caregivers=20)  # 50 in 2026
    in_2026 = _training_city_cell(client.get("/compliance?as_of=2026-06-30").text)
    # 63号 sets 1000 a year for 2021 and 2022: each is judged on its own year's count, which the line states.
    assert ">50<" in in_2026
    assert target_lines(in_2026) == ["2021年实际 0 目标 ≥ 1000 （2021-12-31） 逾期未达标 差 1000",
                                     "2022年实际 300 目标 ≥ 1000 （2022-12-31） 逾期未达标 差 700"]
    in_2022 = _training_city_cell(client.get("/compliance?as_of=2022-12-31").text)
    assert ">300<" in in_2022  # 2022's own count is the cell's figure, its gap beside it
    assert target_lines(in_2022) == ["2021年实际 0 目标 ≥ 1000 （2021-12-31） 逾期未达标 差 1000",
                                     "目标 ≥ 1000 （2022-12-31） 逾期未达标 差 700"]
    in_2021 = _training_city_cell(client.get("/compliance?as_of=2021-06-30").text)
    assert target_lines(in_2021) == ["目标 ≥ 1000 （2021-12-31） 未达标 差 1000"]  # 2022's year has not begun
    drill = client.get("/compliance/trained_in_year/city?as_of=2026-06-30").text
    assert "差" not in drill
    workbook = load_workbook(BytesIO(client.get("/compliance/export.xlsx?as_of=2026-06-30").data))
    assert [line for indicator, line in table(workbook) if indicator == TRAINING] == ["数值"]  # no target
    assert table(workbook)[(TRAINING, "数值")]["全市"] == 50
    targets = client.get("/api/v1/compliance?as_of=2026-06-30").get_json()["targets"]
    by_year = {t["deadline"][:4]: (t["actual"], t["met"]) for t in targets if t["indicator"] == "trained_in_year"
               and t["scope"] == "city"}
    assert by_year == {"2021": (0, False), "2022": (300, False)}  # each year's own count, as before


def test_an_unknown_comparator_is_refused_on_the_target_form(app, client, admin, make):
    target_id = make.target_id("eldercare_run_medical")
    form = {"indicator": "eldercare_run_medical", "scope": "city", "deadline": "2022-12-31", "comparator": "=>",
            "value": "12", "clause": "一(一)", "note": ""}
    edited = client.post(f"/admin/targets/{target_id}/edit", data=form)
    assert edited.status_code == 200 and "比较方式“=&gt;”无效" in edited.text
    added = client.post("/admin/target-sets/maoming-2020-63/targets/new", data=form | {"scope": MAONAN})
    assert added.status_code == 200 and "比较方式“=&gt;”无效" in added.text
    with app.app_context():
        target = db.session.get(Target, target_id)
        assert (target.comparator, float(target.value)) == (">=", 10)
        assert db.session.scalars(select(Target).where(Target.scope == MAONAN,
                                                       Target.indicator == "eldercare_run_medical")).all() == []

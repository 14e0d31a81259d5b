"""An import row has the rights a form edit of the same record has (docs/permissions.md), checked before any rule."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from registry.extensions import db
from registry.models import Agreement, Institution, User
from registry.services import imports
from registry.services.formats import exchange
from tests.factories import GAOZHOU, MAONAN

OUT_OF_SCOPE = "不在您的管辖范围内"
AGREEMENTS = "协议编号,养老机构编码,医疗机构编码,生效日期,到期日期,服务内容,费用约定\n"
HOMES = "机构编码,机构类别,机构名称,所属区县,成立日期,床位数,护理型床位数,统一社会信用代码,设立单位机构编码\n"


def plan_as(app, username: str | None, name: str, text: str) -> imports.Plan:
    """Plan a CSV as a user (None: the system), as the import page does; nothing is written."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username)) if username else None
        plan = imports.plan(exchange.read_upload(text.encode("utf-8-sig"), name), user)
        db.session.rollback()
        return plan


def messages(plan: imports.Plan) -> list[str]:
    return [str(e) for e in plan.errors]


def code_of(app, model, record_id: int) -> str:
    with app.app_context():
        return db.session.get(model, record_id).code


def test_an_agreement_of_another_district_cannot_be_taken_over_by_import(app, make):
    make.user("health", GAOZHOU, username="weijian-gaozhou")
    maonan = make.agreement(make.home(MAONAN), make.medical(MAONAN), fees="茂南原约定")
    gaozhou_home, gaozhou_hospital = make.home(GAOZHOU), make.medical(GAOZHOU)
    row = (f"{code_of(app, Agreement, maonan)},{code_of(app, Institution, gaozhou_home)},"
           f"{code_of(app, Institution, gaozhou_hospital)},2022-01-01,2024-12-31,双向转诊,高州改写\n")
    plan = plan_as(app, "weijian-gaozhou", "agreements.csv", AGREEMENTS + row)
    assert messages(plan) == [f"agreements.csv 第 2 行：{OUT_OF_SCOPE}"]
    with app.app_context():
        agreement = db.session.get(Agreement, maonan)
        assert agreement.fees == "茂南原约定" and agreement.eldercare.region_code == MAONAN


def test_a_party_outside_the_importers_scope_is_refused_as_the_form_refuses_it(app, make):
    make.user("health", GAOZHOU, username="weijian-gaozhou")
    home, maonan_hospital = make.home(GAOZHOU), make.medical(MAONAN)
    row = (f",{code_of(app, Institution, home)},{code_of(app, Institution, maonan_hospital)},"
           "2022-01-01,2024-12-31,双向转诊,\n")
    plan = plan_as(app, "weijian-gaozhou", "agreements.csv", AGREEMENTS + row)
    assert messages(plan) == [f"agreements.csv 第 2 行 医疗机构编码：{OUT_OF_SCOPE}"]


def test_an_out_of_scope_home_is_one_error_that_reveals_none_of_its_values(app, make):
    make.user("civil_affairs", MAONAN, username="minzheng-maonan")
    gaozhou = make.home(GAOZHOU, name="高州某养老院", beds_total=150)
    # Nursing beds above the stored 150 would break a rule: the error must not say so.
    row = f"{code_of(app, Institution, gaozhou)},养老机构,,,,,999,,\n"
    plan = plan_as(app, "minzheng-maonan", "institutions.csv", HOMES + row)
    assert messages(plan) == [f"institutions.csv 第 2 行：{OUT_OF_SCOPE}"]


def test_a_credit_code_naming_an_out_of_scope_home_is_out_of_scope(app, make):
    make.user("civil_affairs", MAONAN, username="minzheng-maonan")
    make.home(GAOZHOU, uscc="91110000600037341L")
    row = ",养老机构,改名的养老院,茂南区,2020-01-01,10,,91110000600037341L,\n"
    plan = plan_as(app, "minzheng-maonan", "institutions.csv", HOMES + row)
    assert messages(plan) == [f"institutions.csv 第 2 行：{OUT_OF_SCOPE}"]


def test_a_host_outside_the_importers_scope_is_refused(app, make):
    make.user("health", MAONAN, username="weijian-maonan")
    gaozhou_home = make.home(GAOZHOU)
    text = ("机构类别,机构名称,所属区县,成立日期,医疗机构类型,设立单位机构编码\n"
            f"医疗卫生机构,挂靠的医务室,茂南区,2021-01-01,医务室,{code_of(app, Institution, gaozhou_home)}\n")
    plan = plan_as(app, "weijian-maonan", "institutions.csv", text)
    assert messages(plan) == [f"institutions.csv 第 2 行 设立单位机构编码：{OUT_OF_SCOPE}"]


def test_a_cell_that_cannot_be_read_is_reported_once_not_also_as_missing(app):
    row = ",养老机构,日期写错的养老院,茂南区,2020年1月,10,,,\n"
    plan = plan_as(app, None, "institutions.csv", HOMES + row)
    assert messages(plan) == ["institutions.csv 第 2 行 成立日期：日期应为 YYYY-MM-DD 格式，而不是“2020年1月”"]


def test_every_bad_cell_and_rule_of_a_row_is_reported_together(app):
    row = ",养老机构,,茂南区,2020-13-01,-5,,91110000600037341M,\n"
    found = messages(plan_as(app, None, "institutions.csv", HOMES + row))
    assert "institutions.csv 第 2 行 成立日期：日期应为 YYYY-MM-DD 格式，而不是“2020-13-01”" in found
    assert "institutions.csv 第 2 行 机构名称：请填写机构名称" in found
    assert "institutions.csv 第 2 行 床位数：床位数不能为负数" in found
    assert "institutions.csv 第 2 行 统一社会信用代码：统一社会信用代码校验位错误，请核对" in found
    assert not any("请填写成立日期" in line for line in found)


def test_control_characters_are_refused_in_codes_and_names(app, make):
    hospital, home = make.medical(), make.home()
    text = HOMES + '"YL-1\r\nX",养老机构,甲,茂南区,2020-01-01,10,,,\n,养老机构,"带\t制表符的名称",茂南区,2020-01-01,10,,,\n'
    found = messages(plan_as(app, None, "institutions.csv", text))
    assert "institutions.csv 第 2 行 机构编码：编码不能包含换行符、制表符等控制字符" in found
    assert "institutions.csv 第 3 行 机构名称：机构名称不能包含换行符、制表符等控制字符" in found
    row = (f'"XY\n1",{code_of(app, Institution, home)},{code_of(app, Institution, hospital)},'
           "2022-01-01,2024-12-31,双向转诊,\n")
    assert messages(plan_as(app, None, "agreements.csv", AGREEMENTS + row)) == [
        "agreements.csv 第 2 行 协议编号：编码不能包含换行符、制表符等控制字符"]


def test_a_name_with_a_line_break_is_refused_on_the_form(app, client, civil):
    response = client.post("/institutions/new?kind=eldercare", data={
        "name": "换行\n养老院", "region_code": MAONAN, "opened_on": "2020-01-01", "beds_total": "10"})
    assert response.status_code == 200
    assert "机构名称不能包含换行符、制表符等控制字符" in response.text
    with app.app_context():
        assert db.session.scalar(select(Institution.id)) is None


def test_the_form_shows_every_fields_error_in_one_pass(app, client, civil):
    response = client.post("/institutions/new?kind=eldercare", data={
        "name": "", "region_code": MAONAN, "opened_on": "2020-01-01", "beds_total": "-5",
        "uscc": "91110000600037341M"})
    assert response.status_code == 200
    for message in ("请填写机构名称", "床位数不能为负数", "统一社会信用代码校验位错误，请核对"):
        assert message in response.text, message


def test_a_closed_home_takes_no_new_in_house_unit(app, client, make, health):
    home = make.home(closed_on=date(2024, 6, 30))
    page = client.get(f"/institutions/new?kind=medical&host={home}")
    assert page.status_code == 302
    assert "不能再设立运营中的内设机构" in client.get(page.location).text
    response = client.post(f"/institutions/new?kind=medical&host={home}", data={
        "name": "停业后的医务室", "region_code": MAONAN, "opened_on": "2025-01-01", "medical_type": "医务室",
        "host_code": code_of(app, Institution, home)})
    assert response.status_code == 302  # refused before the form: the home is closed
    response = client.post("/institutions/new?kind=medical", data={
        "name": "停业后的医务室", "region_code": MAONAN, "opened_on": "2025-01-01", "medical_type": "医务室",
        "host_code": code_of(app, Institution, home)})
    assert "设立单位已于 2024-06-30 停业，不能再设立运营中的内设机构" in response.text
    with app.app_context():
        assert db.session.scalar(select(Institution.id).where(Institution.name == "停业后的医务室")) is None


def test_a_unit_may_outlive_its_host_and_still_be_edited(app, client, make, health):
    home = make.home()
    unit = make.medical(host=home, medical_type="医务室")
    make.user("civil_affairs", username="minzheng")
    with app.app_context():
        db.session.get(Institution, home).closed_on = date(2024, 6, 30)
        db.session.commit()
    response = client.post(f"/institutions/{unit}/edit", data={
        "name": "改名的医务室", "region_code": MAONAN, "opened_on": "2020-01-01", "medical_type": "医务室",
        "host_code": code_of(app, Institution, home)})
    assert response.status_code == 302


def test_an_agreement_with_a_closed_home_is_refused(app, client, make, health):
    home = make.home(closed_on=date(2024, 6, 30))
    hospital = make.medical()
    response = client.post("/agreements/new", data={
        "eldercare_code": code_of(app, Institution, home), "medical_code": code_of(app, Institution, hospital),
        "valid_from": "2025-01-01", "valid_to": "2027-12-31", "services": ["双向转诊"]})
    assert response.status_code == 200
    assert "已于 2024-06-30 停业，不能签订自此后生效的协议" in response.text
    with app.app_context():
        assert db.session.scalar(select(Agreement.id)) is None


def test_saving_an_agreement_unchanged_says_nothing_changed(app, client, make, health):
    home, hospital = make.home(), make.medical()
    agreement = make.agreement(home, hospital)
    form = client.get(f"/agreements/{agreement}/edit").text
    version = form.split('name="version" type="hidden" value="')[1].split('"')[0]
    response = client.post(f"/agreements/{agreement}/edit", data={
        "eldercare_code": code_of(app, Institution, home), "medical_code": code_of(app, Institution, hospital),
        "signed_on": "2020-12-20", "valid_from": "2021-01-01", "valid_to": "2030-12-31",
        "services": ["双向转诊", "预约就诊绿色通道"], "version": version}, follow_redirects=True)
    assert "没有修改任何内容" in response.text and "已保存修改" not in response.text


def test_a_bed_count_too_large_for_the_register_is_a_row_error_not_a_crash(app):
    row = ",养老机构,床位过多的养老院,茂南区,2020-01-01,1234567890123456789012,,,\n"
    assert messages(plan_as(app, None, "institutions.csv", HOMES + row)) == [
        "institutions.csv 第 2 行 床位数：床位数不能超过 10,000,000"]

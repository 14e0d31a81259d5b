"""Registering, editing, closing and deleting institutions, with the rules of docs/data-model.md."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEvent, Institution
from tests.conftest import count, lists
from tests.factories import GAOZHOU, MAONAN, count_statements

VALID_USCC = "91110000600037341L"


def home_form(**changes) -> dict:
    """A complete, valid home form as a browser would post it."""
    data = {
        "name": "茂南幸福养老院", "uscc": "", "region_code": MAONAN, "address": "油城五路 1 号",
        "lat": "21.66", "lon": "110.92", "ownership": "民办", "opened_on": "2021-05-01",
        "filing_no": "", "host_code": "", "beds_total": "120", "beds_nursing": "60", "rating": "",
    }
    return data | changes


def medical_form(**changes) -> dict:
    data = {
        "name": "茂南示范医院", "uscc": "", "region_code": MAONAN, "address": "", "lat": "", "lon": "",
        "ownership": "公办", "opened_on": "2000-01-01", "filing_no": "", "host_code": "",
        "medical_type": "综合医院", "level": "二级", "licence_no": "", "insurance_applied_on": "",
        "insurance_designated_on": "",
    }
    return data | changes


def test_civil_affairs_registers_a_home(app, client, civil):
    response = client.post("/institutions/new?kind=eldercare", data=home_form(uscc=VALID_USCC))
    assert response.status_code == 302
    with app.app_context():
        home = db.session.scalar(select(Institution))
        assert (home.name, home.kind, home.beds_total, home.beds_nursing) == ("茂南幸福养老院", "eldercare", 120, 60)
        assert home.uscc == VALID_USCC
        assert home.code.startswith("YL")
        assert home.coord_source == "manual"
    page = client.get(response.location)
    assert "茂南幸福养老院" in page.text and "已登记" in page.text


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"name": ""}, "请填写机构名称"),
        ({"uscc": "91110000600037341M"}, "统一社会信用代码校验位错误"),
        ({"uscc": "9111000060003734"}, "统一社会信用代码应为18位"),
        ({"beds_total": ""}, "请填写床位数"),
        ({"beds_total": "-1"}, "床位数不能为负数"),
        ({"beds_nursing": "121", "beds_total": "120"}, "护理型床位数不能超过床位数"),
        ({"beds_nursing": "-3"}, "护理型床位数不能为负数"),
        ({"opened_on": ""}, "请填写成立日期"),
        ({"opened_on": "2021-13-01"}, "成立日期须为有效日期（YYYY-MM-DD）"),
        ({"beds_total": "12.5"}, "床位数须为整数"),
        ({"beds_nursing": "多"}, "护理型床位数须为整数"),
        ({"lat": "北纬21"}, "纬度须为数字"),
        ({"lat": "91"}, "纬度须在 -90 到 90 之间"),
        ({"lon": "181"}, "经度须在 -180 到 180 之间"),
        ({"lat": "21.6", "lon": ""}, "纬度和经度须同时填写"),
        ({"region_code": ""}, "请选择所属区县"),
    ],
)
def test_invalid_home_is_refused_with_a_chinese_message(app, client, civil, changes, field_message):
    response = client.post("/institutions/new?kind=eldercare", data=home_form(**changes))
    assert response.status_code == 200
    assert field_message in response.text
    assert "is-invalid" in response.text
    assert count(app, Institution) == 0


def test_the_form_keeps_what_was_typed_after_an_error(client, civil):
    response = client.post("/institutions/new?kind=eldercare",
                           data=home_form(beds_nursing="500", address="信宜市东镇迎宾大道 9 号"))
    assert "信宜市东镇迎宾大道 9 号" in response.text
    assert 'value="500"' in response.text


def test_nursing_beds_equal_to_total_are_accepted(app, client, civil):
    response = client.post("/institutions/new?kind=eldercare", data=home_form(beds_nursing="120"))
    assert response.status_code == 302


def test_credit_code_must_be_unique(app, client, civil, make):
    make.home(uscc=VALID_USCC)
    response = client.post("/institutions/new?kind=eldercare", data=home_form(uscc=VALID_USCC.lower()))
    assert "已被其他机构使用" in response.text
    assert count(app, Institution) == 1


def test_closing_date_before_opening_is_refused(app, client, civil, make):
    home = make.home(opened_on=date(2020, 1, 1))
    with app.app_context():
        version = db.session.get(Institution, home).version
    response = client.post(f"/institutions/{home}/close",
                           data={"closed_on": "2019-12-31", "version": version})
    assert "停业日期不能早于成立日期" in response.text
    with app.app_context():
        assert db.session.get(Institution, home).closed_on is None


def test_health_files_an_in_house_clinic_from_the_home_page(app, client, health, make):
    home = make.home(region=MAONAN)
    with app.app_context():
        code = db.session.get(Institution, home).code
    page = client.get(f"/institutions/{home}")
    assert f"/institutions/new?kind=medical&amp;host={home}" in page.text
    form = client.get(f"/institutions/new?kind=medical&host={home}")
    assert f'value="{code}"' in form.text
    response = client.post(f"/institutions/new?kind=medical&host={home}",
                           data=medical_form(name="养老院医务室", medical_type="医务室", host_code=code))
    assert response.status_code == 302
    with app.app_context():
        clinic = db.session.scalar(select(Institution).where(Institution.name == "养老院医务室"))
        assert clinic.host_id == home
        assert clinic.kind == "medical"
    assert "养老院医务室" in client.get(f"/institutions/{home}").text


def test_a_unit_must_be_in_its_hosts_region(app, client, health, make):
    home = make.home(region=MAONAN)
    with app.app_context():
        code = db.session.get(Institution, home).code
    response = client.post("/institutions/new?kind=medical",
                           data=medical_form(region_code=GAOZHOU, host_code=code, medical_type="医务室"))
    assert "内设机构须与设立单位在同一区县" in response.text
    assert count(app, Institution) == 1


def test_a_unit_must_be_of_the_other_kind(app, client, civil, make):
    home = make.home()
    with app.app_context():
        code = db.session.get(Institution, home).code
    response = client.post("/institutions/new?kind=eldercare", data=home_form(host_code=code))
    assert "设立单位须为另一类机构" in response.text


def test_an_unknown_host_code_is_named(client, civil):
    response = client.post("/institutions/new?kind=eldercare", data=home_form(host_code="YL9999999"))
    assert "未找到编码或名称为“YL9999999”的设立单位" in response.text


def test_medical_type_is_required(app, client, health):
    response = client.post("/institutions/new?kind=medical", data=medical_form(medical_type=""))
    assert "请选择医疗机构类型" in response.text
    assert count(app, Institution) == 0


def test_insurance_designation_not_before_application(app, client, health):
    response = client.post("/institutions/new?kind=medical", data=medical_form(
        insurance_applied_on="2022-05-01", insurance_designated_on="2022-04-30"))
    assert "医保定点日期不能早于申请日期" in response.text


def test_kind_never_changes_on_edit(app, client, civil, make):
    home = make.home()
    with app.app_context():
        version = db.session.get(Institution, home).version
    client.post(f"/institutions/{home}/edit", data=home_form(kind="medical", version=version))
    with app.app_context():
        assert db.session.get(Institution, home).kind == "eldercare"


def test_an_edit_is_audited_with_before_and_after(app, client, civil, make):
    home = make.home(name="旧名称养老院", beds_total=80)
    with app.app_context():
        version = db.session.get(Institution, home).version
    response = client.post(f"/institutions/{home}/edit",
                           data=home_form(name="新名称养老院", beds_total="90", beds_nursing="", lat="", lon="",
                                          version=version))
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == home, AuditEvent.action == "update")
        ).one()
        assert event.user.username == "minzheng"
        assert (event.before["name"], event.after["name"]) == ("旧名称养老院", "新名称养老院")
        assert (event.before["beds_total"], event.after["beds_total"]) == (80, 90)
    page = client.get(f"/institutions/{home}").text
    assert "变更记录" in page and "旧名称养老院 → 新名称养老院" in page


def test_a_stale_edit_is_refused_and_keeps_the_newer_save(app, client, civil, make):
    home = make.home(name="原名养老院")
    with app.app_context():
        version = db.session.get(Institution, home).version
    first = client.post(f"/institutions/{home}/edit",
                        data=home_form(name="第一个人的修改", lat="", lon="", version=version))
    assert first.status_code == 302
    second = client.post(f"/institutions/{home}/edit",
                         data=home_form(name="第二个人的修改", lat="", lon="", version=version))
    assert second.status_code == 200
    assert "该记录已被他人修改" in second.text
    assert "第二个人的修改" in second.text  # the typed input is not lost
    with app.app_context():
        assert db.session.get(Institution, home).name == "第一个人的修改"


def test_closing_keeps_the_record_and_offers_to_close_units(app, client, make, admin):
    home = make.home()
    clinic = make.medical(host=home, medical_type="医务室")
    page = client.get(f"/institutions/{home}/close")
    assert "同时将其仍在运营的内设机构办理停业" in page.text and "data-confirm" in page.text
    with app.app_context():
        version = db.session.get(Institution, home).version
    response = client.post(f"/institutions/{home}/close",
                           data={"closed_on": "2024-07-01", "close_units": "y", "version": version})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Institution, home).closed_on == date(2024, 7, 1)
        assert db.session.get(Institution, clinic).closed_on == date(2024, 7, 1)
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "close")).all()
        assert len(actions) == 2
    assert count(app, Institution) == 2


def test_closing_without_the_units_leaves_them_operating(app, client, civil, make):
    home = make.home()
    clinic = make.medical(host=home, medical_type="护理站")
    with app.app_context():
        version = db.session.get(Institution, home).version
    client.post(f"/institutions/{home}/close", data={"closed_on": "2024-07-01", "version": version})
    with app.app_context():
        assert db.session.get(Institution, home).closed_on == date(2024, 7, 1)
        assert db.session.get(Institution, clinic).closed_on is None


def test_admin_deletes_a_record_entered_in_error_with_an_audit_event(app, client, make, admin):
    home = make.home(name="误录养老院")
    assert "确认删除" in client.get(f"/institutions/{home}/delete").text
    response = client.post(f"/institutions/{home}/delete")
    assert response.status_code == 302
    assert count(app, Institution) == 0
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).one()
        assert event.before["name"] == "误录养老院" and event.after is None


def test_a_record_with_units_cannot_be_deleted(app, client, make, admin):
    home = make.home()
    make.medical(host=home, medical_type="医务室")
    client.post(f"/institutions/{home}/delete")
    assert count(app, Institution) == 2


def test_lists_search_filter_sort_and_paginate(app, client, civil, make):
    for n in range(25):
        make.home(name=f"分页养老院{n:02d}", beds_total=n)
    make.home(name="高州长寿院", region=GAOZHOU, uscc=VALID_USCC)
    first = client.get("/homes?sort=beds_total&descending=1")
    assert "分页养老院24" in first.text and "分页养老院00" not in first.text
    assert "共 26 条" in first.text
    second = client.get("/homes?sort=beds_total&descending=1&page=2")
    assert "分页养老院00" in second.text
    by_region = client.get(f"/homes?region={GAOZHOU}")
    assert "高州长寿院" in by_region.text and "分页养老院01" not in by_region.text
    by_code = client.get(f"/homes?q={VALID_USCC}")
    assert "高州长寿院" in by_code.text and "共 1 条" in by_code.text
    empty = client.get("/homes?q=不存在的名字")
    assert "没有符合条件的机构" in empty.text


def test_status_and_type_filters(client, health, make):
    make.medical(name="运营中的诊所", medical_type="诊所")
    make.medical(name="已停业的医院", closed_on=date(2023, 1, 1))
    assert lists(client, "/medical?status=operating", "运营中的诊所", "已停业的医院")
    assert lists(client, "/medical?status=closed", "已停业的医院", "运营中的诊所")
    assert lists(client, "/medical?medical_type=诊所", "运营中的诊所", "已停业的医院")


def test_closing_a_record_someone_just_edited_is_refused(app, client, civil, make):
    home = make.home()
    with app.app_context():
        version = db.session.get(Institution, home).version
    client.post(f"/institutions/{home}/edit", data=home_form(name="刚改过的名字", lat="", lon="", version=version))
    response = client.post(f"/institutions/{home}/close", data={"closed_on": "2024-07-01", "version": version})
    assert "该记录已被他人修改" in response.text
    with app.app_context():
        assert db.session.get(Institution, home).closed_on is None


def test_a_malformed_host_parameter_is_not_found(client, health):
    assert client.get("/institutions/new?kind=medical&host=abc").status_code == 200
    assert client.get("/institutions/new?kind=medical&host=999").status_code == 404


def test_the_current_filters_are_shown_and_removable(client, civil, make):
    make.home(name="筛选测试养老院")
    page = client.get("/homes?q=筛选&region=440902&status=operating").text
    assert "当前条件：" in page
    assert "搜索：筛选" in page and "所属区县：茂南区" in page and "状态：运营中" in page
    assert "/homes?q=%E7%AD%9B%E9%80%89&amp;status=operating" in page  # the region chip's link drops region


@pytest.mark.parametrize("kind", ["eldercare", "medical"])
def test_a_record_page_runs_as_many_queries_for_many_agreements_as_for_one(app, client, make, health, kind):
    home = make.home(name="签约多的养老院", lat=21.66, lon=110.92)
    hospital = make.medical(name="签约多的医院", lat=21.67, lon=110.93)
    make.agreement(home, make.medical(name="第一家医院"))
    make.agreement(make.home(name="第一家养老院"), hospital)
    path = f"/institutions/{home if kind == 'eldercare' else hospital}"
    few = count_statements(app, client, path)
    for n in range(5):
        make.agreement(home, make.medical(name=f"又一家医院{n}"))
        make.agreement(make.home(name=f"又一家养老院{n}"), hospital)
    assert count_statements(app, client, path) == few
    page = client.get(path).text
    assert ("又一家医院4" if kind == "eldercare" else "又一家养老院4") in page


def test_a_large_home_without_a_unit_is_warned_and_a_small_one_is_not(client, make, health):
    large = make.home(name="大院", beds_total=200)
    small = make.home(name="小院", beds_total=199)
    warning = "200床及以上养老机构未内设合格医疗机构"
    assert warning in client.get(f"/institutions/{large}").text
    assert warning not in client.get(f"/institutions/{small}").text


def test_new_codes_pass_over_codes_already_taken_in_the_register_or_the_file(app, make):
    """Codes are looked up a window at a time: a taken one anywhere in a window is still skipped."""
    from registry.services.institutions import InstitutionCodes

    make.home()
    with app.app_context():
        codes = InstitutionCodes()
        start = codes.number
        taken = [start, start + 1, start + 9, start + 30]  # in the first window of 8, and in later ones
        for number in taken:
            db.session.add(Institution(code=f"YL{number:07d}", kind="eldercare", name=f"占用编码{number}",
                                       region_code=MAONAN, opened_on=date(2020, 1, 1), beds_total=1, version=1))
        db.session.flush()
        codes.reserved.add(f"YL{start + 2:07d}")  # claimed by a row of the file
        handed = [codes.next("eldercare") for _ in range(40)]
        numbers = [int(code[2:]) for code in handed]
        assert numbers[:3] == [start + 3, start + 4, start + 5]
        assert not set(numbers) & {*taken, start + 2}
        assert numbers == sorted(numbers) and len(set(handed)) == 40
        assert codes.next("medical").startswith("YY")
        db.session.rollback()

"""Recording agreements: parties, dates, services, status on a day, distance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import Agreement
from registry.services import agreements as service
from tests.conftest import code_of, count, lists, table_rows
from tests.factories import GAOZHOU, MAONAN


def agreement_form(home_code: str, medical_code: str, **changes) -> dict:
    data = {
        "eldercare_code": home_code, "medical_code": medical_code, "signed_on": "2024-01-10",
        "valid_from": "2024-02-01", "valid_to": "2027-01-31", "services": ["双向转诊", "预约就诊绿色通道"],
        "referral_terms": "急危重症 24 小时转诊", "visit_frequency": "每周一次", "fees": "巡诊免费",
        "eldercare_duties": "提供场地", "medical_duties": "派驻医生",
    }
    return data | changes


@pytest.fixture()
def pair(app, make):
    """A home and a hospital in 茂南区, 2.22 km apart."""
    home = make.home(name="茂南颐养院", lat=21.6640, lon=110.9160)
    hospital = make.medical(name="茂名示范医院", lat=21.6600, lon=110.9370)
    return home, hospital


def test_health_records_an_agreement_and_sees_status_and_distance(app, client, health, pair):
    home, hospital = pair
    form = agreement_form(f"{code_of(app, home)} 茂南颐养院", code_of(app, hospital))
    response = client.post("/agreements/new", data=form)
    assert response.status_code == 302
    page = client.get(response.location).text
    assert "茂南颐养院" in page and "茂名示范医院" in page
    assert "双向转诊" in page and "预约就诊绿色通道" in page
    assert "2.2 公里（大地线距离）" in page  # geodesic 2.22 km, 21.6640,110.9160 → 21.6600,110.9370
    with app.app_context():
        agreement = db.session.scalar(select(Agreement))
        assert agreement.services == ["预约就诊绿色通道", "双向转诊"]
        assert agreement.referral_terms == "急危重症 24 小时转诊"


def test_the_agreement_form_starts_from_the_homes_page(app, client, health, pair):
    home, _ = pair
    page = client.get(f"/institutions/{home}").text
    assert f"/agreements/new?eldercare={home}" in page
    form = client.get(f"/agreements/new?eldercare={home}").text
    assert code_of(app, home) in form


def test_the_party_picker_finds_institutions_by_part_of_the_name(client, health, pair):
    rows = client.get("/institutions/search.json?kind=medical&q=示范").get_json()
    assert [row["name"] for row in rows] == ["茂名示范医院"]
    assert client.get("/institutions/search.json?kind=eldercare&q=示范").get_json() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"valid_to": "2024-01-31"}, "到期日期不能早于生效日期"),
        ({"signed_on": "2027-02-01"}, "签订日期不能晚于到期日期"),
        ({"services": []}, "请至少选择一项服务内容"),
        ({"valid_from": ""}, "请填写生效日期"),
        ({"medical_code": "YY9999999"}, "未找到编码或名称为“YY9999999”的机构"),
    ],
)
def test_invalid_agreements_are_refused(app, client, health, pair, changes, message):
    home, hospital = pair
    form = agreement_form(code_of(app, home), code_of(app, hospital)) | changes
    response = client.post("/agreements/new", data=form)
    assert response.status_code == 200
    assert message in response.text
    assert count(app, Agreement) == 0


def test_parties_must_be_of_the_right_kinds(app, client, health, make, pair):
    home, hospital = pair
    response = client.post("/agreements/new",
                           data=agreement_form(code_of(app, hospital), code_of(app, home)))
    assert "所选机构类别不符" in response.text
    assert count(app, Agreement) == 0


def test_a_host_does_not_sign_with_its_own_unit(app, client, health, make):
    home = make.home()
    clinic = make.medical(host=home, medical_type="医务室")
    response = client.post("/agreements/new", data=agreement_form(code_of(app, home), code_of(app, clinic)))
    assert "设立单位与其内设机构属同一法人" in response.text
    assert count(app, Agreement) == 0


def test_the_same_pair_may_hold_several_agreements(app, make, pair):
    home, hospital = pair
    make.agreement(home, hospital)
    make.agreement(home, hospital, valid_from=date(2031, 1, 1), valid_to=date(2033, 12, 31))
    assert count(app, Agreement) == 2


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2020, 12, 31), "pending"),
        (date(2021, 1, 1), "active"),
        (date(2030, 12, 31), "active"),  # valid_to is the last day it applies
        (date(2031, 1, 1), "expired"),
    ],
)
def test_status_follows_the_dates(app, make, pair, day, expected):
    home, hospital = pair
    agreement_id = make.agreement(home, hospital)
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert service.status_on(agreement, day) == expected
        in_sql = db.session.scalars(select(Agreement.id).where(service.status_clause(expected, day))).all()
        assert in_sql == [agreement_id]


def test_terminated_on_is_the_first_day_it_no_longer_applies(app, make, pair):
    home, hospital = pair
    agreement_id = make.agreement(home, hospital, terminated_on=date(2024, 6, 1))
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert service.status_on(agreement, date(2024, 5, 31)) == "active"
        assert service.status_on(agreement, date(2024, 6, 1)) == "terminated"


def test_a_party_closed_ends_the_active_status(app, make):
    home = make.home(closed_on=date(2025, 3, 1))
    hospital = make.medical()
    agreement_id = make.agreement(home, hospital)
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert service.status_on(agreement, date(2025, 2, 28)) == "active"
        assert service.status_on(agreement, date(2025, 3, 1)) == "party_closed"
        closed = db.session.scalars(
            select(Agreement.id).where(service.status_clause("party_closed", date(2025, 3, 1)))
        ).all()
        assert closed == [agreement_id]


def test_terminating_asks_for_a_date_and_is_audited(app, client, health, make, pair):
    home, hospital = pair
    agreement_id = make.agreement(home, hospital)
    page = client.get(f"/agreements/{agreement_id}/terminate").text
    assert "data-confirm" in page
    with app.app_context():
        version = db.session.get(Agreement, agreement_id).version
    response = client.post(f"/agreements/{agreement_id}/terminate",
                           data={"terminated_on": "2025-01-01", "version": version})
    assert response.status_code == 302
    page = client.get(f"/agreements/{agreement_id}").text
    assert "已终止" in page and "终止" in page


def test_an_expired_agreement_is_not_offered_for_termination_nor_ended_after_its_last_day(app, client, health, make,
                                                                                       pair):
    home, hospital = pair
    running = make.agreement(home, hospital)
    expired = make.agreement(home, hospital, valid_from=date(2020, 1, 1), valid_to=date(2022, 12, 31),
                             signed_on=date(2019, 12, 1))
    assert f"/agreements/{running}/terminate" in client.get(f"/agreements/{running}").text
    page = client.get(f"/agreements/{expired}").text
    assert "已到期" in page and f"/agreements/{expired}/terminate" not in page
    with app.app_context():
        version = db.session.get(Agreement, expired).version
    refused = client.post(f"/agreements/{expired}/terminate", data={"terminated_on": "2023-01-05", "version": version})
    assert "终止日期不能晚于到期日期 2022-12-31" in refused.text
    back_dated = client.post(f"/agreements/{expired}/terminate",
                             data={"terminated_on": "2022-06-01", "version": version, "confirmed": "1"})
    assert back_dated.status_code == 302  # ended early, entered late: still a termination
    with app.app_context():
        assert db.session.get(Agreement, expired).terminated_on == date(2022, 6, 1)


def test_an_edit_with_a_stale_version_is_refused(app, client, health, pair, make):
    home, hospital = pair
    agreement_id = make.agreement(home, hospital, visit_frequency="每月一次")
    with app.app_context():
        version = db.session.get(Agreement, agreement_id).version
    form = agreement_form(code_of(app, home), code_of(app, hospital), version=version)
    assert client.post(f"/agreements/{agreement_id}/edit", data=form | {"visit_frequency": "每周两次"}).status_code == 302
    stale = client.post(f"/agreements/{agreement_id}/edit", data=form | {"visit_frequency": "每天"})
    assert "该记录已被他人修改" in stale.text
    with app.app_context():
        assert db.session.get(Agreement, agreement_id).visit_frequency == "每周两次"


def test_the_list_filters_by_district_status_and_service(app, client, health, make):
    home_mn, hospital_mn = make.home(name="茂南甲院"), make.medical(name="茂南乙医院")
    home_gz, hospital_gz = make.home(name="高州丙院", region=GAOZHOU), make.medical(region=GAOZHOU)
    make.agreement(home_mn, hospital_mn, services=("健康管理",))
    make.agreement(home_gz, hospital_gz, valid_to=date(2022, 12, 31))
    assert lists(client, f"/agreements?region={MAONAN}", "茂南甲院", "高州丙院")
    assert lists(client, "/agreements?status=expired", "高州丙院", "茂南甲院")
    assert lists(client, "/agreements?service=双向转诊", "高州丙院", "茂南甲院")


def test_distance_is_unknown_without_coordinates(app, client, health, make):
    home, hospital = make.home(), make.medical()
    agreement_id = make.agreement(home, hospital)
    assert "无法计算" in client.get(f"/agreements/{agreement_id}").text


def test_parties_farther_apart_than_nearby_are_flagged(app, client, health, make):
    home = make.home(lat=21.66, lon=110.92)
    far = make.medical(lat=22.35, lon=110.94)  # 信宜, about 77 km
    agreement_id = make.agreement(home, far)
    assert "超出周边范围" in client.get(f"/agreements/{agreement_id}").text


def _post_with_scan(app, client, pair, content: bytes):
    from io import BytesIO

    home, hospital = pair
    form = agreement_form(code_of(app, home), code_of(app, hospital))
    form["scan"] = (BytesIO(content), "协议.pdf")
    return client.post("/agreements/new", data=form, content_type="multipart/form-data")


def test_a_signed_scan_is_stored_and_served(app, client, health, pair):
    response = _post_with_scan(app, client, pair, b"%PDF-1.4 signed agreement")
    assert response.status_code == 302
    page = client.get(response.location).text
    assert "查看扫描件" in page
    scan = client.get(response.location + "/scan")
    assert scan.status_code == 200
    assert scan.mimetype == "application/pdf" and scan.data.startswith(b"%PDF-")


def test_a_scan_that_is_not_a_pdf_or_image_is_refused(app, client, health, pair):
    response = _post_with_scan(app, client, pair, b"MZ\x90\x00 not a pdf")
    assert response.status_code == 200
    assert "扫描件须为 PDF、PNG 或 JPEG 文件" in response.text
    assert count(app, Agreement) == 0


@pytest.fixture()
def dated(make) -> dict[str, int]:
    """Agreements of one hospital with five homes, by how recent and how soon to expire, ids by home name."""
    today = date.today()
    hospital = make.medical(name="排序医院")
    terms = {
        "早签长效院": {"signed_on": date(2020, 12, 20), "valid_from": date(2021, 1, 1),
                   "valid_to": today + timedelta(days=1000)},
        "新签院": {"signed_on": today - timedelta(days=10), "valid_from": today - timedelta(days=5),
                "valid_to": today + timedelta(days=200)},
        "未填签订日期院": {"signed_on": None, "valid_from": today - timedelta(days=30),
                    "valid_to": today + timedelta(days=500)},
        "快到期院": {"signed_on": date(2022, 1, 1), "valid_from": date(2022, 1, 1),
                 "valid_to": today + timedelta(days=20)},
        "已到期院": {"signed_on": date(2019, 1, 1), "valid_from": date(2019, 1, 1), "valid_to": date(2022, 12, 31)},
        "已终止院": {"signed_on": date(2023, 6, 1), "valid_from": date(2023, 6, 1),
                 "valid_to": today + timedelta(days=300), "terminated_on": date(2024, 1, 1)},
    }
    return {name: make.agreement(make.home(name=name), hospital, **values) for name, values in terms.items()}


def _listed(client, query: str = "") -> list[str]:
    """The homes of the agreements list, in its order."""
    return [row[1].split()[0] for row in table_rows(client.get(f"/agreements{query}").text)]


def test_the_list_shows_the_newest_agreement_first(client, health, dated):
    assert _listed(client) == ["新签院", "未填签订日期院", "已终止院", "快到期院", "早签长效院", "已到期院"]


def test_the_list_can_show_the_active_ones_soonest_to_expire_first(client, health, dated):
    page = client.get("/agreements").text
    assert 'href="/agreements?sort=expiring"' in page
    assert _listed(client, "?sort=expiring") == ["快到期院", "新签院", "未填签订日期院", "早签长效院",
                                                 "已终止院", "已到期院"]
    # Sorting by the 到期日期 column is still the user's to ask for, either way.
    assert _listed(client, "?sort=valid_to")[0] == "已到期院"
    assert _listed(client, "?sort=valid_to&descending=1")[0] == "早签长效院"


def test_the_api_lists_agreements_in_the_same_orders(client, health, dated):
    by_id = {agreement_id: name for name, agreement_id in dated.items()}
    for query in ("", "?sort=expiring"):
        items = client.get(f"/api/v1/agreements{query}").get_json()["items"]
        assert [by_id[item["id"]] for item in items] == _listed(client, query)
    spec = client.get("/api/v1/openapi.json").get_json()
    sort = [p for p in spec["paths"]["/agreements"]["get"]["parameters"] if p["name"] == "sort"][0]
    assert sort["schema"]["default"] == "newest" and "expiring" in sort["schema"]["enum"]


def test_new_numbers_pass_over_numbers_already_taken_in_the_register_or_the_file(app, pair):
    """Numbers are looked up a window at a time, per year: a taken one anywhere in a window is still skipped."""
    home, hospital = pair
    with app.app_context():
        codes = service.AgreementCodes()
        taken = [1, 2, 10, 31]  # in the first window of 8, and in later ones
        for number in taken:
            db.session.add(Agreement(code=f"XY2024{number:05d}", eldercare_id=home, medical_id=hospital,
                                     valid_from=date(2024, 1, 1), valid_to=date(2025, 12, 31), version=1))
        db.session.flush()  # four codes of 2024: counting starts at 5, the number after the count
        codes.reserved.add("XY202400006")  # claimed by a row of the file
        handed = [codes.next(date(2024, 3, 1)) for _ in range(40)]
        numbers = [int(code[6:]) for code in handed]
        assert numbers[:3] == [5, 7, 8]
        assert not set(numbers) & {*taken, 6}
        assert numbers == sorted(numbers) and len(set(handed)) == 40
        assert codes.next(date(2025, 1, 1)) == "XY202500001"
        db.session.rollback()


def test_a_party_typed_by_its_full_name_is_taken_when_only_one_institution_has_it(app, client, health, make):
    home = make.home(name="茂南手输养老院")
    make.medical(name="茂南手输医院")
    response = client.post("/agreements/new", data=agreement_form(code_of(app, home), "茂南手输医院"))
    assert response.status_code == 302
    with app.app_context():
        agreement = db.session.scalar(select(Agreement))
        assert agreement.medical.name == "茂南手输医院"


def test_a_typed_name_two_institutions_share_lists_them_and_guesses_neither(app, client, health, make):
    home = make.home(name="茂南手输养老院")
    first = make.medical(name="同名卫生院", region=MAONAN)
    second = make.medical(name="同名卫生院", region=GAOZHOU)
    page = client.post("/agreements/new", data=agreement_form(code_of(app, home), "同名卫生院")).text
    assert "有多家机构名为“同名卫生院”" in page
    assert f"{code_of(app, first)}（茂南区）" in page and f"{code_of(app, second)}（高州市）" in page
    assert count(app, Agreement) == 0


def test_a_typed_name_outside_ones_region_is_not_found(app, client, make):
    make.user("health", MAONAN, username="wj-mn")
    client.post("/login", data={"username": "wj-mn", "password": "Correct-horse-battery-9"})
    home = make.home(name="茂南手输养老院")
    make.medical(name="高州远方医院", region=GAOZHOU)
    page = client.post("/agreements/new", data=agreement_form(code_of(app, home), "高州远方医院")).text
    assert "未找到编码或名称为“高州远方医院”的机构" in page

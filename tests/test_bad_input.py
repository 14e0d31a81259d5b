"""Malformed input answers 400 or a form error naming the field, never 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Agreement, Institution, TrainingRecord
from registry.services.infra import scans
from tests.factories import MAONAN

HUGE = "1" * 22  # no INTEGER column nor OFFSET holds it
LIST_PAGES = ["/homes", "/medical", "/agreements", "/training", "/admin/audit",
              "/compliance/referral_coverage/city"]


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("path", LIST_PAGES)
def test_a_page_number_no_list_has_is_refused_with_a_reason(client, admin, path):
    response = client.get(f"{path}?page={HUGE}")
    assert response.status_code == 400
    assert "页码应为 1 到 2147483647 之间的整数" in response.text


@pytest.mark.parametrize("path", LIST_PAGES)
def test_an_unreadable_page_number_shows_the_first_page(client, admin, path):
    assert client.get(f"{path}?page=abc").status_code == 200


def test_a_year_no_calendar_has_is_refused_with_a_reason(client, admin):
    response = client.get("/training?year=" + "9" * 20)
    assert response.status_code == 400
    assert "年度应为 1 到 9999 之间的整数" in response.text


@pytest.mark.parametrize("beds", [HUGE, "9" * 400, "10000001"], ids=["22 digits", "400 digits", "10000001"])
def test_a_bed_count_beyond_reason_is_a_form_error(app, client, civil, beds):
    form = {"name": "床位过多的养老院", "region_code": MAONAN, "opened_on": "2020-01-01", "beds_total": beds}
    response = client.post("/institutions/new?kind=eldercare", data=form)
    assert response.status_code == 200
    assert "床位数不能超过 10,000,000" in response.text
    assert rows(app, Institution) == 0


def test_a_nursing_bed_count_beyond_reason_is_a_form_error(app, client, civil):
    form = {"name": "护理床位过多的养老院", "region_code": MAONAN, "opened_on": "2020-01-01",
            "beds_total": "100", "beds_nursing": HUGE}
    response = client.post("/institutions/new?kind=eldercare", data=form)
    assert response.status_code == 200
    assert "护理型床位数不能超过 10,000,000" in response.text
    assert rows(app, Institution) == 0


@pytest.mark.parametrize(("field", "label"), [("medical_nursing", "医疗护理人员人数"),
                                              ("caregivers", "养老护理员人数")])
def test_a_training_count_beyond_reason_is_a_form_error(app, client, health, field, label):
    form = {"held_on": "2022-05-01", "organiser": "市卫健局", "region_code": MAONAN,
            "medical_nursing": "10", "caregivers": "10"} | {field: HUGE}
    response = client.post("/training/new", data=form)
    assert response.status_code == 200
    assert f"{label}不能超过 10,000,000" in response.text
    assert rows(app, TrainingRecord) == 0


def test_the_largest_count_allowed_is_saved(app, client, civil):
    form = {"name": "床位很多的养老院", "region_code": MAONAN, "opened_on": "2020-01-01",
            "beds_total": "10000000"}
    assert client.post("/institutions/new?kind=eldercare", data=form).status_code == 302
    assert rows(app, Institution) == 1


def test_a_scan_of_an_agreement_coded_with_a_line_break_downloads(app, client, health, make):
    agreement_id = make.agreement(make.home(), make.medical())
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        agreement.code = "XY-2021\r\nSet-Cookie: x=1"  # an imported code is kept exactly as given
        agreement.scan_name = "0" * 32 + ".pdf"
        scans.path_of(agreement.scan_name).write_bytes(b"%PDF-1.4 test scan")
        db.session.commit()
    response = client.get(f"/agreements/{agreement_id}/scan")
    assert response.status_code == 200
    assert response.data == b"%PDF-1.4 test scan"
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "XY-2021_Set-Cookie" in disposition
    assert "Set-Cookie" not in response.headers

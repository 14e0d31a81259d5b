"""Changes that carry over to in-house units follow the same rights as a form edit (docs/permissions.md, "Every path a change can take")."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEvent, Institution
from registry.services import imports
from registry.services.formats import exchange
from tests.conftest import table_rows
from tests.factories import GAOZHOU, MAONAN


def closed_on(app, institution_id: int) -> date | None:
    with app.app_context():
        return db.session.get(Institution, institution_id).closed_on


def region_of(app, institution_id: int) -> str:
    with app.app_context():
        return db.session.get(Institution, institution_id).region_code


def test_civil_affairs_closing_a_home_leaves_its_clinic_to_health(app, client, make, civil):
    home = make.home()
    clinic = make.medical(host=home, medical_type="医务室", name="院内医务室")
    page = client.get(f"/institutions/{home}/close").text
    assert "院内医务室（卫生健康部门）" in page
    response = client.post(f"/institutions/{home}/close", data={"closed_on": "2025-03-01", "close_units": "y"},
                           follow_redirects=True)
    assert "院内医务室 须由卫生健康部门办理停业，已列入其待办" in response.text
    assert closed_on(app, home) == date(2025, 3, 1)
    assert closed_on(app, clinic) is None
    make.user("health", username="weijian")
    client.post("/logout")
    client.post("/login", data={"username": "weijian", "password": "Correct-horse-battery-9"})
    rows = table_rows(client.get("/compliance/todo").text)
    assert [(row[3], row[4], row[5]) for row in rows if row[2] == "设立单位已停业，内设机构仍在运营，请核实并办理停业"] == [
        ("卫生健康部门", "院内医务室", "查看 编辑 办理停业")]


def test_an_administrator_closes_the_host_and_its_units_together(app, client, make, admin):
    home = make.home()
    clinic = make.medical(host=home, medical_type="医务室")
    client.post(f"/institutions/{home}/close", data={"closed_on": "2025-03-01", "close_units": "y"})
    assert closed_on(app, home) == closed_on(app, clinic) == date(2025, 3, 1)


def test_a_hosts_region_change_moves_its_units_in_one_audited_change(app, client, make, civil):
    home = make.home(MAONAN, name="迁区的养老院")
    clinic = make.medical(MAONAN, host=home, medical_type="医务室")
    with app.app_context():
        version = db.session.get(Institution, home).version
    response = client.post(f"/institutions/{home}/edit", data={
        "name": "迁区的养老院", "region_code": GAOZHOU, "opened_on": "2020-01-01", "beds_total": "100",
        "version": str(version)})
    assert response.status_code == 302
    assert region_of(app, clinic) == GAOZHOU
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "institutions",
                                                           AuditEvent.entity_id == clinic,
                                                           AuditEvent.action == "update"))
        assert event.before["region_code"] == MAONAN and event.after["region_code"] == GAOZHOU


def test_an_imported_region_change_moves_the_units_too(app, make):
    home = make.home(MAONAN, name="导入迁区的养老院")
    clinic = make.medical(MAONAN, host=home, medical_type="医务室")
    with app.app_context():
        code = db.session.get(Institution, home).code
        text = f"机构编码,机构类别,机构名称,所属区县,成立日期\n{code},养老机构,导入迁区的养老院,高州市,2020-01-01\n"
        plan = imports.plan(exchange.read_upload(text.encode(), "institutions.csv"), None)
        assert plan.ok, [str(e) for e in plan.errors]
        imports.apply(plan, None, "institutions.csv")
        db.session.commit()
    assert region_of(app, home) == region_of(app, clinic) == GAOZHOU

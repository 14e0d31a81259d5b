"""The audit log shows refused requests; a record's own 变更记录 shows them to administrators only."""

from __future__ import annotations

from sqlalchemy import select

from registry.extensions import db
from registry.models import AuditEvent
from tests.factories import GAOZHOU, MAONAN


def denied_events(app) -> list[tuple[str, int | None, str]]:
    with app.app_context():
        return [(e.entity, e.entity_id, e.summary)
                for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied"))]


def test_a_refused_registration_is_listed_in_the_audit_log(app, client, make, auth):
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    assert client.get("/institutions/new?kind=eldercare").status_code == 403
    assert denied_events(app) == [("institutions", None, "GET /institutions/new")]
    auth.logout()
    make.user("admin", username="boss")
    auth.login("boss")
    for path in ("/admin/audit", "/admin/audit?action=denied", "/admin/audit?entity=institutions"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "拒绝访问" in response.text and "GET /institutions/new" in response.text, path
        assert 'href="/institutions/None"' not in response.text


def test_an_attempt_on_a_record_links_to_it_in_the_audit_log(app, client, make, auth):
    home = make.home(GAOZHOU, name="高州福寿养老院")
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    assert client.get(f"/institutions/{home}").status_code == 404
    auth.logout()
    make.user("admin", username="boss")
    auth.login("boss")
    assert f'href="/institutions/{home}"' in client.get("/admin/audit?action=denied").text


def test_a_records_history_shows_refused_attempts_to_administrators_only(app, client, make, auth):
    home = make.home(GAOZHOU, name="高州福寿养老院")
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    assert client.get(f"/institutions/{home}").status_code == 404
    assert denied_events(app) == [("institutions", home, f"GET /institutions/{home}")]
    auth.logout()
    make.user("civil_affairs", GAOZHOU, username="minzheng-gz")
    auth.login("minzheng-gz")
    page = client.get(f"/institutions/{home}").text
    assert "变更记录" in page and "拒绝访问" not in page and "lingdao" not in page
    auth.logout()
    make.user("admin", username="boss")
    auth.login("boss")
    page = client.get(f"/institutions/{home}").text
    assert "拒绝访问" in page and "lingdao" in page


def test_an_agreements_history_hides_refused_attempts_from_staff(app, client, make, auth):
    agreement = make.agreement(make.home(GAOZHOU), make.medical(GAOZHOU))
    make.user("health", MAONAN, username="weijian-mn")
    auth.login("weijian-mn")
    assert client.get(f"/agreements/{agreement}").status_code == 404
    auth.logout()
    make.user("health", GAOZHOU, username="weijian-gz")
    auth.login("weijian-gz")
    page = client.get(f"/agreements/{agreement}").text
    assert "变更记录" in page and "拒绝访问" not in page and "weijian-mn" not in page

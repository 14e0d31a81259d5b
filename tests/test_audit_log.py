"""The audit log: refused requests (a record's own 变更记录 shows them to administrators only), the filters by
date, user, action, department and record, and the export with the same filters."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from registry.extensions import db
from registry.models import AuditEvent, Institution, User
from registry.services import institutions
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


# --- filters ------------------------------------------------------------------------------------------------


def summaries(client, query: str) -> list[str]:
    """The summaries the log lists for a query string, in order (each row's last cell, first line)."""
    page = client.get(f"/admin/audit?{query}")
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr>(.*?)</tr>", page.text.split("<tbody>")[1], flags=re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)[-1].split("<")[0].strip() for row in rows
            if "<td colspan" not in row]


def move_event(app, summary: str, at: datetime) -> None:
    """Date the events of `summary` (stored in UTC) as if they had happened at `at`."""
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.summary == summary).values(at=at))
        db.session.commit()


def test_the_log_filters_by_days_of_maoming(app, client, make, admin):
    make.home(name="一月养老院")
    make.home(name="深夜养老院")
    make.home(name="三月养老院")
    move_event(app, "一月养老院", datetime(2026, 1, 15, 2, 0))
    move_event(app, "深夜养老院", datetime(2026, 2, 28, 17, 0))  # 1 March, 01:00 in Maoming
    move_event(app, "三月养老院", datetime(2026, 3, 31, 15, 59))  # 23:59 in Maoming
    assert summaries(client, "date_from=2026-03-01&action=create&entity=institutions") == ["三月养老院", "深夜养老院"]
    assert summaries(client, "date_to=2026-02-28&action=create&entity=institutions") == ["一月养老院"]
    assert summaries(client, "date_from=2026-01-01&date_to=2026-03-31&action=create&entity=institutions") == [
        "三月养老院", "深夜养老院", "一月养老院"]
    assert summaries(client, "date_from=2026-04-01&action=create&entity=institutions") == []


def test_a_malformed_day_is_refused_naming_the_field(client, admin):
    response = client.get("/admin/audit?date_from=2026-13-01")
    assert response.status_code == 400
    assert "开始日期应为 YYYY-MM-DD 格式的日期" in response.text


def test_the_log_filters_by_user_and_action(app, client, make, auth):
    make.user("civil_affairs", username="minzheng")
    make.user("health", username="weijian")
    auth.login("minzheng")
    client.post("/institutions/new?kind=eldercare", data={"name": "民政登记养老院", "region_code": MAONAN,
                                                          "opened_on": "2020-01-01", "beds_total": "30"})
    auth.logout()
    auth.login("weijian")
    client.post("/institutions/new?kind=medical", data={"name": "卫健登记医院", "region_code": MAONAN,
                                                        "opened_on": "2020-01-01", "medical_type": "综合医院"})
    auth.logout()
    boss = make.user("admin", username="boss")
    auth.login("boss")
    with app.app_context():
        civil = db.session.scalar(select(User.id).where(User.username == "minzheng"))
    assert summaries(client, f"user={civil}&action=create&entity=institutions") == ["民政登记养老院"]
    assert summaries(client, f"user={civil}&action=login") == ["minzheng 127.0.0.1"]
    assert summaries(client, f"user={boss}&action=create&entity=institutions") == []
    page = client.get(f"/admin/audit?user={civil}").text
    assert "操作人：minzheng" in page  # the filter in use, as a chip that removes it


def test_the_log_filters_by_department(app, client, make, admin):
    home = make.home(name="民政的养老院")
    hospital = make.medical(name="卫健的医院")
    agreement = make.agreement(home, hospital)
    make.training(organiser="培训主办甲")
    gone = make.medical(name="已删除的诊所", medical_type="诊所")
    with app.app_context():
        agreement_code = db.session.scalar(
            select(AuditEvent.summary).where(AuditEvent.entity == "agreements", AuditEvent.entity_id == agreement))
        institutions.delete(db.session.get(Institution, gone))
        db.session.commit()
    civil = summaries(client, "department=civil_affairs")
    health = summaries(client, "department=health")
    assert civil == ["民政的养老院"]
    # A deleted clinic's events, its creation too, are still 卫健's.
    assert sorted(health) == sorted(["已删除的诊所", "已删除的诊所", agreement_code, "卫健的医院"])
    assert "培训主办甲" not in civil + health
    page = client.get("/admin/audit?department=health").text
    assert "部门：卫生健康部门" in page and '<td class="row-region">卫生健康部门</td>' in page


def test_the_log_finds_a_records_events_by_type_and_number(app, client, make, admin):
    first = make.home(name="第一养老院")
    make.home(name="第二养老院")
    with app.app_context():
        institution = db.session.get(Institution, first)
        institutions.update(institution, {"beds_total": 120}, institution.version)
        db.session.commit()
    assert summaries(client, f"entity=institutions&record={first}") == ["第一养老院", "第一养老院"]
    assert summaries(client, f"entity=agreements&record={first}") == []


def test_the_log_finds_a_record_by_its_name_or_code(app, client, make, admin):
    home = make.home(name="茂南颐年养老院")
    make.home(name="电白福寿养老院")
    with app.app_context():
        code = db.session.get(Institution, home).code
    assert summaries(client, "q=颐年") == ["茂南颐年养老院"]
    assert summaries(client, f"q={code}") == ["茂南颐年养老院"]  # the summary holds the name, not the code
    assert summaries(client, "q=没有这家") == []


def test_the_log_pages_keep_the_filters(app, client, make, admin):
    for number in range(3):
        make.home(name=f"分页养老院{number}")
    make.medical(name="分页医院")
    first = client.get("/admin/audit?department=civil_affairs&per_page=2").text
    assert "共 3 条，第 1 / 2 页" in first
    assert "department=civil_affairs" in re.search(r'href="([^"]*page=2[^"]*)"', first).group(1)
    assert summaries(client, "department=civil_affairs&per_page=2&page=2") == ["分页养老院0"]


# --- export -------------------------------------------------------------------------------------------------


def exported(client, query: str = ""):
    response = client.get(f"/admin/audit/export?{query}")
    assert response.status_code == 200, response.text
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.data)).active


def test_the_export_holds_what_the_filters_let_through(app, client, make, admin):
    home = make.home(name="导出养老院")
    make.medical(name="不导出的医院")
    with app.app_context():
        institution = db.session.get(Institution, home)
        institutions.update(institution, {"beds_total": 150}, institution.version)
        db.session.commit()
    sheet = exported(client, "department=civil_affairs")
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("时间", "操作人", "操作", "部门", "记录类型", "记录编号", "摘要", "变更内容")
    assert [row[2:7] for row in rows[1:]] == [("修改", "民政部门", "机构", home, "导出养老院"),
                                             ("新增", "民政部门", "机构", home, "导出养老院")]
    assert rows[1][7] == "床位数: 100 → 150"
    assert all(isinstance(row[0], datetime) for row in rows[1:])
    assert rows[1][1] == "系统"  # saved by the service, with nobody logged in


def test_the_export_is_ready_to_read_and_print(app, client, make, admin):
    make.home(name="茂名市电白区社会福利中心附属颐养院")
    sheet = exported(client, "action=create")
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == sheet.dimensions
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.page_setup.orientation == "landscape" and str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert "操作日志" in sheet.oddHeader.center.text
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm"
    # 16 CJK characters take 32 cells: the 摘要 column fits the name, 记录编号 stays narrow.
    assert sheet.column_dimensions["G"].width >= 32
    assert sheet.column_dimensions["F"].width < 12


def test_the_export_writes_formula_like_text_as_text(app, client, make, admin):
    home = make.home(name="待改名养老院")
    with app.app_context():
        db.session.execute(update(Institution).where(Institution.id == home).values(name='=HYPERLINK("http://x","y")'))
        db.session.execute(update(AuditEvent).where(AuditEvent.entity_id == home)
                           .values(summary='=HYPERLINK("http://x","y")'))
        db.session.commit()
    sheet = exported(client)
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert "'=HYPERLINK(\"http://x\",\"y\")" in {c.value for c in cells}


def test_an_export_too_large_asks_for_narrower_filters(app, client, make, admin, monkeypatch):
    monkeypatch.setattr("registry.services.formats.audit_workbook.MAX_ROWS", 1)
    make.home()
    make.home()
    response = client.get("/admin/audit/export?action=create", follow_redirects=True)
    assert "超过一次导出的上限 1 条" in response.text
    assert response.request.path == "/admin/audit" and response.request.args["action"] == "create"


def test_the_export_link_carries_the_filters(client, admin):
    page = client.get(f"/admin/audit?department=health&date_from={date(2026, 1, 1).isoformat()}").text
    link = re.search(r'href="(/admin/audit/export[^"]*)"', page).group(1)
    assert "department=health" in link and "date_from=2026-01-01" in link


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit/export"])
def test_only_administrators_read_the_log(client, make, auth, path):
    make.user("civil_affairs", username="minzheng")
    auth.login("minzheng")
    assert client.get(path).status_code == 403

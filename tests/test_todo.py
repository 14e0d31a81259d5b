"""待办: hand-overs between departments, homes without an agreement, filters, operations and the workbook."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.conftest import table_rows
from tests.factories import GAOZHOU, MAONAN

LARGE = "200床及以上养老机构未内设合格医疗机构"
LARGE_ITEM = f"{LARGE}（卫生健康部门登记内设医疗机构）"
UNSIGNED_ITEM = "运营中的养老机构没有有效签约协议（卫生健康部门登记签约协议）"
OUTSIDE = "坐标不在所属区县范围内，请核对坐标或区县"
# The columns of the list: 日期, 所属区县, 事项, 负责部门, 记录, 操作.
DAY, REGION, ITEM, DEPARTMENT, RECORD, ACTIONS = range(6)


@pytest.fixture()
def login(make, auth):
    def login_as(role: str, region: str | None = None) -> None:
        username = f"{role}-{region or 'city'}"
        make.user(role, region, username=username)
        auth.logout()
        auth.login(username)

    return login_as


def todo(client, query: str = "") -> list[list[str]]:
    """The rows of the 待办 list (with `query` as its filters)."""
    response = client.get(f"/compliance/todo{query}")
    assert response.status_code == 200
    return table_rows(response.text)


def row_of(rows: list[list[str]], item: str, record: str) -> list[str] | None:
    found = [row for row in rows if row[ITEM] == item and row[RECORD] == record]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.fixture()
def large_home(make) -> int:
    """A 260-bed 茂南 home with an agreement and no in-house medical unit."""
    home = make.home(name="茂南大养老院", beds_total=260)
    make.agreement(home, make.medical(name="茂南签约医院"))
    return home


def test_the_large_home_tells_civil_affairs_that_health_registers_its_unit(client, login, large_home):
    login("civil_affairs", MAONAN)
    page = client.get(f"/institutions/{large_home}").text
    assert f"{LARGE}：卫生健康部门登记内设医疗机构，已列入茂南区卫生健康部门的待办。" in page
    row = row_of(todo(client), LARGE_ITEM, "茂南大养老院")
    # 民政 sees whose it is, and may open and edit the home, but not file the unit.
    assert row[DEPARTMENT] == "卫生健康部门" and row[ACTIONS] == "查看 编辑"


def test_health_staff_of_the_homes_region_find_it_in_their_todo_and_file_the_unit(client, login, large_home):
    login("health", MAONAN)
    response = client.get("/compliance/todo")
    row = row_of(table_rows(response.text), LARGE_ITEM, "茂南大养老院")
    assert row[REGION] == "茂南区" and row[DEPARTMENT] == "卫生健康部门"
    assert row[ACTIONS] == "查看 登记内设医疗机构"
    assert f'href="/institutions/new?kind=medical&amp;host={large_home}"' in response.text
    assert client.get(f"/institutions/new?kind=medical&host={large_home}").status_code == 200

    login("health", GAOZHOU)
    assert row_of(todo(client), LARGE_ITEM, "茂南大养老院") is None


def test_the_item_is_gone_once_health_files_a_qualifying_unit(client, login, make, large_home):
    login("health", MAONAN)
    make.medical(host=large_home, medical_type="医务室", name="茂南大养老院医务室")
    assert row_of(todo(client), LARGE_ITEM, "茂南大养老院") is None
    assert LARGE not in client.get(f"/institutions/{large_home}").text


def test_operating_homes_without_an_active_agreement_are_listed_since_their_last_one_ended(client, login, make):
    today = date.today()
    hospital = make.medical(name="签约医院")
    make.agreement(make.home(name="有效签约养老院"), hospital)
    make.home(name="从未签约养老院", opened_on=date(2021, 3, 1))
    expired = make.home(name="协议到期养老院")
    make.agreement(expired, hospital, valid_from=date(2021, 1, 1), valid_to=date(2023, 6, 30))
    make.agreement(make.home(name="停业养老院", closed_on=date(2023, 1, 1)), hospital,
                   valid_to=date(2022, 12, 31))
    ended_early = make.home(name="提前终止养老院")
    make.agreement(ended_early, hospital, terminated_on=date(2024, 2, 1))
    waiting = make.home(name="协议未生效养老院", opened_on=date(2022, 5, 1))
    make.agreement(waiting, hospital, valid_from=today + timedelta(days=30), valid_to=today + timedelta(days=400),
                   signed_on=today)
    login("health")
    rows = todo(client)
    listed = {row[RECORD]: row[DAY] for row in rows if row[ITEM] == UNSIGNED_ITEM}
    assert listed == {"从未签约养老院": "2021-03-01", "协议到期养老院": "2023-07-01",
                      "提前终止养老院": "2024-02-01", "协议未生效养老院": "2022-05-01"}
    # The same homes as the 签约率 shortfall behind the dashboard's number.
    drill = client.get(f"/compliance/agreement_coverage/city?as_of={today}&missing=1").text
    assert sorted(listed) == sorted(row[1] for row in table_rows(drill))
    assert all(row[DEPARTMENT] == "卫生健康部门" for row in rows if row[ITEM] == UNSIGNED_ITEM)
    assert row_of(rows, UNSIGNED_ITEM, "从未签约养老院")[ACTIONS] == "查看 登记签约协议"


@pytest.fixture()
def mixed(make) -> None:
    """茂南: a large home without a unit, a home placed in 高州 by its coordinates; 高州: a home, unsigned."""
    hospital = make.medical(name="茂南医院")
    make.agreement(make.home(name="茂南大养老院", beds_total=300), hospital)
    make.agreement(make.home(name="坐标在高州的养老院", lat=21.92, lon=110.85), hospital)
    make.home(name="高州未签约养老院", region=GAOZHOU)


@pytest.mark.parametrize(("query", "expected"), [
    ("", {(LARGE_ITEM, "茂南大养老院"), (OUTSIDE, "坐标在高州的养老院"), (UNSIGNED_ITEM, "高州未签约养老院")}),
    ("?department=civil_affairs", {(OUTSIDE, "坐标在高州的养老院")}),
    ("?department=health", {(LARGE_ITEM, "茂南大养老院"), (UNSIGNED_ITEM, "高州未签约养老院")}),
    (f"?region={GAOZHOU}", {(UNSIGNED_ITEM, "高州未签约养老院")}),
    ("?kind=large_home_without_unit", {(LARGE_ITEM, "茂南大养老院")}),
    (f"?department=health&region={MAONAN}", {(LARGE_ITEM, "茂南大养老院")}),
    ("?kind=outside_region&department=health", set()),
    ("?kind=nonsense&department=nobody",  # unknown values are ignored
     {(LARGE_ITEM, "茂南大养老院"), (OUTSIDE, "坐标在高州的养老院"), (UNSIGNED_ITEM, "高州未签约养老院")}),
])
def test_the_list_filters_by_department_region_and_kind(client, login, mixed, query, expected):
    login("admin")
    assert {(row[ITEM], row[RECORD]) for row in todo(client, query)} == expected


def test_a_district_user_chooses_only_their_own_region(client, login, mixed):
    login("civil_affairs", MAONAN)
    page = client.get("/compliance/todo").text
    region_select = page[page.index('id="region"'):page.index("</select>", page.index('id="region"'))]
    assert "茂南区" in region_select and "高州市" not in region_select and "全部" not in region_select
    assert client.get(f"/compliance/todo?region={GAOZHOU}").status_code == 404
    assert client.get(f"/compliance/todo.xlsx?region={GAOZHOU}").status_code == 404


@pytest.mark.parametrize(("role", "large", "outside"), [
    ("civil_affairs", "查看 编辑", "查看 编辑"),
    ("health", "查看 登记内设医疗机构", "查看"),
    ("district_official", "查看", "查看"),
    ("admin", "查看 编辑 登记内设医疗机构", "查看 编辑"),
])
def test_the_operations_follow_the_users_rights(client, login, mixed, role, large, outside):
    login(role, MAONAN if role == "district_official" else None)
    rows = todo(client)
    assert row_of(rows, LARGE_ITEM, "茂南大养老院")[ACTIONS] == large
    assert row_of(rows, OUTSIDE, "坐标在高州的养老院")[ACTIONS] == outside


def test_an_agreement_item_is_edited_by_health_only(client, login, make):
    home = make.home(name="将到期养老院")
    make.agreement(home, make.medical(name="将到期医院"), valid_to=date.today() + timedelta(days=20))
    item = "签约协议将在60天内到期"
    login("health")
    row = [row for row in todo(client) if row[ITEM] == item][0]
    assert row[DEPARTMENT] == "卫生健康部门" and row[ACTIONS] == "查看 编辑"
    login("civil_affairs")
    assert [row[ACTIONS] for row in todo(client) if row[ITEM] == item] == ["查看"]


def test_the_list_exports_to_a_workbook_ready_to_print(client, login, mixed):
    login("admin")
    response = client.get("/compliance/todo.xlsx?department=health")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("日期", "所属区县", "事项", "负责部门", "记录编号", "记录名称", "距离（公里）")
    assert {(r[2], r[3], r[5]) for r in rows[1:]} == {
        (LARGE_ITEM, "卫生健康部门", "茂南大养老院"), (UNSIGNED_ITEM, "卫生健康部门", "高州未签约养老院")}
    assert all(isinstance(r[0], datetime) for r in rows[1:])  # dates are date cells
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2" and sheet.print_title_rows == "$1:$1"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    # Columns fit their content, a Chinese character counting as two: 卫生健康部门 is 12 wide, a date 10.
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCD"}
    assert widths == {"A": 12, "B": 10, "C": 60, "D": 14}
    assert sheet["C2"].alignment.wrap_text  # longer items wrap within the widest column


def test_the_workbook_lists_what_the_page_lists(client, login, mixed):
    login("civil_affairs", MAONAN)
    page = {(row[ITEM], row[RECORD]) for row in todo(client, "?kind=outside_region")}
    sheet = load_workbook(BytesIO(client.get("/compliance/todo.xlsx?kind=outside_region").data)).active
    assert {(r[2], r[5]) for r in sheet.iter_rows(min_row=2, values_only=True)} == page == {
        (OUTSIDE, "坐标在高州的养老院")}

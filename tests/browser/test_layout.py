"""The layout (issue 13): the left menu per role at 1366 px and on a phone, in Chinese and English; breadcrumbs;
the lists' 操作 column and their phone rows; no table scrolling sideways at 1366 px.

Nothing here changes the shared demo register: the journeys only read and navigate.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import PHONE, SCREENSHOTS, WIDE, login, screenshots  # noqa: E402
from tests.browser.test_pages import chinese_chrome  # noqa: E402
from tests.browser.test_review_journeys import switch_user  # noqa: E402

REGISTER = ["首页", "养老机构", "医疗卫生机构", "签约协议", "培训", "指标", "上报", "待办", "地图"]
ADMINISTRATION = ["用户管理", "目标管理", "接口令牌", "操作日志"]
MENUS = {  # each demo role's entries, in order
    "admin": [*REGISTER, "导入导出", "审核", *ADMINISTRATION, "使用说明"],
    "minzheng": [*REGISTER, "导入导出", "审核", "使用说明"],
    "weijian-gaozhou": [*REGISTER, "导入导出", "审核", "使用说明"],
    "lingdao-maonan": [*REGISTER, "审核", "使用说明"],
}
ENGLISH = ["Home", "Elder-care institutions", "Medical institutions", "Care agreements", "Training", "Indicators",
           "Period reports", "To-do", "Map", "Import & export", "Review", "Users", "Targets", "API tokens", "Audit log",
           "Help"]


def menu(page):
    return page.get_by_role("navigation", name=re.compile("^(主菜单|Main menu)$"))


def entries(page) -> list[str]:
    """The menu's entries as read, without the counts of work waiting."""
    return [re.sub(r"\s+\d+\s.*$", "", text.strip(), flags=re.S)
            for text in menu(page).get_by_role("link").all_inner_texts()]


def crumbs(page):
    """The breadcrumbs' steps (the › between them is drawn by CSS)."""
    return page.get_by_role("navigation", name=re.compile("^(位置|Breadcrumb)$")).get_by_role("listitem")


def toggle(page):
    return page.locator("header button[aria-controls='app-menu']")


def no_sideways_tables(page) -> list[str]:
    """Tables (or their boxes) wider than the space they have."""
    return page.evaluate("""() => [...document.querySelectorAll('.table-responsive, table')]
        .filter(box => box.scrollWidth > box.clientWidth + 1)
        .map(box => location.pathname + ': ' + (box.querySelector('caption') || box).textContent.trim().slice(0, 40))""")


@pytest.mark.parametrize("username", list(MENUS))
def test_each_role_has_its_own_menu_beside_the_page_and_folded_on_a_phone(page, username):
    login(page, username)
    expect(menu(page)).to_be_visible()
    assert entries(page) == MENUS[username]
    # One header row at 1366 px: the menu is a column beside the page, not a wrapping bar.
    assert page.locator("header").bounding_box()["height"] < 64
    assert menu(page).bounding_box()["x"] == 0
    assert page.locator("main").bounding_box()["x"] >= menu(page).bounding_box()["width"]
    menu(page).get_by_role("link", name="养老机构").click()
    expect(crumbs(page)).to_have_text(["首页", "登记", "养老机构"])
    expect(menu(page).locator("a[aria-current=page]")).to_contain_text("养老机构")
    screenshots(page, f"menu-{username}")

    # On a phone the page comes first; the 菜单 button unfolds the menu over nothing else.
    page.set_viewport_size(PHONE)
    expect(menu(page)).to_be_hidden()
    expect(toggle(page)).to_have_attribute("aria-expanded", "false")
    assert page.get_by_role("heading", level=1).bounding_box()["y"] < 150
    toggle(page).click()
    expect(menu(page)).to_be_visible()
    expect(toggle(page)).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=SCREENSHOTS / f"menu-{username}-phone-open.png")
    menu(page).get_by_role("link", name="签约协议").click()
    expect(page).to_have_url(re.compile("/agreements$"))
    expect(menu(page)).to_be_hidden()  # a new page starts folded again
    page.set_viewport_size(WIDE)


def test_the_menu_counts_waiting_work_and_folds_away_at_1366_px(page):
    login(page, "admin")
    # The demo's pending requests and its submitted 高州市 report wait for the administrator.
    expect(menu(page).get_by_role("link", name="审核")).to_contain_text(re.compile(r"审核\s*\d+"))
    expect(menu(page).get_by_role("link", name="审核")).to_contain_text("项待处理")  # read out, not only a red dot
    width = page.locator("main").bounding_box()["width"]
    toggle(page).click()
    expect(menu(page)).to_be_hidden()
    expect(toggle(page)).to_have_attribute("aria-expanded", "false")
    assert page.locator("main").bounding_box()["width"] > width
    page.reload()  # it stays folded until unfolded
    expect(menu(page)).to_be_hidden()
    toggle(page).click()
    expect(menu(page)).to_be_visible()


def test_the_menu_in_english_has_no_chinese(page):
    login(page, "admin")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert entries(page) == ENGLISH
    expect(toggle(page)).to_contain_text("Menu")
    found = []
    for path in ("/", "/homes", "/compliance", "/review", "/reports/2022-Q4", "/admin/users"):
        page.goto(path)
        found += chinese_chrome(page)
    menu(page).get_by_role("link", name="Elder-care institutions").click()
    expect(crumbs(page)).to_have_text(["Home", "Registers", re.compile("^Elder-care institution")])  # the page title
    page.locator("tbody tr").first.get_by_role("link", name="Edit").click()
    expect(crumbs(page)).to_have_text(["Home", "Registers", "Elder-care institution", re.compile("."), "Edit"])
    found += chinese_chrome(page)
    screenshots(page, "menu-admin-en")
    page.set_viewport_size(PHONE)
    toggle(page).click()
    expect(menu(page)).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "menu-admin-en-phone-open.png")
    assert not found, "Chinese text in the English pages:\n" + "\n".join(dict.fromkeys(found))


def test_lists_offer_what_the_user_may_do_and_read_as_rows_on_a_phone(page):
    login(page, "minzheng")  # the city's 民政: edits homes, reads medical institutions
    page.goto("/homes")
    operating = page.get_by_role("row").filter(has=page.get_by_text("运营中", exact=True)).first
    expect(operating.locator("td.row-actions").get_by_role("link")).to_have_text(["查看", "编辑", "停业"])
    page.goto("/medical")
    expect(page.locator("tbody tr").first.locator("td.row-actions").get_by_role("link")).to_have_text(["查看"])
    page.goto("/homes")
    operating.locator("td.row-actions").get_by_role("link", name="停业").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("办理停业")
    expect(crumbs(page)).to_have_count(5)  # 首页 › 登记 › 养老机构 › the home › 办理停业
    page.go_back()

    # On a phone a row reads: the name, then its region, status and 操作; no list scrolls sideways.
    page.set_viewport_size(PHONE)
    for path, other, shown in (("/homes", 0, "row-region"), ("/agreements", 2, "row-region"),
                               ("/training", 3, "row-region"), ("/review?status=", 0, "row-region"),
                               ("/compliance/todo", None, "row-region"), ("/admin/audit", None, "row-status")):
        if path == "/admin/audit":
            switch_user(page, "admin")
        page.goto(path)
        row = page.locator("tbody tr").first
        expect(row.locator("td.row-name")).to_be_visible()
        expect(row.locator(f"td.{shown}")).to_be_visible()
        if other is not None:
            expect(row.locator("td").nth(other)).to_be_hidden()  # a column left to the record's page
        assert not no_sideways_tables(page), path
    screenshots(page, "list-rows-homes")


def test_no_table_scrolls_sideways_at_1366_px(page):
    """The dashboard's city and seven regions included, in both languages."""
    login(page, "admin")
    paths = ("/homes", "/medical", "/agreements", "/training", "/review?status=", "/compliance",
             "/compliance?as_of=2022-12-31", "/compliance/todo", "/reports", "/reports/2022-Q4",
             "/reports/2022-Q4/440902", "/admin/users", "/admin/targets", "/admin/audit")
    found = []
    for english in (False, True):
        if english:
            page.get_by_role("link", name="English").click()
        for path in paths:
            page.goto(path)
            found += no_sideways_tables(page)
    page.goto("/compliance?as_of=2022-12-31")
    screenshots(page, "dashboard-en")
    assert not found, "tables scrolling sideways at 1366 px:\n" + "\n".join(found)

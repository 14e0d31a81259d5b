"""The hand-over between departments: 民政 reads on a large home that 卫健 files its in-house unit, 卫健 finds the
home in its 待办 (filtered by department and kind), exports it, and opens the unit's form from the list.

The demo's 【示例】信宜玉都养老中心 has 300 beds and no in-house unit. Nothing is saved, so the shared demo register
stays as the other journeys expect it. The English journey finds controls by their structure (form fields,
addresses), so rewording the catalog does not break it.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import screenshots  # noqa: E402
from tests.browser.test_journeys import open_home  # noqa: E402
from tests.browser.test_pages import chinese_chrome  # noqa: E402
from tests.browser.test_review_journeys import switch_user  # noqa: E402

HOME = "【示例】信宜玉都养老中心"


def todo_row(page, name: str):
    return page.locator("table tbody tr").filter(has_text=name)


def test_handover_civil_affairs_is_told_and_health_files_the_unit_from_its_todo(page):
    switch_user(page, "minzheng")
    open_home(page, HOME)
    expect(page.get_by_role("status").filter(has_text="200床及以上养老机构未内设合格医疗机构")).to_contain_text(
        "卫生健康部门登记内设医疗机构，已列入信宜市卫生健康部门的待办。")
    home_url = page.url
    page.goto(home_url.replace("/institutions/", "/institutions/new?kind=medical&host="))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "医疗卫生机构（含养老机构内设医疗机构）由卫生健康部门登记和修改，请联系卫生健康部门。")
    page.goto("/compliance/todo")
    expect(todo_row(page, HOME).filter(has_text="200床")).to_contain_text("卫生健康部门")
    expect(todo_row(page, HOME).filter(has_text="200床").get_by_role("link", name="登记内设医疗机构")).to_have_count(0)

    switch_user(page, "weijian")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name=re.compile("^待办")).click()
    page.get_by_label("负责部门").select_option(label="卫生健康部门")
    page.get_by_label("事项类型").select_option(label="200床及以上养老机构未内设合格医疗机构")
    page.get_by_role("button", name="查询").click()
    row = todo_row(page, HOME)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text("卫生健康部门")
    expect(page.locator("table tbody tr").filter(has_not_text="卫生健康部门")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert re.fullmatch(r"待办事项-\d{4}-\d{2}-\d{2}\.xlsx", download.value.suggested_filename)
    screenshots(page, "handover-1")
    row.get_by_role("link", name="登记内设医疗机构").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"登记 {HOME} 的内设机构")
    expect(page.get_by_label("所属区县")).to_have_value("440983")


def test_handover_in_english(page):
    switch_user(page, "minzheng", english=True)
    page.goto("/compliance/todo?kind=large_home_without_unit")
    row = todo_row(page, HOME)
    expect(row.locator("td").nth(3)).to_have_text("the health bureau")
    row.locator("a[href^='/institutions/']").first.click()
    expect(page.get_by_role("status").filter(has_text="200+ beds")).to_contain_text("the health bureau")
    problems = chinese_chrome(page)
    page.goto(page.url.replace("/institutions/", "/institutions/new?kind=medical&host="))
    expect(page.get_by_role("heading", level=1)).to_contain_text("the health bureau")
    problems += chinese_chrome(page)

    switch_user(page, "weijian", english=True)
    page.goto("/compliance/todo")
    page.locator("select#department").select_option("health")
    page.locator("select#kind").select_option("large_home_without_unit")
    page.locator("form.filters button[type=submit]").click()
    row = todo_row(page, HOME)
    expect(row).to_have_count(1)
    problems += chinese_chrome(page)
    screenshots(page, "handover-en")
    row.locator("a[href*='kind=medical']").click()
    expect(page.locator("select#region_code")).to_have_value("440983")
    expect(page).to_have_url(re.compile(r"/institutions/new\?kind=medical&host=\d+$"))
    assert problems == []

"""使用说明 in the browser: each role's page, wide and on a phone, in Chinese and English; axe-core finds nothing
serious, the English pages have no Chinese chrome, and the header's 使用说明 link opens the user's own page."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import PHONE, WIDE, login, screenshots  # noqa: E402
from tests.browser.test_pages import axe_violations, chinese_chrome  # noqa: E402

# A demo login of each role, and the role's help page.
PEOPLE = {"admin": "admin", "minzheng-maonan": "civil_affairs", "weijian": "health",
          "lingdao-maonan": "district_official"}
LABELS = {"admin": "系统管理员", "civil_affairs": "民政工作人员", "health": "卫健工作人员", "district_official": "区县领导"}


@pytest.mark.parametrize("username", sorted(PEOPLE))
def test_the_menu_opens_the_users_own_help(page, username):
    login(page, username)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="使用说明").click()
    expect(page).to_have_url(re.compile(r"/help$"))
    expect(page.locator("main a[aria-current=page]")).to_have_text(LABELS[PEOPLE[username]])  # the role tab
    screenshots(page, f"help-{PEOPLE[username]}")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Help: ")
    screenshots(page, f"help-{PEOPLE[username]}-en")


def test_axe_finds_nothing_serious_on_the_help_pages(csp_free_page):
    page = csp_free_page
    login(page, "minzheng-maonan")
    found = []
    for size in (WIDE, PHONE):
        page.set_viewport_size(size)
        for role in sorted(set(PEOPLE.values())):
            page.goto(f"/help/{role}")
            found += axe_violations(page)
    page.set_viewport_size(WIDE)
    assert not found, "axe-core:\n" + "\n".join(found)


def test_the_english_help_has_no_chinese_chrome(page):
    login(page, "weijian-gaozhou")
    page.get_by_role("link", name="English").click()
    found = []
    for role in sorted(set(PEOPLE.values())):
        page.goto(f"/help/{role}")
        found += chinese_chrome(page)
    assert not found, "\n".join(found)

"""Issue 13's administration journeys: an administrator edits an account and resets its password (its holder
must change it at the next login), then finds those changes in the audit log by its filters and exports them.

The served demo register is shared by the whole browser session: each journey creates the account it edits
(the Chinese one in 化州市, the English one in 信宜市), so they pass in any order. The English journey finds
fields by their ids and buttons by their forms, and collects the Chinese left in each page's chrome.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import PHONE, WIDE, login, screenshots  # noqa: E402
from tests.browser.test_pages import axe_violations, chinese_chrome  # noqa: E402
from tests.browser.test_review_journeys import ChineseChrome, switch_user  # noqa: E402

FIRST_PASSWORD = "Orchard-lantern-harbour-31"
RESET_PASSWORD = "Kapok-ferry-window-58"
OWN_PASSWORD = "Lychee-monsoon-bridge-76"


def today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def user_row(page, username: str):
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=username, exact=True))


def create_account(page, username: str, full_name: str, role: str, region: str) -> None:
    """新建账号 through the form (fields by id, so it reads the same in either language)."""
    page.locator("a[href$='/admin/users']").first.click()
    page.locator("a[href$='/admin/users/new']").click()
    page.locator("#username").fill(username)
    page.locator("#full_name").fill(full_name)
    page.locator("#role").select_option(role)
    page.locator("#region_code").select_option(region)
    page.locator("#password").fill(FIRST_PASSWORD)
    page.locator("#confirm").fill(FIRST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(user_row(page, username)).to_have_count(1)


def change_own_password(page, current: str) -> None:
    """The forced 修改密码 page: the current password, the new one twice."""
    page.locator("#current").fill(current)
    page.locator("#password").fill(OWN_PASSWORD)
    page.locator("#confirm").fill(OWN_PASSWORD)
    page.locator("main form button[type=submit]").click()


def downloaded_rows(page, link, tmp_path) -> list[tuple]:
    from openpyxl import load_workbook

    with page.expect_download() as info:
        link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    sheet = load_workbook(path).active
    return list(sheet.iter_rows(values_only=True))


def test_an_administrator_edits_an_account_and_resets_its_password(page, tmp_path):
    username, name = "journey13-huazhou", "【测试】化州市民政局"
    login(page, "admin")
    create_account(page, username, name, "civil_affairs", "440982")
    row = user_row(page, username)
    expect(row).to_contain_text("民政工作人员")
    expect(row).to_contain_text("化州市")
    actions = row.get_by_role("cell").last  # 操作
    expect(actions.get_by_role("link", name="编辑")).to_be_visible()
    expect(actions.get_by_role("link", name="重置密码")).to_be_visible()
    expect(actions.get_by_role("button", name="停用")).to_be_visible()

    # 编辑: a district official without a district is refused next to 所属区县; what was typed stays.
    row.get_by_role("link", name="编辑").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"编辑账号 {username}")
    page.get_by_label("姓名或单位").fill("【测试】电白区领导")
    page.get_by_label("角色").select_option(label="区县领导")
    page.get_by_label("所属区县").select_option(label="（市级，不限区县）")
    page.get_by_role("button", name="保存").click()
    region = page.locator(".mb-3").filter(has=page.get_by_label("所属区县", exact=True))
    expect(region).to_contain_text("区县领导必须指定所属区县")
    expect(page.get_by_label("姓名或单位")).to_have_value("【测试】电白区领导")
    page.get_by_label("所属区县").select_option(label="电白区")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text(f"已保存账号 {username}")
    expect(row).to_contain_text("区县领导")
    expect(row).to_contain_text("电白区")
    expect(row).to_contain_text("【测试】电白区领导")

    # 重置密码: the strength rule holds here too.
    row.get_by_role("link", name="重置密码").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"重置密码：{username}")
    page.get_by_label("新密码", exact=True).fill("123456789012")
    page.get_by_label("确认新密码").fill("123456789012")
    page.get_by_role("button", name="重置密码").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("密码是连续的字母或数字")
    page.get_by_label("新密码", exact=True).fill(RESET_PASSWORD)
    page.get_by_label("确认新密码").fill(RESET_PASSWORD)
    page.get_by_role("button", name="重置密码").click()
    expect(page.get_by_role("status")).to_contain_text(f"已重置 {username} 的密码")
    screenshots(page, "admin-users")

    # The account's holder logs in with it and must change it before anything else.
    page.locator("header form[action$='/logout'] button").click()
    login(page, username, RESET_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("修改密码")
    expect(page.get_by_role("alert")).to_contain_text("请先修改管理员为您设置的初始密码")
    page.goto("/homes")
    expect(page.get_by_role("heading", level=1)).to_have_text("修改密码")
    screenshots(page, "admin-forced-password-change")
    change_own_password(page, RESET_PASSWORD)
    expect(page.get_by_role("status")).to_contain_text("密码已修改")
    expect(page.locator("header")).to_contain_text("区县领导 · 电白区")

    # The audit log: the reset, found by action and by the account's name, today, and exported as filtered.
    page.locator("header form[action$='/logout'] button").click()
    login(page, "admin")
    page.locator("a[href$='/admin/audit']").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("操作日志")
    page.get_by_label("开始日期").fill(today())
    page.get_by_label("结束日期").fill(today())
    page.get_by_label("操作", exact=True).select_option(label="重置密码")
    page.get_by_label("记录名称或编码").fill(username)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("link", name="操作：重置密码")).to_be_visible()  # the filter in use, as a chip
    entries = page.locator("tbody tr")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("admin")
    expect(entries.first).to_contain_text(username)

    page.get_by_label("操作", exact=True).select_option(label="修改")
    page.get_by_role("button", name="查询").click()
    edit = entries.filter(has_text="角色")
    expect(edit).to_contain_text("角色: 民政工作人员 → 区县领导")
    expect(edit).to_contain_text("所属区县: 化州市 → 电白区")

    # By the person who acted: only the account's holder's events.
    page.get_by_role("link", name="清除条件").click()
    page.get_by_label("操作人").select_option(label=f"{username}（【测试】电白区领导）")
    page.get_by_role("button", name="查询").click()
    expect(entries.filter(has_text="修改密码")).to_contain_text(username)  # the holder's own change
    assert set(entries.locator("td:nth-child(2)").all_inner_texts()) == {username}

    # By department: 卫健's agreements of the demo register, and exported with the same filters.
    page.get_by_role("link", name="清除条件").click()
    page.get_by_label("部门").select_option(label="卫生健康部门")
    page.get_by_label("记录类型").select_option(label="签约协议")
    page.get_by_role("button", name="查询").click()
    expect(entries.first).to_be_visible()
    assert set(entries.locator("td:nth-child(4)").all_inner_texts()) == {"卫生健康部门"}
    rows = downloaded_rows(page, page.get_by_role("link", name="导出 Excel"), tmp_path)
    assert rows[0] == ("时间", "操作人", "操作", "部门", "记录类型", "记录编号", "摘要", "变更内容")
    assert len(rows) > 1 and {(row[3], row[4]) for row in rows[1:]} == {("卫生健康部门", "签约协议")}
    screenshots(page, "admin-audit")


def test_an_administrator_edits_an_account_in_english(page, tmp_path):
    username = "journey13-xinyi"
    switch_user(page, "admin", english=True)
    found: list[str] = []
    create_account(page, username, "【测试】信宜市卫健局", "health", "440983")
    found += chinese_chrome(page)

    row = user_row(page, username)
    row.locator("a[href$='/edit']").click()
    page.locator("#role").select_option("district_official")
    page.locator("#region_code").select_option("")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#region_code-error")).to_be_visible()
    found += chinese_chrome(page)
    page.locator("#region_code").select_option("440981")
    page.locator("main form button[type=submit]").click()
    expect(row).to_contain_text("District official")
    expect(row).to_contain_text("Gaozhou")
    found += chinese_chrome(page)

    row.locator("a[href$='/password']").click()
    page.locator("#password").fill("short")
    page.locator("#confirm").fill("short")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#password-error")).to_be_visible()
    found += chinese_chrome(page)
    page.locator("#password").fill(RESET_PASSWORD)
    page.locator("#confirm").fill(RESET_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main > .alert-success")).to_contain_text(username)
    screenshots(page, "admin-users-en")

    # The holder's forced change, in English (the language outlives the logout).
    page.locator("header form[action$='/logout'] button").click()
    page.locator("#username").fill(username)
    page.locator("#password").fill(RESET_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/account/password")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    found += chinese_chrome(page)
    change_own_password(page, RESET_PASSWORD)
    expect(page.locator("header")).to_contain_text("Gaozhou")

    # The audit log's filters on a phone: the holder's own events, then the administrator's reset of them.
    switch_user(page, "admin", english=True)
    page.set_viewport_size(PHONE)
    page.goto("/admin/audit")
    found += chinese_chrome(page)
    page.locator("#date_from").fill(today())
    page.locator("#action").select_option("reset_password")
    page.locator("#q").fill(username)
    page.locator("form[role=search] button[type=submit]").click()
    entries = page.locator("tbody tr")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text(username)
    found += chinese_chrome(page)
    page.locator("#department").select_option("health")
    page.locator("#entity").select_option("agreements")
    page.locator("#action").select_option("")
    page.locator("#q").fill("")
    page.locator("form[role=search] button[type=submit]").click()
    expect(entries.first).to_be_visible()
    found += chinese_chrome(page)
    page.set_viewport_size(WIDE)
    rows = downloaded_rows(page, page.locator("a[href*='/admin/audit/export']"), tmp_path)
    assert len(rows) > 1
    assert not any(re.search(r"[\u4e00-\u9fff]", str(cell)) for cell in rows[0]), rows[0]  # an English header
    screenshots(page, "admin-audit-en")
    if found:
        raise ChineseChrome("Chinese text in the English pages:\n" + "\n".join(dict.fromkeys(found)))


def test_a_stale_save_shows_what_another_administrator_saved_meanwhile(page, browser, server):
    """Two administrators open one target's form; the second save is refused, showing the first one's change."""
    login(page, "admin")
    page.locator("a[href$='/admin/targets']").first.click()
    edit = page.get_by_role("link", name="编辑").last.get_attribute("href")  # a target no other journey edits
    page.goto(edit)
    expect(page.get_by_role("heading", level=1)).to_have_text("编辑目标")

    colleague_context = browser.new_context(base_url=server, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        colleague = colleague_context.new_page()
        login(colleague, "admin")
        colleague.goto(edit)
        colleague.get_by_label("说明").fill("【测试】同事先保存的说明")
        colleague.get_by_role("button", name="保存").click()
        expect(colleague.get_by_role("status")).to_contain_text("已保存目标")
    finally:
        colleague_context.close()

    page.get_by_label("说明").fill("【测试】我后保存的说明")
    page.get_by_role("button", name="保存").click()
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("该记录已被他人修改，您的修改未保存")
    expect(notice).to_contain_text("您打开此表单之后的修改")
    expect(notice).to_contain_text(re.compile(r"系统管理员（示例） 于 \d{4}-\d\d-\d\d \d\d:\d\d 修改"))
    expect(notice).to_contain_text("→ 【测试】同事先保存的说明")
    expect(page.get_by_label("说明")).to_have_value("【测试】我后保存的说明")  # what was typed stays
    screenshots(page, "admin-stale-edit")
    notice.get_by_role("link", name="查看最新版本").click()
    expect(page.get_by_label("说明")).to_have_value("【测试】同事先保存的说明")
    page.get_by_label("说明").fill("【测试】我后保存的说明")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("已保存目标")


def test_axe_finds_nothing_serious_on_the_administration_pages(csp_free_page):
    """The users list with its 操作 column, an account's edit form with its errors, 重置密码, the filtered log."""
    page = csp_free_page
    login(page, "admin")
    found = []
    page.goto("/admin/users")
    found += axe_violations(page)
    row = user_row(page, "weijian")
    edit, reset = (row.locator(f"a[href$='/{action}']").get_attribute("href") for action in ("edit", "password"))
    page.goto(edit)
    found += axe_violations(page)
    page.locator("#role").select_option("district_official")
    page.locator("#region_code").select_option("")
    page.locator("main form button[type=submit]").click()  # refused: nothing is saved
    expect(page.locator("#region_code-error")).to_be_visible()
    found += axe_violations(page)
    page.goto(reset)
    found += axe_violations(page)
    page.goto("/admin/audit?department=health&action=create&date_from=2020-01-01")
    found += axe_violations(page)
    page.set_viewport_size(PHONE)
    found += axe_violations(page)
    page.set_viewport_size(WIDE)
    assert not found, "axe-core:\n" + "\n".join(found)

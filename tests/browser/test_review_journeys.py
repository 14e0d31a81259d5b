"""Issue 12's journeys: a district's indicator edit approved by the city bureau, and a district's period report
returned, corrected, resubmitted and approved; each also in English.

The served demo register is shared by the whole browser session, so each journey keeps to its own records and
works whichever runs first: the Chinese ones edit 【示例】茂南颐康养老院 and decide 高州市's 2022-Q4 report (submitted
in the demo); the English ones edit 【示例】茂南中医院颐养中心 and take 高州市's 2023-Q4 report from its first submission.
The English journeys find buttons and links by their structure (form actions, addresses), so that rewording the
catalog does not break them, and collect the Chinese left in each page's chrome to fail on at the end.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import login, screenshots  # noqa: E402
from tests.browser.test_journeys import open_home  # noqa: E402
from tests.browser.test_pages import CJK, MARKED, chinese_chrome  # noqa: E402

HOME = "【示例】茂南颐康养老院"  # 260 beds in the demo
HOME_EN = "【示例】茂南中医院颐养中心"  # 80 beds
HOSPITAL = "【示例】高州市人民示范医院"
HOSPITAL_EN = "【示例】高州长寿养护院护理站"
GAOZHOU = "440981"
TITLE = "茂名市医养结合工作指标上报表"
class ChineseChrome(AssertionError):
    """Chinese words the English pages still show: the catalog's gap, not a broken journey."""


def switch_user(page, username: str, *, english: bool = False) -> None:
    """Log out with the header's button (when someone is logged in) and log in, in Chinese; then in English if asked."""
    logout = page.locator("header form[action$='/logout'] button")
    if logout.count():
        logout.click()
        page.wait_for_url("**/login**")
        if page.locator("html").get_attribute("lang") == "en":
            page.get_by_role("link", name="中文").click()
    login(page, username)
    if english:
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def record_field(page, label: str):
    """The value (dd) of a record page's field."""
    return page.locator("dl.record-fields > dt").filter(has_text=re.compile(f"^{label}$")).locator(
        "xpath=following-sibling::dd[1]")


def dialogs(page) -> list[str]:
    """The confirm() questions the page asks (the `page` fixture accepts them)."""
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))
    return asked


def decide(page, button) -> None:
    """Press a report's 审核通过 or 退回 and see it done (a success message, not a refusal)."""
    button.click()
    flash = page.locator("main > .alert").first  # the flashed message comes first
    expect(flash).to_have_class(re.compile("alert-success"))


def saved_workbook(page, link, tmp_path):
    """The workbook a link downloads, opened."""
    from openpyxl import load_workbook

    with page.expect_download() as info:
        link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return load_workbook(path)


# --- A district's edit of an indicator field waits for the city bureau ------------------------------------

def test_a_district_bed_count_waits_for_the_city_civil_affairs_bureau_and_the_phone_does_not(page):
    asked = dialogs(page)
    switch_user(page, "minzheng-maonan")
    open_home(page, HOME)
    expect(record_field(page, "床位数")).to_contain_text(re.compile(r"^260（"))
    page.get_by_role("link", name="编辑", exact=True).click()
    page.get_by_label("床位数", exact=True).fill("280")
    page.get_by_label("联系电话").fill("0668-2261280")
    page.get_by_role("button", name="保存").click()

    # The phone is saved; the beds wait, shown on the record as 待审核 with the difference.
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME)
    expect(page.get_by_role("status").filter(has_text="影响指标的修改已提交市民政局审核")).to_contain_text(
        "其他修改已保存")
    pending = page.get_by_role("status").filter(has_text="待审核")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("床位数：260 → 280")
    expect(record_field(page, "床位数")).to_contain_text(re.compile(r"^260（"))
    expect(record_field(page, "联系电话")).to_have_text("0668-2261280")
    screenshots(page, "review-1-submitted")

    # The city bureau: the bell counts what waits, the queue lists the request.
    switch_user(page, "minzheng")
    bell = page.get_by_role("banner").get_by_role("link", name=re.compile("^提醒"))
    expect(bell.locator(".badge")).to_have_text(re.compile(r"^[1-9]\d*$"))
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提醒")
    page.get_by_role("link", name="待我审核的变更申请").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("变更审核")
    row = page.get_by_role("row").filter(has_text=HOME).filter(has_text="待审核")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("茂南区")
    screenshots(page, "review-1-queue")
    row.get_by_role("link", name="审核", exact=True).click()

    # The request: what it changes (not the phone, saved already) and what it would move.
    expect(page.get_by_role("heading", level=1)).to_contain_text(HOME)
    changes = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="申请改为"))
    expect(changes.get_by_role("columnheader")).to_have_text(["栏目", "原值", "申请改为"])
    expect(changes.locator("tbody tr").filter(has_text="床位数").get_by_role("cell")).to_have_text(
        ["床位数", "260", "280"])
    expect(changes).not_to_contain_text("联系电话")
    expect(page.get_by_role("heading", name=re.compile("^影响的指标"))).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="已过期")).to_have_count(0)
    screenshots(page, "review-1-request")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_role("status").filter(has_text="已审核通过")).to_contain_text(HOME)
    assert any("确认审核通过" in question for question in asked), asked

    # Back in the district: the beds count now, nothing waits, the history says who did what.
    switch_user(page, "minzheng-maonan")
    open_home(page, HOME)
    expect(record_field(page, "床位数")).to_contain_text(re.compile(r"^280（"))
    expect(page.get_by_role("status").filter(has_text="待审核")).to_have_count(0)
    history = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="变更内容"))
    actions = history.locator("tbody tr td:nth-child(3)")
    expect(actions.filter(has_text="提交审核")).not_to_have_count(0)
    expect(actions.filter(has_text="审核通过")).not_to_have_count(0)
    screenshots(page, "review-1-applied")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="审核").click()
    page.get_by_role("link", name="我的申请").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的申请")
    mine = page.get_by_role("row").filter(has_text=HOME).filter(has_text="床位数")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("已通过")
    screenshots(page, "review-1-mine")


# --- A district's period report returned, corrected, resubmitted and approved -----------------------------

def test_a_returned_report_is_corrected_resubmitted_and_approved(page, tmp_path):
    asked = dialogs(page)
    switch_user(page, "weijian")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="上报").click()
    page.get_by_role("row").filter(has_text="2022年第四季度").get_by_role("link", name="查看").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2022年第四季度 上报情况")
    expect(page.get_by_text("1 / 7 个区县已审核")).to_be_visible()
    gaozhou = page.get_by_role("row").filter(has=page.get_by_role("cell", name="高州市", exact=True))
    expect(gaozhou.get_by_role("cell").nth(1)).to_have_text("已上报")
    screenshots(page, "review-2-period")
    gaozhou.get_by_role("link", name="查看").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2022年第四季度 高州市 医养结合指标上报")

    # 退回 needs a reason: the browser asks for it, and so does the server behind it.
    returning = page.locator("form").filter(has=page.get_by_role("button", name="退回"))
    reason = returning.get_by_label("退回原因")
    returning.get_by_role("button", name="退回").click()
    assert reason.evaluate("field => field.validity.valueMissing"), "an empty reason was sent"
    returning.evaluate("form => { form.noValidate = true; }")  # a browser that does not check
    returning.get_by_role("button", name="退回").click()
    expect(page.get_by_role("alert").filter(has_text="请填写退回原因")).to_be_visible()
    returning.get_by_label("退回原因").fill("高州市人民示范医院的联系电话有误，请核实后重新上报。")
    decide(page, returning.get_by_role("button", name="退回"))
    expect(page.get_by_role("status").filter(has_text="已退回2022年第四季度 高州市 的上报数据")).to_be_visible()
    screenshots(page, "review-2-returned")

    # The district reads why, corrects the register and reports again: version 2.
    switch_user(page, "weijian-gaozhou")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="上报").click()
    page.get_by_role("row").filter(has_text="2022年第四季度").get_by_role("link", name="查看").click()
    expect(page.locator("h1 + .badge")).to_have_text("已退回")
    expect(page.get_by_role("alert")).to_contain_text("第 1 版已于")
    expect(page.get_by_role("alert")).to_contain_text("联系电话有误")
    report = page.url
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="医疗卫生机构").click()
    page.get_by_label("搜索").fill(HOSPITAL)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name=HOSPITAL, exact=True).click()
    page.get_by_role("link", name="编辑", exact=True).click()
    page.get_by_label("联系电话").fill("0668-6621120")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status").filter(has_text="已保存修改")).to_be_visible()
    expect(record_field(page, "联系电话")).to_have_text("0668-6621120")
    page.goto(report)
    page.get_by_role("button", name="重新上报").click()
    expect(page.get_by_role("status").filter(has_text="第 2 版")).to_contain_text("等待市卫生健康局审核")
    assert any("确认上报2022年第四季度 高州市 的数据" in question for question in asked), asked
    screenshots(page, "review-2-resubmitted")

    # The city approves version 2.
    switch_user(page, "weijian")
    page.goto(report)
    expect(page.get_by_role("heading", name="第 2 版上报数据")).to_be_visible()
    decide(page, page.get_by_role("button", name="审核通过"))
    expect(page.get_by_role("status").filter(has_text="已审核通过2022年第四季度 高州市 的上报数据")).to_be_visible()
    assert any("确认审核通过？通过后计入全市汇总" in question for question in asked), asked
    versions = page.get_by_role("table", name="版本记录")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions.locator("tbody tr").nth(0).get_by_role("cell").nth(0)).to_have_text("2")
    expect(versions.locator("tbody tr").nth(0).get_by_role("cell").nth(1)).to_have_text("已审核")
    expect(versions.locator("tbody tr").nth(1).get_by_role("cell").nth(0)).to_have_text("1")
    expect(versions.locator("tbody tr").nth(1).get_by_role("cell").nth(1)).to_have_text("已退回")
    expect(versions.locator("tbody tr").nth(1)).to_contain_text("联系电话有误")
    screenshots(page, "review-2-approved")

    # The workbook sent upward, and the page to print.
    workbook = saved_workbook(page, page.get_by_role("link", name="导出 Excel"), tmp_path)
    form = workbook.worksheets[0]
    assert form["A1"].value == TITLE, form["A1"].value
    assert form["A2"].value == "填报单位：高州市", form["A2"].value
    workbook.close()
    page.get_by_role("link", name="打印").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_text("填报单位：高州市")).to_be_visible()
    expect(page.get_by_text("第 2 版", exact=True)).to_be_visible()
    screenshots(page, "review-2-print")

    # The city's view of the period counts it.
    page.goto(report.rsplit("/", 1)[0])
    expect(page.get_by_text("2 / 7 个区县已审核")).to_be_visible()
    expect(page.get_by_role("row").filter(has=page.get_by_role("cell", name="高州市", exact=True))
           .get_by_role("cell").nth(1)).to_have_text("已审核")
    screenshots(page, "review-2-period-approved")


# --- In English: the same journeys on their own records, no Chinese left in the pages' chrome -------------

def in_menu(page, path: str):
    """A main-menu link, by its address (its words are the catalog's)."""
    return page.get_by_role("navigation").first.locator(f"a[href='{path}']")


def chrome_check(found: list[str]) -> None:
    """Fail, as ChineseChrome, when the pages left Chinese in their chrome."""
    if found:
        raise ChineseChrome("Chinese text in the English pages:\n" + "\n".join(dict.fromkeys(found)))


def test_in_english_a_district_bed_count_waits_for_the_city_civil_affairs_bureau(page):
    """【示例】茂南中医院颐养中心's beds, 80 → 90."""
    found: list[str] = []
    switch_user(page, "minzheng-maonan", english=True)
    in_menu(page, "/homes").click()
    page.get_by_label("Search").fill(HOME_EN)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=HOME_EN, exact=True).click()
    expect(record_field(page, "Beds")).to_contain_text(re.compile(r"^80\b"))
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Beds", exact=True).fill("90")
    page.get_by_label("Phone").fill("0668-2260090")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME_EN)
    pending = page.locator(".alert").filter(has=page.locator(".badge.text-bg-warning"))
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("80 → 90")
    expect(record_field(page, "Beds")).to_contain_text(re.compile(r"^80\b"))
    expect(record_field(page, "Phone")).to_have_text("0668-2260090")
    found += chinese_chrome(page)
    screenshots(page, "review-en-1-submitted")

    switch_user(page, "minzheng", english=True)
    bell = page.get_by_role("banner").locator("a[href='/notifications']")
    expect(bell.locator(".badge")).to_have_text(re.compile(r"^[1-9]\d*$"))
    bell.click()
    found += chinese_chrome(page)
    page.locator("main a[href='/review']").click()
    row = page.get_by_role("row").filter(has_text=HOME_EN).filter(has=page.locator(".badge.text-bg-warning"))
    expect(row).to_have_count(1)
    found += chinese_chrome(page)
    screenshots(page, "review-en-1-queue")
    row.locator("a[href^='/review/']").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(HOME_EN)
    changes = page.locator("main table").first.locator("tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.get_by_role("cell")).to_have_text(["Beds", "80", "90"])
    found += chinese_chrome(page)
    screenshots(page, "review-en-1-request")
    page.locator("form[action$='/approve'] button[type=submit]").click()
    expect(page.locator("main > .alert-success")).to_contain_text(HOME_EN)
    found += chinese_chrome(page)

    switch_user(page, "minzheng-maonan", english=True)
    in_menu(page, "/homes").click()
    page.get_by_label("Search").fill(HOME_EN)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=HOME_EN, exact=True).click()
    expect(record_field(page, "Beds")).to_contain_text(re.compile(r"^90\b"))
    expect(page.locator(".alert").filter(has=page.locator(".badge.text-bg-warning"))).to_have_count(0)
    history = page.get_by_role("table").filter(has=page.locator("a[href^='/review/']"))
    expect(history.locator("a[href^='/review/']").nth(1)).to_be_visible()  # submitted, approved
    found += chinese_chrome(page)
    in_menu(page, "/review").click()
    page.locator("main a[href='/review/mine']").first.click()
    mine = page.get_by_role("row").filter(has_text=HOME_EN)
    expect(mine).to_have_count(1)
    expect(mine.locator(".badge.text-bg-success")).to_have_count(1)
    found += chinese_chrome(page)
    screenshots(page, "review-en-1-mine")
    chrome_check(found)


def test_in_english_a_returned_report_is_corrected_resubmitted_and_approved(page, tmp_path):
    """2023-Q4, which the demo leaves unreported: 高州市 reports first."""
    found: list[str] = []
    report = f"/reports/2023-Q4/{GAOZHOU}"
    versions = page.locator("main table").last.locator("tbody tr")
    switch_user(page, "weijian-gaozhou", english=True)
    in_menu(page, "/reports").click()
    found += chinese_chrome(page)
    page.locator(f"main a[href='{report}']").click()
    found += chinese_chrome(page)
    page.locator("form[action$='/submit'] button[type=submit]").click()
    expect(page.locator("main > .alert-success")).to_be_visible()
    expect(versions).to_have_count(1)
    found += chinese_chrome(page)

    switch_user(page, "weijian", english=True)
    in_menu(page, "/reports").click()
    found += chinese_chrome(page)
    page.locator("main a[href='/reports/2023-Q4']").click()
    expect(page.get_by_text(re.compile(r"^0\D+7\b"))).to_be_visible()
    found += chinese_chrome(page)
    screenshots(page, "review-en-2-period")
    page.locator(f"main a[href='{report}']").click()
    returning = page.locator("form[action$='/return']")
    returning.locator("button[type=submit]").click()
    assert returning.locator("textarea").evaluate("field => field.validity.valueMissing")
    returning.evaluate("form => { form.noValidate = true; }")
    returning.locator("button[type=submit]").click()
    expect(page.locator("main > .alert-danger")).to_be_visible()
    found += chinese_chrome(page)
    returning.locator("textarea").fill("The phone number of the nursing station is wrong.")
    decide(page, returning.locator("button[type=submit]"))
    found += chinese_chrome(page)

    switch_user(page, "weijian-gaozhou", english=True)
    page.goto(report)
    expect(page.locator("main .alert-danger")).to_contain_text("The phone number of the nursing station is wrong.")
    found += chinese_chrome(page)
    in_menu(page, "/medical").click()
    page.get_by_label("Search").fill(HOSPITAL_EN)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=HOSPITAL_EN, exact=True).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Phone").fill("0668-6620023")
    page.get_by_role("button", name="Save").click()
    expect(record_field(page, "Phone")).to_have_text("0668-6620023")
    page.goto(report)
    page.locator("form[action$='/submit'] button[type=submit]").click()
    expect(page.locator("main > .alert-success")).to_be_visible()
    expect(versions).to_have_count(2)
    found += chinese_chrome(page)

    switch_user(page, "weijian", english=True)
    page.goto(report)
    decide(page, page.locator("form[action$='/approve'] button[type=submit]"))
    expect(versions.nth(0).locator(".badge.text-bg-success")).to_have_count(1)
    expect(versions.nth(1).locator(".badge.text-bg-danger")).to_have_count(1)
    found += chinese_chrome(page)
    screenshots(page, "review-en-2-approved")
    workbook = saved_workbook(page, page.locator("main a[href*='/report.xlsx']"), tmp_path)
    form = workbook.worksheets[0]
    found += [f"report.xlsx {cell}: {form[cell].value!r}" for cell in ("A1", "A2")
              if CJK.search(MARKED.sub("", str(form[cell].value)))]
    workbook.close()
    page.locator("main a[href*='/print']").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    found += chinese_chrome(page)
    page.goto("/reports/2023-Q4")
    expect(page.get_by_text(re.compile(r"^1\D+7\b"))).to_be_visible()
    found += chinese_chrome(page)
    chrome_check(found)

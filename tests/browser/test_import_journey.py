"""Issue 11's import journey: a bureau's own roster, one column's meaning changed, a bad cell fixed on the report.

The served app runs each check and import on its worker thread (JOBS_WORKER="thread"; the server inherits
JOBS_IMMEDIATE=1 only from the environment): the progress page refreshes every 2 s until the report
replaces it, so the steps that start a job wait for the next page longer than the default 10 s.
"""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import ROSTER, login  # noqa: E402

# Marked 【测试】, as every record the browser tests create: test_pages reads the first home's page in English.
HOME_FINE = "【测试】化州市笪桥镇敬老院"
HOME_BAD_DAY = "【测试】化州市杨梅镇敬老院"
CONTACT = "【测试】李敏"
TITLE = "化州市养老机构花名册"
HEADER = ("序号", "单位名称", "县区", "成立时间", "核定床位", "对接人", "备注")
JOB_TIMEOUT = 30_000  # ms: the worker thread's next poll of the queue, then the 2-s refresh


def roster(path) -> None:
    """化州's roster as the bureau keeps it: a title row, its own headers, 成立时间 without a day on one row."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(HEADER)
    sheet.append([1, HOME_FINE, "化州市", "2015年6月1日", 40, CONTACT, None])
    sheet.append([2, HOME_BAD_DAY, "化州市", "2017年3月", 60, CONTACT, None])
    workbook.save(path)


def upload_roster(page, path) -> None:
    """数据导入 → the roster, its homes declared 养老机构 → the mapping page."""
    page.goto("/data/import")
    page.locator("main input[type=file]").set_input_files(path)
    page.locator("main select[name=kind]").select_option("eldercare")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/mapping")


def test_a_bureau_roster_is_mapped_corrected_on_the_report_and_imported(page, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / ROSTER
    roster(path)
    login(page, "minzheng")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="导入导出").click()
    page.get_by_label("选择文件").set_input_files(path)
    page.get_by_label("机构类别").select_option(label="养老机构")
    page.get_by_role("button", name="上传并检查").click()

    # Each column with its proposed field; 对接人 is no synonym of anything and is proposed 不导入.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"确认列的含义：{ROSTER}")
    expect(page.get_by_label("单位名称")).to_have_value("name")
    expect(page.get_by_label("成立时间")).to_have_value("opened_on")
    expect(page.get_by_label("表中机构的类别")).to_have_value("eldercare")
    contact = page.get_by_label("对接人")
    expect(contact.locator("option:checked")).to_have_text("不导入")
    contact.select_option(label="联系人")
    page.get_by_role("button", name="确认并逐行检查").click()

    # The report names the home and the bureau's header, and offers the cell's text to correct.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"导入检查报告：{ROSTER}", timeout=JOB_TIMEOUT)
    expect(page.get_by_role("alert")).to_contain_text("整份文件都不会写入")
    errors = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="改为"))
    bad = errors.get_by_role("row").filter(has_text=HOME_BAD_DAY)
    expect(bad).to_have_count(1)
    expect(bad.get_by_role("cell").nth(1)).to_have_text("4")  # the title row and the header come first
    expect(bad.get_by_role("cell").nth(3)).to_have_text("成立时间")
    expect(bad.get_by_role("cell").nth(4)).to_contain_text("缺少日")
    expect(errors.get_by_role("row").filter(has_text=HOME_FINE)).to_have_count(0)
    cell = bad.get_by_role("textbox")
    expect(cell).to_have_value("2017年3月")

    # The errors workbook answers before anything is fixed: the bad row with its explanation.
    href = page.get_by_role("link", name="下载错误清单（Excel）").get_attribute("href")
    response = page.request.get(href)
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats"), response.headers
    rows = [row for sheet in load_workbook(io.BytesIO(response.body()), read_only=True).worksheets
            for row in sheet.iter_rows(values_only=True)]
    assert any("错误说明" in row for row in rows), rows
    assert any(HOME_BAD_DAY in row for row in rows) and not any(HOME_FINE in row for row in rows), rows

    cell.fill("2017年3月8日")
    page.get_by_role("button", name="保存改动并重新检查").click()
    passed = page.get_by_role("status").filter(has_text="检查通过")
    expect(passed).to_be_visible(timeout=JOB_TIMEOUT)
    counts = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="机构", exact=True))
    expect(counts.get_by_role("cell")).to_have_text(["2", "0", "0"])  # created, updated, unchanged
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_role("status").filter(has_text="导入完成")).to_contain_text("机构新增 2",
                                                                                 timeout=JOB_TIMEOUT)

    # Both homes are in the register, with the contact the 对接人 column now holds.
    page.get_by_role("link", name="查看养老机构").click()
    page.get_by_label("搜索").fill("【测试】化州市")
    page.get_by_role("button", name="查询").click()
    for name in (HOME_FINE, HOME_BAD_DAY):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    page.get_by_role("link", name=HOME_BAD_DAY, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME_BAD_DAY)
    expect(page.get_by_text("联系人", exact=True).locator("xpath=following-sibling::dd[1]")).to_have_text(CONTACT)
    expect(page.get_by_text("成立日期", exact=True).locator("xpath=following-sibling::dd[1]")).to_have_text(
        "2017-03-08")  # the day typed on the report


def test_the_mapping_page_in_english_has_no_chinese_chrome(page, tmp_path):
    from tests.browser.test_pages import chinese_chrome

    path = tmp_path / ROSTER
    roster(path)
    login(page, "minzheng")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    upload_roster(page, path)
    # The file's own words: its sheet, title, headers and cells.
    data = ("花名册", TITLE, *HEADER, HOME_FINE, HOME_BAD_DAY, CONTACT, "化州市", "2015年6月1日", "2017年3月")
    found = chinese_chrome(page, data=data)
    page.get_by_role("button", name="Cancel").click()
    assert not found, "Chinese text on the English mapping page:\n" + "\n".join(dict.fromkeys(found))

"""Four people's journeys through the served app, each clicking, typing and reading as that person would.

The journeys share one served demo register and run in file order: journey 2 files the in-house unit of
the home journey 1 registers (and registers it itself when run alone).
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import HOME_ADDRESS, IMPORT_FILE, OFFICIAL_NAME, login, screenshots  # noqa: E402

HOME = "【测试】茂南康乐颐养中心"
HOME_PART = "康乐颐养"
UNIT = "【测试】茂南康乐颐养中心护理站"
IMPORT_HEADER = "机构类别,机构名称,所属区县,成立日期,床位数\n"


def field(page, label: str):
    """The block of a form field: its label, input, hint and error messages."""
    return page.locator(".mb-3").filter(has=page.get_by_label(label, exact=True))


def open_home(page, name: str) -> None:
    """养老机构 → search by name → the home's page."""
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="养老机构").click()
    page.get_by_label("搜索").fill(name)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def register_home(page, *, with_mistakes: bool) -> None:
    """登记养老机构 with 260 beds; with mistakes, read each error next to its field and fix it."""
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="养老机构").click()
    page.get_by_role("link", name="登记养老机构").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登记养老机构")
    page.get_by_label("机构名称").fill(HOME)
    page.get_by_label("床位数", exact=True).fill("260")
    page.get_by_label("护理型床位数").fill("300" if with_mistakes else "120")
    page.get_by_label("地址").fill(HOME_ADDRESS)
    page.get_by_label("纬度").fill("21.6615")
    page.get_by_label("经度").fill("110.9195")
    if with_mistakes:
        # No district and no opening day: the form says so next to each field.
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_role("alert")).to_contain_text("请按提示修改标红的栏目后再保存")
        expect(field(page, "所属区县")).to_contain_text("请选择所属区县")
        expect(field(page, "成立日期")).to_contain_text("请填写成立日期")
        expect(page.get_by_label("所属区县")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("成立日期")).to_have_accessible_description(re.compile("请填写成立日期"))
        expect(field(page, "机构名称")).not_to_contain_text("请")  # what was right stays, unmarked
        expect(page.get_by_label("机构名称")).to_have_value(HOME)
    page.get_by_label("所属区县").select_option(label="茂南区")
    page.get_by_label("成立日期").fill("2021-06-01")
    page.get_by_role("button", name="保存").click()
    if with_mistakes:
        # More nursing beds than beds: refused, next to the nursing beds.
        expect(field(page, "护理型床位数")).to_contain_text("护理型床位数不能超过床位数")
        expect(page.get_by_label("所属区县")).to_have_value("440902")
        page.get_by_label("护理型床位数").fill("120")
        page.get_by_role("button", name="保存").click()
    # Opened in 2021, the home changes 茂南's approved 2022-Q4 report (the demo's): saved once confirmed.
    expect(page.get_by_role("alert")).to_contain_text("将改变已审核的 2022年第四季度 茂南区 数据")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME)


def upload(page, tmp_path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(IMPORT_HEADER + text, encoding="utf-8")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="导入导出").click()
    page.get_by_label("选择文件").set_input_files(path)
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"导入检查报告：{name}")


def test_journey_1_civil_affairs_registers_a_large_home_and_imports_homes(page, tmp_path):
    login(page, "minzheng")
    register_home(page, with_mistakes=True)
    expect(page.get_by_text("床位数").locator("xpath=following-sibling::dd[1]")).to_contain_text("260")
    expect(page.get_by_role("status").filter(has_text="200床及以上养老机构未内设合格医疗机构")).to_be_visible()

    # A spreadsheet of homes with one bad row: the report names the row, the column and the reason.
    rows = ("养老机构,【测试】茂南导入养老院甲,茂南区,2019-05-01,60\n"
            "养老机构,【测试】茂南导入养老院乙,茂北区,2020-02-30,80\n")
    upload(page, tmp_path, IMPORT_FILE, rows)
    expect(page.get_by_role("alert")).to_contain_text("整份文件都不会写入")
    errors = page.locator("table").filter(has=page.get_by_role("columnheader", name="原因"))
    expect(errors.locator("tbody tr").first).to_be_visible()
    error_rows = errors.locator("tbody tr").all_inner_texts()
    assert all("\t3\t" in row for row in error_rows), error_rows  # only the second data row is wrong
    assert any("所属区县" in row and "茂北区" in row for row in error_rows), error_rows
    assert any("成立日期" in row for row in error_rows), error_rows
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)

    # Fixed, the same file passes, and only a confirmation writes it.
    upload(page, tmp_path, IMPORT_FILE, rows.replace("茂北区,2020-02-30", "茂南区,2020-02-28"))
    expect(page.get_by_role("status").filter(has_text="检查通过")).to_be_visible()
    counts = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="机构", exact=True))
    expect(counts.get_by_role("cell")).to_have_text(["2", "0", "0"])  # created, updated, unchanged
    # Homes opened in 2019 and 2020 change 茂南's approved 2022-Q4 report: imported only once that is confirmed.
    expect(page.get_by_role("alert").filter(has_text="此文件将改变已审核的上报数据")).to_contain_text("2022年第四季度 茂南区")
    page.get_by_label("我已知晓，仍要导入").check()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_role("status").filter(has_text="导入完成")).to_contain_text("机构新增 2")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="养老机构").click()
    page.get_by_label("搜索").fill("【测试】茂南导入")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("link", name=re.compile("【测试】茂南导入养老院"))).to_have_count(2)
    screenshots(page, "journey-1")


def test_journey_2_health_files_the_unit_and_records_an_agreement(page):
    login(page, "weijian")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="养老机构").click()
    page.get_by_label("搜索").fill(HOME)
    page.get_by_role("button", name="查询").click()
    if page.get_by_role("link", name=HOME, exact=True).count() == 0:  # journey 1 did not run
        page.context.clear_cookies()
        login(page, "minzheng")
        register_home(page, with_mistakes=False)
        page.context.clear_cookies()
        login(page, "weijian")
    open_home(page, HOME)
    warning = page.get_by_role("status").filter(has_text="200床及以上养老机构未内设合格医疗机构")
    expect(warning).to_be_visible()

    # File the in-house 护理站 from the home's page.
    page.get_by_role("link", name="登记内设医疗机构").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"登记 {HOME} 的内设机构")
    page.get_by_label("机构名称").fill(UNIT)
    page.get_by_label("医疗机构类型").select_option(label="护理站")
    expect(page.get_by_label("所属区县")).to_have_value("440902")
    page.get_by_label("成立日期").fill("2022-03-01")
    page.get_by_role("button", name="保存").click()
    # The unit counts in 茂南's approved 2022-Q4 report: saved once confirmed.
    expect(page.get_by_role("alert")).to_contain_text("将改变已审核的 2022年第四季度 茂南区 数据")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(UNIT)
    page.get_by_role("link", name=HOME, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME)
    expect(page.get_by_role("link", name=UNIT)).to_be_visible()
    expect(warning).to_have_count(0)

    # An agreement: the home picked by typing part of its name, the hospital from the nearby list.
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="签约协议").click()
    page.get_by_role("link", name="登记签约协议").click()
    home_field = page.get_by_label("养老机构", exact=True)
    home_field.press_sequentially(HOME_PART, delay=30)
    option = page.locator(f"#{home_field.get_attribute('list')} option[value*='{HOME_PART}']")
    expect(option).to_have_count(1)
    home_field.fill(option.get_attribute("value"))  # what choosing the suggestion does
    home_field.press("Tab")
    nearby = page.locator("#nearby-medical")
    expect(nearby).to_contain_text("周边医疗卫生机构（点击选择）")
    hospital = nearby.get_by_role("button", name=re.compile("【示例】茂名市第一示范医院"))
    expect(hospital).to_contain_text(re.compile(r" · \d+\.\d 公里$"))  # as the record pages write distances
    expect(nearby.get_by_role("button", name=re.compile(UNIT))).to_have_count(0)  # its own unit is not a party
    expect(hospital).not_to_contain_text("超出周边")
    expect(nearby.get_by_role("button").last).to_contain_text("超出周边")  # farther than NEARBY_KM
    hospital.click()
    expect(page.get_by_label("医疗卫生机构", exact=True)).to_have_value(re.compile("【示例】茂名市第一示范医院$"))
    page.get_by_label("签订日期").fill("2024-12-20")
    page.get_by_label("生效日期").fill("2025-01-01")
    page.get_by_label("到期日期").fill("2029-12-31")
    page.get_by_role("checkbox", name="双向转诊").check()
    page.get_by_role("checkbox", name="预约就诊绿色通道").check()
    page.get_by_role("checkbox", name="上门巡诊").check()
    page.get_by_label("巡诊频次").fill("每周一次")
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("签约协议")
    expect(page.locator("h1 + .badge, h1 ~ .badge").first).to_have_text("有效")
    distance = page.get_by_text("双方距离").locator("xpath=following-sibling::dd[1]")
    expect(distance).to_contain_text(re.compile(r"\d+\.\d 公里（大地线距离）"))
    expect(distance).not_to_contain_text("超出周边")
    code = page.get_by_role("heading", level=1).inner_text().split()[-1]

    # The agreements list, filtered by district.
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="签约协议").click()
    page.get_by_label("区县（任一方）").select_option(label="茂南区")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("link", name="区县（任一方）：茂南区")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=code, exact=True))
    expect(row).to_contain_text(HOME)
    expect(row).to_contain_text("有效")
    page.get_by_label("区县（任一方）").select_option(label="信宜市")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("link", name=code, exact=True)).to_have_count(0)
    page.get_by_label("区县（任一方）").select_option(label="茂南区")
    page.get_by_role("button", name="查询").click()
    screenshots(page, "journey-2")


def test_journey_3_district_official_reads_the_compliance_of_the_district(page, browser, server, tmp_path):
    from openpyxl import load_workbook

    # A colleague in 信宜市 sends the address of one of their homes.
    other = browser.new_context(base_url=server, locale="zh-CN")
    try:
        colleague = other.new_page()
        login(colleague, "lingdao-xinyi")
        colleague.get_by_role("navigation", name="主菜单").get_by_role("link", name="养老机构").click()
        colleague.get_by_role("cell").get_by_role("link").first.click()
        xinyi_home = colleague.url.removeprefix(server)
    finally:
        other.close()

    login(page, "lingdao-maonan")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="指标").click()
    page.get_by_role("link", name="2022-12-31").click()
    expect(page.get_by_text("截至 2022-12-31")).to_be_visible()
    expect(page.get_by_role("link", name="2022-12-31")).to_have_attribute("aria-current", "date")
    table = page.get_by_role("table", name="各区县指标与目标")
    headers = table.get_by_role("columnheader").all_inner_texts()
    assert headers == ["指标", "全市", "茂南区"], headers  # the city as numbers, the district in full

    # 转诊 coverage in 茂南区 is behind an overdue target: the shortfall is a link to the homes behind it.
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile("双向转诊")))
    district = row.get_by_role("cell").nth(1)
    expect(district).to_contain_text("逾期未达标")
    shortfall = district.get_by_role("link", name=re.compile(r"^差 "))
    shortfall.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("茂南区")
    expect(page.get_by_role("link", name="缺口名单（尚未计入）")).to_have_attribute("aria-current", "page")
    homes = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile("【示例】")))
    expect(homes.first).to_be_visible()
    assert all("茂南区" in text for text in homes.all_inner_texts())
    homes.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("【示例】")
    page.go_back()

    # The workbook of the dashboard.
    page.get_by_role("link", name="医养结合指标").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    workbook = load_workbook(saved, read_only=True)
    assert "指标" in workbook.sheetnames
    caption, header = workbook["指标"].iter_rows(max_row=2, values_only=True)
    assert caption[0].startswith("截至 2022-12-31")
    assert header[3:] == ("全市", "茂南区")  # the dashboard's table: the city and the official's own district
    workbook.close()

    # Another district's record is not there for this official.
    response = page.goto(xinyi_home)
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到该页面或记录")
    page.go_back()
    screenshots(page, "journey-3")


def test_journey_4_administrator_creates_an_official_and_edits_a_target(page):
    login(page, "admin")
    menu = page.get_by_role("navigation", name="主菜单")
    menu.get_by_role("link", name="用户管理").click()
    page.get_by_role("link", name="新建账号").click()
    page.get_by_label("用户名").fill("lingdao-huazhou")
    page.get_by_label("姓名或单位").fill(OFFICIAL_NAME)
    page.get_by_label("角色").select_option(label="区县领导")
    page.get_by_label("所属区县").select_option(label="化州市")
    page.get_by_label("初始密码").fill("Huazhou-official-2026")
    page.get_by_label("确认密码").fill("Huazhou-official-2026")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_role("status")).to_contain_text("已创建账号 lingdao-huazhou")
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="lingdao-huazhou", exact=True))
    expect(row).to_contain_text("区县领导")
    expect(row).to_contain_text("化州市")

    # 茂南区's allocation of the specialty-institution target: from 1 to 2.
    menu.get_by_role("link", name="目标管理").click()
    target = page.get_by_role("row").filter(has_text="以老年病、康复、护理、中医为特色").filter(
        has=page.get_by_role("cell", name="茂南区", exact=True))
    expect(target).to_have_count(1)
    target.get_by_role("link", name="编辑").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("编辑目标")
    page.get_by_label("目标值").fill("2")
    page.get_by_role("button", name="保存").click()
    expect(target).to_contain_text("≥ 2")
    expect(target).to_contain_text("已调整")

    # Both in the audit trail, newest first.
    menu.get_by_role("link", name="操作日志").click()
    entries = page.locator("tbody tr")
    expect(entries.nth(0)).to_contain_text("修改")
    expect(entries.nth(0)).to_contain_text("目标")
    expect(entries.nth(0)).to_contain_text(re.compile(r"目标值: 1(\.0)? → 2(\.0)?"))
    expect(entries.nth(1)).to_contain_text("新增")
    expect(entries.nth(1)).to_contain_text("lingdao-huazhou")
    expect(entries.nth(0)).to_contain_text("admin")
    screenshots(page, "journey-4")

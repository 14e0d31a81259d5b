"""Names as staff type them: a list searched by initials and by either reading of 长, sorted by pinyin, and the
agreement form's party picker offering a hospital for its initials. In Chinese and in English, at 1366 px and on
a phone. Nothing is saved.

The demo's homes read 【示例】… (shì lì), so their order is that of the names after the mark: 博贺湾 (bó),
电白康复 before 电白水东 (kāng, shuǐ), 高新区 (gāo xīn) before 高州 (gāo zhōu), then 化州 (huà), 茂南 (mào),
信宜 (xìn); by code point 博 and 电 would come after 高 and 化.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import PHONE, WIDE, screenshots  # noqa: E402
from tests.browser.test_pages import chinese_chrome  # noqa: E402
from tests.browser.test_review_journeys import switch_user  # noqa: E402

CHANGSHOU = "【示例】高州长寿养护院"
FIRST_HOMES = ["【示例】博贺湾颐养之家", "【示例】电白康复医院护养院", "【示例】电白水东敬老院", "【示例】高新区七迳幸福院", CHANGSHOU]


def names_column(page) -> list[str]:
    """The list's 机构名称 column (the second), top to bottom."""
    return [name.strip() for name in page.locator("table tbody tr td:nth-child(2)").all_inner_texts()]


def search(page, text: str) -> None:
    page.locator("form.filters input#q").fill(text)
    page.locator("form.filters button[type=submit]").click()


def test_a_home_is_found_by_initials_and_either_reading_and_lists_sort_by_pinyin(page):
    switch_user(page, "minzheng")
    page.goto("/homes")
    search(page, "示例")  # the demo's homes (other journeys add 【测试】 ones, cè shì, ahead of them)
    assert names_column(page)[:5] == FIRST_HOMES
    page.get_by_role("link", name="机构名称").click()  # sorted by name already: the header reverses it
    assert names_column(page)[-5:] == FIRST_HOMES[::-1]

    search(page, "gzcsyhy")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text(CHANGSHOU)
    search(page, "zhangshou")  # 长 read the other way is found too
    expect(page.locator("table tbody tr")).to_contain_text(CHANGSHOU)
    search(page, "电白")  # two characters
    assert names_column(page) and all("电白" in n for n in names_column(page))
    screenshots(page, "name-search")
    page.set_viewport_size(PHONE)
    search(page, "bhw")
    expect(page.locator("table tbody tr").first).to_contain_text("【示例】博贺湾颐养之家")
    expect(page.locator("table tbody tr")).to_have_count(1)
    page.set_viewport_size(WIDE)


def test_the_party_picker_offers_a_hospital_for_its_initials(page):
    switch_user(page, "weijian")
    page.goto("/agreements/new")
    page.locator("input#medical_code").press_sequentially("gzsrmsfyy", delay=20)
    option = page.locator("datalist#medical-options option")
    expect(option).to_have_count(1)
    assert option.first.get_attribute("value").endswith("【示例】高州市人民示范医院")


def test_name_search_in_english(page):
    switch_user(page, "minzheng", english=True)
    page.goto("/homes")
    search(page, "示例")
    assert names_column(page)[:5] == FIRST_HOMES
    search(page, "zhangshou")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text(CHANGSHOU)
    problems = chinese_chrome(page)
    screenshots(page, "name-search-en")
    assert problems == []

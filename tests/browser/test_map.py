"""The map page draws what users typed as text: a name holding markup is not run as HTML."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import MARKUP_NAME as NAME  # noqa: E402
from tests.browser.helpers import login  # noqa: E402

LAT, LON = 21.70, 110.60  # in 化州市, some way from every demo point


def test_a_name_holding_markup_shows_as_text_in_the_map_tooltip(page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    login(page, "minzheng")
    page.goto("/institutions/new?kind=eldercare")
    page.get_by_label("机构名称").fill(NAME)
    page.get_by_label("所属区县").select_option(label="化州市")
    page.get_by_label("成立日期").fill("2020-01-01")
    page.get_by_label("床位数", exact=True).fill("30")
    page.get_by_label("纬度").fill(str(LAT))
    page.get_by_label("经度").fill(str(LON))
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)

    page.goto("/map")
    page.wait_for_function("""() => {
        const chart = window.echarts && echarts.getInstanceByDom(document.getElementById("registry-map"));
        return chart && chart.getOption().series[0].data.length > 0;
    }""")
    x, y = page.evaluate("""([lon, lat]) => {
        const box = document.getElementById("registry-map");
        const [px, py] = echarts.getInstanceByDom(box).convertToPixel({ seriesIndex: 0 }, [lon, lat]);
        const rect = box.getBoundingClientRect();
        return [rect.left + px, rect.top + py];
    }""", [LON, LAT])
    page.mouse.move(x, y)
    tooltip = page.locator(".map-tooltip")
    expect(tooltip).to_contain_text(NAME)
    expect(tooltip.locator("img")).to_have_count(0)
    assert dialogs == []

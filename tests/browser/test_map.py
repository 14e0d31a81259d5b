"""The map page: it opens on a district-bound user's district, a city user's picker zooms to the region chosen, and a
point's tooltip names the institution (as text, whatever it holds), its type and beds, with a link to its record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import MARKUP_NAME as NAME  # noqa: E402
from tests.browser.helpers import PHONE, WIDE, login, screenshots  # noqa: E402
from tests.browser.test_pages import CJK, chinese_chrome  # noqa: E402
from tests.browser.test_review_journeys import switch_user  # noqa: E402

LAT, LON = 21.70, 110.60  # in 化州市, some way from every demo point
GEOJSON = Path(__file__).resolve().parents[2] / "static" / "geo" / "maoming-districts.geojson"
XINYI, GAOZHOU, BINHAI = "440983", "440981", "440900-BH"
CHART = 'echarts.getInstanceByDom(document.getElementById("registry-map"))'


def district_corners(code: str | None = None) -> list[list[float]]:
    """The [west, north] and [east, south] corners of a district's boundary (of the whole city when None)."""
    features = json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]
    points = []
    for feature in features:
        if code is None or feature["properties"]["code"] == code:
            geometry = feature["geometry"]
            polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
            points += [point for polygon in polygons for ring in polygon for point in ring]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return [[min(lons), max(lats)], [max(lons), min(lats)]]


def drawn(page) -> None:
    """Wait until the map has drawn its points."""
    page.wait_for_function(f"""() => {{
        const chart = window.echarts && {CHART};
        return chart && chart.getOption().series[0].data.length + chart.getOption().series[1].data.length > 0;
    }}""")


def on_screen(page, corners: list[list[float]]) -> dict:
    """Where two [lon, lat] corners are drawn, as a share of the map's width and height (0–1 is in view)."""
    return page.evaluate(f"""(corners) => {{
        const box = document.getElementById("registry-map");
        const [[x1, y1], [x2, y2]] = corners.map(c => {CHART}.convertToPixel({{ geoIndex: 0 }}, c));
        return {{ left: x1 / box.clientWidth, top: y1 / box.clientHeight,
                 right: x2 / box.clientWidth, bottom: y2 / box.clientHeight }};
    }}""", corners)


def fills_the_view(shares: dict) -> bool:
    """The area is wholly in view, and spans most of its width or height: the map is zoomed to it."""
    inside = all(-0.01 <= shares[side] <= 1.01 for side in ("left", "top", "right", "bottom"))
    return inside and max(shares["right"] - shares["left"], shares["bottom"] - shares["top"]) > 0.6


def hover(page, series: int, lon: float, lat: float):
    """Point at a place of the map with the mouse; the tooltip.

    The pointer first leaves the map, so the move onto the point is one the chart sees even when the
    pointer was there already; a chart still settling after a resize (the screenshots resize the page)
    is pointed at again.
    """
    tooltip = page.locator(".map-tooltip")
    for _attempt in range(5):
        x, y = page.evaluate(f"""([series, lon, lat]) => {{
            const box = document.getElementById("registry-map");
            const [px, py] = {CHART}.convertToPixel({{ seriesIndex: series }}, [lon, lat]);
            const rect = box.getBoundingClientRect();
            return [rect.left + px, rect.top + py];
        }}""", [series, lon, lat])
        page.mouse.move(0, 0)
        page.mouse.move(x, y)
        try:
            tooltip.first.wait_for(state="visible", timeout=2_000)
            return tooltip
        except sync_api.TimeoutError:
            page.wait_for_timeout(300)
    return tooltip


def picker(page):
    return page.locator("main form select[name=region]")


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366", "390"])
def test_a_district_officials_map_opens_on_their_district(page, viewport, english):
    page.set_viewport_size(viewport)
    switch_user(page, "lingdao-xinyi", english=english)
    page.goto("/map")
    drawn(page)
    assert fills_the_view(on_screen(page, district_corners(XINYI)))
    assert not fills_the_view(on_screen(page, district_corners()))  # not the whole city
    expect(picker(page).locator("option")).to_have_text(["Xinyi City" if english else "信宜市"])
    if english:
        assert chinese_chrome(page) == []
        home = page.evaluate(f"() => {CHART}.getOption().series[0].data[0]")
        tooltip = hover(page, 0, *home["value"])  # the home's, or a medical institution's drawn over it
        expect(tooltip.get_by_role("link", name="View record")).to_be_visible()
        name = tooltip.locator("strong").inner_text()
        assert not CJK.search(tooltip.inner_text().replace(name, "")), "Chinese in the tooltip's chrome"
    page.screenshot(path=_shot(f"map-district-{'en' if english else 'zh'}-{viewport['width']}"))


def _shot(name: str) -> str:
    from tests.browser.helpers import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_a_city_users_picker_zooms_to_the_region_chosen(page, english):
    switch_user(page, "weijian", english=english)
    page.goto("/map")
    drawn(page)
    assert fills_the_view(on_screen(page, district_corners()))  # the whole city first
    picker(page).select_option(GAOZHOU)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/map?region={GAOZHOU}")
    drawn(page)
    assert fills_the_view(on_screen(page, district_corners(GAOZHOU)))
    screenshots(page, f"map-picked-{'en' if english else 'zh'}")

    # A zone has no boundary: the map shows where its institutions are, closer in than the whole city.
    picker(page).select_option(BINHAI)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/map?region={BINHAI}")
    drawn(page)
    points = page.evaluate(f"() => {CHART}.getOption().series.slice(0, 2).flatMap(s => s.data.map(d => d.value))")
    assert points
    for lon, lat in points:
        shares = on_screen(page, [[lon, lat], [lon, lat]])
        assert 0 < shares["left"] < 1 and 0 < shares["top"] < 1
    city = on_screen(page, district_corners())
    assert city["right"] - city["left"] > 1.5  # the city is much wider than the map
    if english:
        assert chinese_chrome(page) == []


def test_a_point_tooltip_names_the_institution_as_text_with_its_type_beds_and_record(page):
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
    record = page.url

    page.goto("/map")
    drawn(page)
    tooltip = hover(page, 0, LON, LAT)
    expect(tooltip).to_contain_text(NAME)
    expect(tooltip).to_contain_text("养老机构")
    expect(tooltip).to_contain_text("床位数：30")
    expect(tooltip.locator("img")).to_have_count(0)
    assert dialogs == []
    screenshots(page, "map-tooltip")
    hover(page, 0, LON, LAT)
    link = tooltip.get_by_role("link", name="查看记录")
    expect(link).to_have_attribute("href", record.removeprefix(page.url.split("/map")[0]))
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)

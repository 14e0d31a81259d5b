"""A district-bound user is offered their own region alone wherever a region is chosen (the lists' filters, the 待办,
the review list, the map), sees only it on the dashboard and the reports index; a city user is offered every region.
At 1366 px and on a phone, in Chinese and English. Nothing here changes the shared demo register."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import PHONE, WIDE, screenshots  # noqa: E402
from tests.browser.test_pages import chinese_chrome  # noqa: E402
from tests.browser.test_review_journeys import switch_user  # noqa: E402

FILTERED = ("/homes", "/medical", "/agreements", "/training", "/compliance/todo", "/review", "/map")
REGIONS = {"zh": ["茂南区", "电白区", "高州市", "化州市", "信宜市", "茂名滨海新区", "茂名高新区"],
           "en": ["Maonan District", "Dianbai District", "Gaozhou City", "Huazhou City", "Xinyi City",
                  "Maoming Binhai New Area", "Maoming High-tech Zone"]}
GAOZHOU = "440981"


def region_filter(page):
    return page.locator("main form select[name=region]")


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366", "390"])
def test_a_district_user_is_offered_their_own_region_alone(page, viewport, language):
    page.set_viewport_size(viewport)
    switch_user(page, "weijian-gaozhou", english=language == "en")
    own = REGIONS[language][2]
    found = []
    for path in FILTERED:
        page.goto(path)
        expect(region_filter(page)).to_be_visible()
        expect(region_filter(page).locator("option")).to_have_text([own])
        if language == "en":
            found += chinese_chrome(page)
    # The figures: the city's totals and their own region, no other region's column; their own region's reports.
    page.goto("/compliance?as_of=2022-12-31")
    columns = page.locator(".compliance-table thead th").all_inner_texts()
    assert columns[2:] == [own]
    page.goto("/reports")
    links = page.locator("main tbody a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert links and all(re.fullmatch(rf"/reports/[^/]+/{GAOZHOU}", href) for href in links)
    if language == "en":
        found += chinese_chrome(page)
    assert not found, "Chinese text in the English pages:\n" + "\n".join(dict.fromkeys(found))
    page.goto("/homes")
    screenshots(page, f"region-filter-district-{language}")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_city_user_is_offered_every_region(page, language):
    switch_user(page, "weijian", english=language == "en")
    for path in FILTERED:
        page.goto(path)
        labels = region_filter(page).locator("option").all_inner_texts()
        assert labels[1:] == REGIONS[language], path  # after 全部 / 全市 (All, Whole city)

"""The dashboard prints on at most two A4 landscape pages, without its controls, its charts drawn for the paper."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import PHONE, SCREENSHOTS, WIDE  # noqa: E402
from tests.browser.test_review_journeys import switch_user  # noqa: E402

A4_LANDSCAPE = {"width": 1123, "height": 794}  # at 96 dpi
# Every chart's canvas as large as its box: drawn again for the paper's sizes.
CHARTS_FIT = """() => {
    const boxes = [...document.querySelectorAll('#charts .chart, #district-map')];
    return boxes.length > 1 && boxes.every(box => {
        const canvas = box.querySelector('canvas');
        return canvas && Math.abs(canvas.clientWidth - box.clientWidth) <= 1
            && Math.abs(canvas.clientHeight - box.clientHeight) <= 1;
    });
}"""


@pytest.mark.parametrize(("username", "path", "english", "viewport"), [
    ("admin", "/compliance?as_of=2022-12-31", False, WIDE),
    ("admin", "/compliance", True, WIDE),  # today: the training row with 2021's and 2022's counts
    ("lingdao-maonan", "/compliance", False, PHONE),
    ("lingdao-maonan", "/compliance?as_of=2022-12-31", True, PHONE),
], ids=["city-zh-1366", "city-en-1366", "district-zh-390", "district-en-390"])
def test_the_dashboard_prints_on_two_a4_landscape_pages_without_its_controls(page, username, path, english, viewport):
    page.set_viewport_size(viewport)
    switch_user(page, username, english=english)
    page.goto(path)
    page.wait_for_function(CHARTS_FIT)
    page.emulate_media(media="print")
    for control in (page.locator("header"), page.locator("#app-menu"), page.locator("main form"),
                    page.locator("main .btn"), page.locator("#map-indicator")):
        for each in control.all():
            expect(each).to_be_hidden()
    expect(page.locator("#map-indicator-shown")).to_be_visible()
    page.wait_for_function(CHARTS_FIT)

    name = f"dashboard-print-{'district' if username.startswith('lingdao') else 'city'}-{'en' if english else 'zh'}"
    SCREENSHOTS.mkdir(exist_ok=True)
    pdf = page.pdf(path=SCREENSHOTS / f"{name}.pdf", format="A4", landscape=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 2
    page.set_viewport_size(A4_LANDSCAPE)
    page.wait_for_function(CHARTS_FIT)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

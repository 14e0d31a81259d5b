"""The approved period report's print view fits one A4 page, as chromium prints it."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import SCREENSHOTS, login

pytestmark = pytest.mark.browser


def test_the_approved_report_prints_on_one_a4_page(page):
    login(page, "lingdao-maonan")  # the demo's 2022-Q4 report of 茂南 is approved
    page.goto("/reports/2022-Q4/440902/print")
    assert page.get_by_role("heading", name="茂名市医养结合工作指标上报表").is_visible()
    page.emulate_media(media="print")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1123, "height": 794})  # A4 landscape at 96 dpi
    page.screenshot(path=SCREENSHOTS / "report-print.png", full_page=True)
    pdf = page.pdf(path=SCREENSHOTS / "report-print.pdf", prefer_css_page_size=True, print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1
    # Every indicator's row is on that page, none cut off at the right edge.
    table = page.locator("table").bounding_box()
    assert table["x"] + table["width"] <= page.viewport_size["width"]
    assert page.locator("tbody tr").count() == 7

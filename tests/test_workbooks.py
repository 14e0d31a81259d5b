"""Every workbook the registry writes opens ready to read and print (issue 13).

Staff open each export in Excel or WPS, then print it or send it upward: a bold, frozen,
filtered header row; columns as wide as their content; shares as percentages, dates as
date cells, codes as text; A4, fitted to the page's width, the header on every page, the
title and the date in the page header. The last tests print every workbook to PDF with
LibreOffice (as a stand-in for Excel and WPS) and read the pages back.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from datetime import date, datetime
from functools import partial
from typing import NamedTuple

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from werkzeug.security import generate_password_hash

from registry.extensions import db
from registry.services import institutions, seeding
from tests.conftest import AuthActions
from tests.factories import MAONAN
from tests.test_import_mapping import mapping_form, roster, token_of, upload

SOFFICE = shutil.which("soffice")
DEMO_PASSWORD = "Maoming-demo-2026"  # every demo account (seeds/demo.json)
AS_OF = "2022-12-31"
EXTRA_HOMES = 70  # enough rows that some lists run over several pages
LONG_NAME = "【示例】茂名市茂南区金塘镇第70颐养中心附属长者照护之家"
LONG_NUMBER = 13800138000  # a phone number a bureau typed as a number

# name → (demo user, address); the import's error list is fetched after an upload (see `workbooks`).
DOWNLOADS = {
    "registry": ("admin", "/data/export/registry.xlsx"),
    "template": ("admin", "/data/template.xlsx"),
    "compliance": ("admin", f"/compliance/export.xlsx?as_of={AS_OF}"),
    "compliance-district": ("lingdao-maonan", f"/compliance/export.xlsx?as_of={AS_OF}"),
    "report": ("admin", f"/reports/2022-Q4/{MAONAN}/report.xlsx"),
    "todo": ("admin", "/compliance/todo.xlsx"),
    "audit": ("admin", "/admin/audit/export"),
}


def _register(app) -> None:
    """The demo register, and more homes in 茂南 with long names and addresses."""
    with app.app_context():
        seeding.load_demo()
        for number in range(EXTRA_HOMES):
            institutions.create("eldercare", {
                "name": f"【示例】茂名市茂南区金塘镇第{number + 1}颐养中心附属长者照护之家", "region_code": MAONAN,
                "address": f"茂名市茂南区金塘镇金塘大道东段{number + 100}号综合服务楼",
                "opened_on": date(2018, 5, 1), "beds_total": 40 + number, "phone": f"0668{number:07d}",
                "filing_no": f"0{number:05d}", "host": None})
        db.session.commit()


@pytest.fixture(scope="module")
def workbooks(app) -> dict[str, bytes]:
    """Each workbook as its user downloads it from the demo register (plus EXTRA_HOMES homes)."""
    with pytest.MonkeyPatch.context() as patch:  # cheap password hashes, as conftest's _fast_passwords
        patch.setattr("registry.models.users.generate_password_hash",
                      partial(generate_password_hash, method="pbkdf2:sha256:1"))
        _register(app)
    client = app.test_client()
    auth = AuthActions(client)
    found = {}
    for name, (user, address) in DOWNLOADS.items():
        auth.logout()
        assert auth.login(user, DEMO_PASSWORD).status_code == 302
        response = client.get(address)
        assert response.status_code == 200, (name, response.status_code)
        found[name] = response.data
    auth.logout()
    auth.login("minzheng", DEMO_PASSWORD)
    bad = [[1, "化州市长岐镇敬老院", "化州", "2015年6月1日", "六十", "李明", LONG_NUMBER],
           [2, "化州市杨梅镇敬老院附属长者照护中心", "化州市", "2017年3月", "+1+1", "王芳", "备注" * 30]]
    page = client.get(upload(client, roster(bad), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    client.post(f"/data/import/{token}/mapping", data=mapping_form(page))
    response = client.get(f"/data/import/{token}/errors.xlsx")
    assert response.status_code == 200
    found["import-errors"] = response.data
    return found


def opened(data: bytes):
    return load_workbook(io.BytesIO(data))


def sheets(name: str, workbooks) -> list:
    return opened(workbooks[name]).worksheets


def header_rows(sheet) -> tuple[int, int]:
    """The rows printed on every page ("$2:$2" → (2, 2))."""
    first, last = re.fullmatch(r"\$(\d+):\$(\d+)", sheet.print_title_rows).groups()
    return int(first), int(last)


def labels(sheet) -> list[str]:
    first, last = header_rows(sheet)
    return [c.value for row in sheet.iter_rows(min_row=first, max_row=last) for c in row if c.value is not None]


def columns_wide(text: str) -> int:
    """Character columns a text takes in Excel: a CJK character takes two."""
    return max(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line) for line in text.split("\n"))


ALL = [*DOWNLOADS, "import-errors"]


@pytest.mark.parametrize("name", ALL)
def test_every_sheet_has_a_bold_frozen_filtered_header_and_prints_on_a4_one_page_wide(workbooks, name):
    for sheet in sheets(name, workbooks):
        first, last = header_rows(sheet)
        assert all(cell.font.bold for row in sheet.iter_rows(min_row=first, max_row=last) for cell in row
                   if cell.value is not None), sheet.title
        assert sheet.freeze_panes == f"A{last + 1}", sheet.title
        assert sheet.auto_filter.ref.startswith(f"A{last}:"), sheet.title
        assert int(sheet.page_setup.paperSize) == 9  # A4
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.oddHeader.center.text and re.fullmatch(r"\d{4}-\d\d-\d\d", sheet.oddHeader.right.text)


def test_the_register_keeps_its_header_alone_in_row_1_and_the_title_in_the_page_header(workbooks):
    register = opened(workbooks["registry"])
    assert register.sheetnames == ["机构", "签约协议"]
    assert register["机构"]["A1"].value == "机构编码" and register["机构"].freeze_panes == "A2"
    assert register["机构"].oddHeader.center.text == "医养结合登记：机构"
    assert register["机构"].page_setup.orientation == "landscape"  # 26 columns


@pytest.mark.parametrize("name", ALL)
def test_columns_fit_their_content_and_long_ones_wrap(workbooks, name):
    for sheet in sheets(name, workbooks):
        first, _last = header_rows(sheet)
        end = int(re.search(r"(\d+)$", sheet.auto_filter.ref).group(1))  # the table's last row
        merged = {cell for area in sheet.merged_cells.ranges for row in sheet.iter_rows(
            min_row=area.min_row, max_row=area.max_row, min_col=area.min_col, max_col=area.max_col) for cell in row}
        for row in sheet.iter_rows(min_row=first, max_row=end):
            for cell in row:
                if cell in merged or cell.value is None:
                    continue
                width = sheet.column_dimensions[cell.column_letter].width
                if isinstance(cell.value, datetime):
                    assert width >= 10, (sheet.title, cell.coordinate)  # never "2022-12-3"
                elif isinstance(cell.value, str) and columns_wide(cell.value) > 60:
                    assert width == 60 and cell.alignment.wrap_text, (sheet.title, cell.coordinate)
                elif isinstance(cell.value, str):
                    assert width >= columns_wide(cell.value), (sheet.title, cell.coordinate, cell.value)


def test_a_column_is_as_wide_as_its_longest_name_counting_a_chinese_character_as_two(workbooks):
    register = opened(workbooks["registry"])["机构"]
    assert register.column_dimensions["C"].width == 56  # 26 CJK characters and "70": 54 columns, and a margin
    errors = opened(workbooks["import-errors"]).active
    explanation = [c for c in errors[1] if c.value == "错误说明"][0]
    assert errors.column_dimensions[explanation.column_letter].width == 60  # capped, and wrapped
    assert errors.cell(2, explanation.column).alignment.wrap_text


def test_dates_are_date_cells_and_shares_percentages(workbooks):
    register = opened(workbooks["registry"])["机构"]
    opened_on = [c for c in register[1] if c.value == "成立日期"][0].column
    assert isinstance(register.cell(2, opened_on).value, datetime)
    assert register.cell(2, opened_on).number_format == "yyyy-mm-dd"
    table = opened(workbooks["compliance"])["指标"]
    shares = [row for row in table.iter_rows(min_row=3) if row[0].value == "养老机构签约率"][0]
    assert isinstance(shares[3].value, float) and shares[3].number_format == "0.0%"
    report = opened(workbooks["report"]).worksheets[0]
    signed = [row for row in report.iter_rows(min_row=5) if row[1].value == "养老机构签约率"][0]
    assert signed[5].number_format == "0.0%"
    drill = opened(workbooks["compliance"])["签约率-缺口"]
    assert isinstance(drill["H3"].value, datetime) and drill["H3"].number_format == "yyyy-mm-dd"
    audit = opened(workbooks["audit"]).active
    assert isinstance(audit["A2"].value, datetime) and audit["A2"].number_format == "yyyy-mm-dd hh:mm"


def test_codes_are_text_with_their_leading_zeros(workbooks):
    register = opened(workbooks["registry"])["机构"]
    header = {c.value: c.column for c in register[1]}
    row = [r for r in register.iter_rows(min_row=2) if r[header["机构名称"] - 1].value == LONG_NAME][0]
    for label, value in (("备案号", "000069"), ("联系电话", "06680000069")):
        cell = row[header[label] - 1]
        assert (cell.value, cell.number_format) == (value, "@"), label
    assert row[header["机构编码"] - 1].number_format == "@"
    errors = opened(workbooks["import-errors"]).active
    number = [c for row in errors.iter_rows() for c in row if c.value == LONG_NUMBER][0]
    assert number.number_format == "0"  # 13800138000, never 1.38E+10


def test_the_compliance_table_shows_the_city_and_the_regions_a_district_official_the_city_and_theirs(workbooks):
    city = opened(workbooks["compliance"])["指标"]
    district = opened(workbooks["compliance-district"])["指标"]
    assert [c.value for c in city[2]][:5] == ["指标", "条款", "项目", "全市", "茂南区"] and city.max_column == 11
    assert [c.value for c in district[2]] == ["指标", "条款", "项目", "全市", "茂南区"]
    assert (city.page_setup.orientation, district.page_setup.orientation) == ("landscape", "portrait")


# --- printed by LibreOffice ----------------------------------------------------------------------------------

A4 = {"portrait": (595, 842), "landscape": (842, 595)}  # points


class Page(NamedTuple):
    text: str
    size: tuple[int, int]


@pytest.fixture(scope="module")
def printed(workbooks, tmp_path_factory) -> dict[str, list[Page]]:
    """Each workbook printed to PDF by LibreOffice headless, in one run with a profile of its own."""
    if SOFFICE is None:
        pytest.skip("LibreOffice not found (soffice): apt-get install libreoffice-calc-nogui")
    folder = tmp_path_factory.mktemp("printed")
    for name, data in workbooks.items():
        (folder / f"{name}.xlsx").write_bytes(data)
    profile = tmp_path_factory.mktemp("libreoffice-profile")
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(folder), *(str(folder / f"{name}.xlsx") for name in workbooks)],
                   check=True, capture_output=True, timeout=300)
    return {name: [Page(page.extract_text(), (round(page.mediabox.width), round(page.mediabox.height)))
                   for page in PdfReader(folder / f"{name}.pdf").pages] for name in workbooks}


def pages_of(sheet, pages: list[Page]) -> list[Page]:
    """The pages that carry this sheet's title in their page header."""
    title = sheet.oddHeader.center.text.replace("&&", "&")
    return [page for page in pages if title in page.text]


@pytest.mark.parametrize("name", ALL)
def test_each_sheet_prints_one_page_wide_with_its_title_date_and_header_on_every_page(workbooks, printed, name):
    pages = printed[name]
    shown = 0
    for sheet in sheets(name, workbooks):
        own = pages_of(sheet, pages)
        assert own, f"{sheet.title}: no page shows its title"
        shown += len(own)
        for number, page in enumerate(own, start=1):
            missing = [label for label in labels(sheet) if label not in page.text]
            assert not missing, f"{sheet.title}, page {number}: header {missing} not on the page"  # a column cut off
            assert sheet.oddHeader.right.text in page.text
            assert page.size == A4[sheet.page_setup.orientation], (sheet.title, number)
            assert "###" not in page.text  # a number or date too wide for its column
    assert shown == len(pages)  # no page without a title: nothing spilled onto a page of its own


@pytest.mark.parametrize("name", ["compliance", "compliance-district"])
def test_the_compliance_table_prints_on_one_or_two_pages(workbooks, printed, name):
    assert 1 <= len(pages_of(opened(workbooks[name])["指标"], printed[name])) <= 2


def test_long_lists_repeat_their_header_on_every_page(workbooks, printed):
    """The 缺口 list of 养老机构设立的医疗机构 holds every home without a unit: 70 more than the demo's."""
    drill = opened(workbooks["compliance"])["养老设医疗-缺口"]
    pages = pages_of(drill, printed["compliance"])
    assert len(pages) >= 2
    assert all("机构编码" in page.text and "停业日期" in page.text for page in pages)
    audit = pages_of(opened(workbooks["audit"]).active, printed["audit"])
    assert len(audit) >= 2 and all("变更内容" in page.text for page in audit)

"""Every spreadsheet the registry writes shows formula-like text as text, and the exchange format still round-trips."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from registry.extensions import db
from registry.models import Agreement, AuditEvent, Institution, Region
from registry.services import imports
from registry.services.formats import exchange, exports, spreadsheets
from tests.factories import MAONAN
from tests.test_import_mapping import mapping_form, token_of, upload

HYPERLINK = '=HYPERLINK("http://x","y")'
# What a spreadsheet runs as a formula: = + - @ first, or after spaces, tabs and line breaks.
FORMULAS = [HYPERLINK, " =1+1", "\t@SUM(A1)", "\n-2+3", "\r+1", "  \n=1"]


def _name_homes_like_formulas(app, make) -> None:
    """One home per formula-like name; set in the table, since saving a form strips the leading whitespace."""
    ids = [make.home(name=f"待改名养老院{n}") for n in range(len(FORMULAS))]
    hospital = make.medical(name="公式测试医院")
    make.agreement(ids[0], hospital, fees=HYPERLINK, visit_frequency="@每周")
    with app.app_context():
        for institution_id, name in zip(ids, FORMULAS, strict=True):
            db.session.execute(update(Institution).where(Institution.id == institution_id).values(name=name))
        db.session.commit()


def _assert_workbook_shows_text(data: bytes, expected: list[str]) -> None:
    workbook = load_workbook(io.BytesIO(data))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = {c.value for c in cells}
    for text in expected:
        assert "'" + text.replace("\r", "\n") in values, repr(text)  # XML reads a CR as a line feed


def _assert_csv_shows_text(data: bytes, expected: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    values = {cell for row in rows for cell in row}
    assert values.isdisjoint(expected)
    for text in expected:
        assert "'" + text in values, repr(text)


@pytest.mark.parametrize("text", FORMULAS + ["-5", "@", "+"])
def test_formula_like_text_gets_one_apostrophe_that_the_importer_removes(text):
    assert spreadsheets.safe_cell(text) == "'" + text
    assert spreadsheets.csv_cell(text) == "'" + text
    assert spreadsheets.unescape(spreadsheets.escape(text)) == text


@pytest.mark.parametrize("text", ["普通养老院", "'撇号开头", "'", "'=已带撇号", "''@两个撇号", "' =1", "a=1", " 前有空格"])
def test_every_value_survives_escape_then_unescape(text):
    assert spreadsheets.unescape(spreadsheets.escape(text)) == text


def test_plain_values_are_written_as_they_are():
    assert spreadsheets.safe_cell("茂南区") == "茂南区"
    assert spreadsheets.safe_cell("'撇号开头") == "'撇号开头"
    assert spreadsheets.safe_cell(12) == 12 and spreadsheets.safe_cell(None) is None
    assert spreadsheets.csv_cell(None) == "" and spreadsheets.csv_cell(21.5) == "21.5"


def test_the_compliance_workbook_shows_formula_like_names_as_text(app, client, make, admin):
    _name_homes_like_formulas(app, make)
    response = client.get("/compliance/export.xlsx")
    assert response.status_code == 200
    _assert_workbook_shows_text(response.data, FORMULAS)


def test_the_todo_workbook_shows_formula_like_names_as_text(app, client, make, admin):
    _name_homes_like_formulas(app, make)
    response = client.get("/compliance/todo.xlsx?kind=no_active_agreement")
    assert response.status_code == 200
    _assert_workbook_shows_text(response.data, FORMULAS[1:])  # the first home has an agreement


@pytest.mark.parametrize("path", ["/data/export/registry.xlsx", "/data/export/institutions.xlsx",
                                  "/data/export/agreements.xlsx"])
def test_exchange_workbooks_show_formula_like_text_as_text(app, client, make, admin, path):
    _name_homes_like_formulas(app, make)
    response = client.get(path)
    assert response.status_code == 200
    expected = [HYPERLINK, "@每周"] if "agreements" in path else FORMULAS
    _assert_workbook_shows_text(response.data, expected)


@pytest.mark.parametrize("path", ["/data/export/institutions.csv", "/data/export/agreements.csv"])
def test_exchange_csv_files_show_formula_like_text_as_text(app, client, make, admin, path):
    _name_homes_like_formulas(app, make)
    response = client.get(path)
    assert response.status_code == 200
    _assert_csv_shows_text(response.data, [HYPERLINK, "@每周"] if "agreements" in path else FORMULAS)


def test_the_cli_export_shows_formula_like_text_as_text(app, runner, make, tmp_path):
    _name_homes_like_formulas(app, make)
    result = runner.invoke(args=["registry", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    _assert_csv_shows_text((tmp_path / "institutions.csv").read_bytes(), FORMULAS)
    _assert_csv_shows_text((tmp_path / "agreements.csv").read_bytes(), [HYPERLINK])
    _assert_workbook_shows_text((tmp_path / "registry.xlsx").read_bytes(), FORMULAS)


def test_the_template_shows_a_formula_like_region_name_as_text(app, client, health):
    with app.app_context():
        region = db.session.get(Region, MAONAN)
        name, region.name = region.name, HYPERLINK
        db.session.commit()
    try:
        response = client.get("/data/template.xlsx")
    finally:
        with app.app_context():
            db.session.get(Region, MAONAN).name = name
            db.session.commit()
    assert response.status_code == 200
    _assert_workbook_shows_text(response.data, [HYPERLINK])


def test_a_control_character_in_a_field_does_not_break_the_workbook_exports(app, client, make, admin):
    home = make.home(name="控制字符养老院", address="油城\x07路")
    make.agreement(home, make.medical(), fees="\x07=1+1")
    registry = client.get("/data/export/registry.xlsx")
    assert registry.status_code == 200
    _assert_workbook_shows_text(registry.data, ["=1+1"])
    assert "油城路" in {c.value for row in load_workbook(io.BytesIO(registry.data))["机构"].iter_rows() for c in row}
    assert client.get("/data/export/agreements.xlsx").status_code == 200
    assert "油城\x07路" in client.get("/data/export/institutions.csv").data.decode("utf-8-sig")  # CSV keeps it


APOSTROPHE_NAMES = ["'=撇号等号养老院", "''@两个撇号养老院", "'撇号开头养老院", "=HYPERLINK(\"http://x\",\"y\")养老院"]


def _import(app, files: dict[str, bytes]) -> None:
    with app.app_context():
        sheets = [sheet for name, data in files.items() for sheet in exchange.read_upload(data, name)]
        plan = imports.plan(sheets, None)
        assert plan.ok, [str(e) for e in plan.errors]
        imports.apply(plan, None, "test")
        db.session.commit()


def _wipe(app) -> None:
    with app.app_context():
        db.session.execute(Agreement.__table__.delete())
        db.session.execute(Institution.__table__.delete())
        db.session.commit()


def _names(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Institution.name)))


@pytest.mark.parametrize("file", ["csv", "xlsx"])
def test_names_starting_with_an_apostrophe_survive_export_then_import(app, make, file):
    homes = [make.home(name=name) for name in APOSTROPHE_NAMES]
    make.agreement(homes[0], make.medical(name="撇号测试医院"), fees="'-免费")
    before = _names(app)
    with app.app_context():
        first = exports.export_all(select(Institution), select(Agreement))
    _wipe(app)
    files = ({"registry.xlsx": first["registry.xlsx"]} if file == "xlsx" else
             {"institutions.csv": first["institutions.csv"], "agreements.csv": first["agreements.csv"]})
    _import(app, files)
    assert _names(app) == before
    with app.app_context():
        assert db.session.scalar(select(Agreement.fees)) == "'-免费"
        second = exports.export_all(select(Institution), select(Agreement))
    assert second["institutions.csv"] == first["institutions.csv"]
    assert second["agreements.csv"] == first["agreements.csv"]


def test_the_period_report_workbook_shows_formula_like_names_as_text(app, client, make, auth):
    _name_homes_like_formulas(app, make)
    make.user("health", MAONAN, username="wj-maonan")
    make.user("health", None, username="wj-city")
    auth.login("wj-maonan")
    assert client.post("/reports/2022-Q4/440902/submit").status_code == 302
    auth.logout()
    auth.login("wj-city")
    assert client.post("/reports/2022-Q4/440902/approve", data={"version": "1"}).status_code == 302
    response = client.get("/reports/2022-Q4/440902/report.xlsx")
    assert response.status_code == 200
    _assert_workbook_shows_text(response.data, FORMULAS)


def test_the_audit_log_workbook_shows_formula_like_summaries_as_text(app, client, make, admin):
    homes = [make.home(name=f"审计公式养老院{n}") for n in range(len(FORMULAS))]
    with app.app_context():
        for home, text in zip(homes, FORMULAS, strict=True):
            db.session.execute(update(AuditEvent).where(AuditEvent.entity_id == home).values(summary=text))
        db.session.commit()
    response = client.get("/admin/audit/export")
    assert response.status_code == 200
    _assert_workbook_shows_text(response.data, FORMULAS)


def test_the_import_error_workbook_shows_formula_like_cells_as_text(app, client, civil):
    """The rows that cannot be imported go back as the file held them: formula-like text stays text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["序号", "单位名称", "县区", "成立时间", "核定床位", "对接人", "备注"])
    writer.writerows([n, f"化州市第{n}敬老院", "化州", "2015年6月1日", "六十", "李明", text]  # 六十: not a number
                     for n, text in enumerate(FORMULAS, start=1))
    roster = buffer.getvalue().encode("utf-8")
    page = client.get(upload(client, roster, "花名册.csv", kind="eldercare").headers["Location"]).text
    token = token_of(app)
    client.post(f"/data/import/{token}/mapping", data=mapping_form(page))
    response = client.get(f"/data/import/{token}/errors.xlsx")
    assert response.status_code == 200
    _assert_workbook_shows_text(response.data, FORMULAS)

"""Property tests: the credit-code rule and the import parser never fail other than by saying why."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from registry.services import imports
from registry.services.formats import exchange
from registry.services.identifiers import uscc_error

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(st.text(max_size=30))
@SETTINGS
def test_any_text_gets_a_verdict(app, text):
    with app.test_request_context():
        verdict = uscc_error(text)
    assert verdict is None or isinstance(verdict, str)


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17).filter(lambda s: s[8:16].isalnum()))
@SETTINGS
def test_a_code_with_its_check_digit_is_valid_and_any_other_digit_is_not(app, body):
    try:
        check = uscc.calc_check_digit(body)
    except Exception:  # noqa: BLE001 - stdnum refuses some bodies (the organisation code part)
        return
    with app.test_request_context():
        if uscc_error(body + check) is not None:
            return  # stdnum's format rules (registration authority, category) refuse this body
        wrong = next(c for c in ALPHABET if c != check)
        assert uscc_error(body + wrong) is not None


def _sheets_or_refusal(data: bytes, name: str) -> list[exchange.Sheet] | None:
    """The sheets read from an upload, or None when it is refused (always with a message)."""
    try:
        return exchange.read_upload(data, name)
    except exchange.FileRefused as refused:
        assert str(refused)
        return None


@given(st.binary(max_size=2048), st.sampled_from(["机构.csv", "agreements.csv", "registry.xlsx", "x.pdf"]))
@SETTINGS
def test_random_bytes_are_refused_or_reported_never_crash(app, data, name):
    with app.test_request_context():
        sheets = _sheets_or_refusal(data, name)
        if sheets is None:
            return
        plan = imports.plan(sheets, None)
        assert all(str(error) for error in plan.errors)


@given(st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=6), min_size=1, max_size=8))
@SETTINGS
def test_random_csv_cells_are_reported_never_crash(app, rows):
    header = "机构类别,机构名称,所属区县,成立日期,床位数,设立单位机构编码"
    body = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows)
    with app.test_request_context():
        try:
            sheets = exchange.read_upload(f"{header}\n{body}\n".encode(), "机构.csv")
        except exchange.FileRefused as refused:  # e.g. a NUL character: not CSV text
            assert str(refused)
            return
        plan = imports.plan(sheets, None)
        assert plan.ok or plan.errors


def _workbook_with_sheet_xml(sheet_xml: bytes) -> bytes:
    """A real workbook (机构 sheet) whose worksheet XML is replaced: it passes the zip checks."""
    import io
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "机构"
    book.active.append(["机构类别", "机构名称"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            body = source.read(member)
            target.writestr(member, sheet_xml if member.filename == "xl/worksheets/sheet1.xml" else body)
    return out.getvalue()


@given(st.binary(max_size=1024))
@SETTINGS
def test_a_workbook_with_a_garbled_sheet_is_refused_or_reported_never_crash(app, garbage):
    data = _workbook_with_sheet_xml(b'<?xml version="1.0"?><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr">'
                                    b"<is><t>" + garbage + b"</t></is></c></row></sheetData></worksheet>")
    with app.test_request_context():
        sheets = _sheets_or_refusal(data, "registry.xlsx")
        if sheets is None:
            return
        plan = imports.plan(sheets, None)
        assert all(str(error) for error in plan.errors)


def test_an_entity_bomb_in_a_sheet_is_not_expanded(app):
    """A billion-laughs sheet: refused or read as it stands, never expanded to gigabytes."""
    entities = b"".join(b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">' % ((n, *(n - 1,) * 10))
                        for n in range(1, 10))
    data = _workbook_with_sheet_xml(b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY l0 "haha">' + entities
                                    + b']><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&l9;'
                                    b"</t></is></c></row></sheetData></worksheet>")
    with app.test_request_context():
        sheets = _sheets_or_refusal(data, "registry.xlsx")
    assert sheets is None or all(len(str(cell or "")) < 1000 for sheet in sheets for cell in sheet.header)

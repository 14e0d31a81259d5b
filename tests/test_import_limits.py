"""An import file may hold MAX_IMPORT_ROWS data rows; more is refused before any row is checked."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import ImportUpload, Institution
from registry.services.formats import exchange

HEADER = "机构类别,机构名称,所属区县,成立日期,床位数\n"


def homes_csv(count: int, blank_between: bool = False) -> bytes:
    rows = "".join(f"养老机构,限额养老院{n},茂南区,2020-01-01,10\n" + (",,,,\n\n" if blank_between else "")
                   for n in range(count))
    return (HEADER + rows).encode("utf-8-sig")


def homes_xlsx(count: int) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("机构")
    sheet.append(HEADER.strip().split(","))
    for n in range(count):
        sheet.append(["养老机构", f"限额养老院{n}", "茂南区", "2020-01-01", 10])
        sheet.append([None, "  ", None])  # a row of blanks counts for nothing
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def hand_made_xlsx(cells: bytes, dimension: bytes | None = b"A1", shared_strings: bytes | None = None) -> bytes:
    """A workbook whose sheet 机构 holds `cells` (the XML inside <sheetData>), written by hand as a hostile
    file would be: openpyxl writes the other parts. `dimension` None leaves the (optional) element out."""
    workbook = Workbook(write_only=True)
    workbook.create_sheet("机构").append(["机构名称"])
    stream = io.BytesIO()
    workbook.save(stream)
    source = zipfile.ZipFile(io.BytesIO(stream.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                head, _, rest = data.partition(b"<sheetData>")
                head = re.sub(rb"<dimension [^>]*/>", b'<dimension ref="%s"/>' % dimension if dimension else b"", head)
                data = head + b"<sheetData>" + cells + rest[rest.index(b"</sheetData>"):]
            if info.filename == "xl/_rels/workbook.xml.rels" and shared_strings:
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type='
                                    b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
                                    b"/></Relationships>")
            archive.writestr(info, data)
        if shared_strings:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return out.getvalue()


def one_cell_rows_xlsx(rows: int) -> bytes:
    """A workbook whose sheet 机构 holds `rows` one-cell rows without their (optional) references, a few dozen KB."""
    return hand_made_xlsx(b"<row><c><v>1</v></c></row>" * rows)


HEADER_CELL = b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + "机构名称".encode() + b"</t></is></c></row>"


@pytest.fixture()
def limit_of_three(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_IMPORT_ROWS", 3)


def test_a_csv_at_the_limit_is_read_and_blank_rows_do_not_count(app, limit_of_three):
    with app.app_context():
        [sheet] = exchange.read_upload(homes_csv(3, blank_between=True), "机构.csv")
    assert len(sheet.rows) == 3


def test_a_csv_over_the_limit_is_refused_naming_the_file_and_the_limit(app, limit_of_three):
    with app.app_context(), pytest.raises(exchange.FileRefused) as refused:
        exchange.read_upload(homes_csv(4), "机构.csv")
    assert str(refused.value) == "机构.csv 的数据超过 3 行，请拆分后再导入"


def test_a_sheet_over_the_limit_is_refused_naming_the_sheet(app, limit_of_three):
    with app.app_context():
        assert len(exchange.read_upload(homes_xlsx(3), "registry.xlsx")[0].rows) == 3
        with pytest.raises(exchange.FileRefused) as refused:
            exchange.read_upload(homes_xlsx(4), "registry.xlsx")
    assert str(refused.value) == "工作表“机构” 的数据超过 3 行，请拆分后再导入"


def test_an_upload_over_the_limit_is_refused_on_the_page_and_nothing_is_kept(app, client, civil, limit_of_three):
    response = client.post("/data/import", data={"file": (io.BytesIO(homes_csv(4)), "机构.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "机构.csv 的数据超过 3 行，请拆分后再导入" in response.text
    assert "确认导入" not in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportUpload)) == 0


def test_the_cli_refuses_a_file_over_the_limit(app, runner, tmp_path, limit_of_three):
    path = tmp_path / "institutions.csv"
    path.write_bytes(homes_csv(4))
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "的数据超过 3 行" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Institution)) == 0


def test_800000_one_cell_rows_are_refused_within_seconds(app):
    data = one_cell_rows_xlsx(800_000)
    assert len(data) < 200 * 1024  # far under the upload limit: only the sheet's extent stops it
    started = time.perf_counter()
    with app.app_context(), pytest.raises(exchange.FileRefused, match="工作表“机构”的范围过大"):
        exchange.read_upload(data, "registry.xlsx")
    assert time.perf_counter() - started < 10


@pytest.fixture()
def no_calamine(monkeypatch):
    """calamine would build the grid (and abort the process): a refused file must never reach it."""
    import python_calamine

    class Refused:
        @staticmethod
        def from_filelike(stream):
            raise AssertionError("calamine was given a workbook the extent check should have refused")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Refused)


FAR_CELL = {
    "with a dimension that lies": (b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', b"A1"),
    "without a dimension": (b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', None),
    "in a row without its number": (b'<row><c r="XFD1048576"><v>1</v></c></row>', b"A1"),
    "given twice, calamine taking the second": (b'<row r="1048576"><c r="A1" r="XFD1048576"><v>1</v></c></row>',
                                                b"A1"),
    "after a quoted >": (b'<row r="1048576"><c x=">" r="XFD1048576"><v>1</v></c></row>', b"A1"),
    "single-quoted, on a new line": (b"<row r='1048576'><c\nr='XFD1048576'><v>1</v></c></row>", b"A1"),
    "with a prefix": (b'<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>', b"A1"),
    "in lower case": (b'<row r="1048576"><c r="xfd1048576"><v>1</v></c></row>', b"A1"),
    "empty (calamine skips it, and so can an honest sheet)": (b'<row r="1048576"><c r="XFD1048576"/></row>', b"A1"),
}


@pytest.mark.parametrize("cell, dimension", list(FAR_CELL.values()), ids=list(FAR_CELL))
def test_a_sheet_reaching_xfd1048576_is_refused_before_calamine_builds_its_grid(app, no_calamine, cell, dimension):
    data = hand_made_xlsx(HEADER_CELL + cell, dimension)
    assert len(data) < 10 * 1024  # one cell at A1 and one at XFD1048576: calamine would ask for 549 GB
    with app.app_context(), pytest.raises(exchange.FileRefused) as refused:
        exchange.read_upload(data, "registry.xlsx")
    assert str(refused.value) == "工作表“机构”的范围过大（XFD1048576），请删除多余的行列后再导入"


def test_cells_without_references_are_placed_as_calamine_places_them(app, no_calamine):
    row_of_201 = b"<row>" + b"<c><v>1</v></c>" * 201 + b"</row>"
    with app.app_context(), pytest.raises(exchange.FileRefused, match=r"（GS2）"):
        exchange.read_upload(hand_made_xlsx(HEADER_CELL + row_of_201), "registry.xlsx")


@pytest.mark.parametrize("offset", [-12, -5, -1, 0, 3])
def test_a_far_cell_cut_by_the_reading_chunk_is_measured(app, no_calamine, offset):
    """The sheet is read by the MB: a cell tag across the boundary (1 MB + offset) is still read whole."""
    empty = zipfile.ZipFile(io.BytesIO(hand_made_xlsx(b"", None))).read("xl/worksheets/sheet1.xml")
    before = HEADER_CELL + b'<row r="2">'
    padding = b" " * ((1 << 20) + offset - empty.index(b"<sheetData>") - len(b"<sheetData>") - len(before))
    data = hand_made_xlsx(before + padding + b'<c r="XFD2"><v>1</v></c></row>', None)
    assert zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").index(b"<c r=\"XFD2") == (1 << 20) + offset
    with app.app_context(), pytest.raises(exchange.FileRefused, match="（XFD2）"):
        exchange.read_upload(data, "registry.xlsx")


def test_a_lying_dimension_does_not_refuse_a_small_sheet(app):
    cells = HEADER_CELL + b'<row r="2"><c r="B2"><v>7</v></c></row>'
    with app.app_context():
        [sheet] = exchange.read_upload(hand_made_xlsx(cells, b"A1:XFD1048576"), "registry.xlsx")
    assert sheet.rows == [(2, [None, 7])]


@pytest.mark.parametrize("columns, refused", [(200, False), (201, True)])
def test_a_sheet_may_reach_column_200(app, columns, refused):
    last = b'<row r="2"><c r="%s2"><v>1</v></c></row>' % exchange._column_letters(columns).encode()
    data = hand_made_xlsx(HEADER_CELL + last)
    with app.app_context():
        if refused:
            with pytest.raises(exchange.FileRefused, match="（GS2）"):
                exchange.read_upload(data, "registry.xlsx")
        else:
            [sheet] = exchange.read_upload(data, "registry.xlsx")
            assert len(sheet.rows[0][1]) == 200


def test_rows_past_the_limit_and_its_margin_are_refused_by_the_extent(app, limit_of_three, no_calamine):
    last_row = 3 + 1 + exchange.XLSX_SPARE_ROWS + 1
    cells = HEADER_CELL + b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (last_row, last_row)
    with app.app_context(), pytest.raises(exchange.FileRefused, match=f"（A{last_row}）"):
        exchange.read_upload(hand_made_xlsx(cells), "registry.xlsx")


def test_a_sheet_that_is_not_imported_is_not_measured(app):
    """Only 机构 and 签约协议 are read; calamine never builds the grid of another sheet."""
    workbook = Workbook(write_only=True)
    workbook.create_sheet("机构").append(HEADER.strip().split(","))
    workbook.create_sheet("说明").append(["见附件"])
    stream = io.BytesIO()
    workbook.save(stream)
    source, out = zipfile.ZipFile(stream), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
            archive.writestr(info, data)
    with app.app_context():
        [sheet] = exchange.read_upload(out.getvalue(), "registry.xlsx")
    assert sheet.header == HEADER.strip().split(",")


def test_a_string_table_claiming_four_billion_strings_is_refused(app, no_calamine):
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1"'
               b' uniqueCount="4000000000"><si><t>x</t></si></sst>')
    with app.app_context(), pytest.raises(exchange.FileRefused) as refused:
        exchange.read_upload(hand_made_xlsx(HEADER_CELL, shared_strings=strings), "registry.xlsx")
    assert str(refused.value) == "工作簿的共享字符串表已损坏，拒绝读取"

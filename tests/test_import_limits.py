"""An import file may hold MAX_IMPORT_ROWS data rows; more is refused before any row is checked."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import ImportUpload, Institution
from registry.services import exchange

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


def one_cell_rows_xlsx(rows: int) -> bytes:
    """A workbook whose sheet 机构 holds `rows` one-cell rows, a few dozen KB: openpyxl writes the parts, and
    the rows are repeated without their (optional) references, as a hostile file would be."""
    workbook = Workbook(write_only=True)
    workbook.create_sheet("机构").append(["机构名称"])
    stream = io.BytesIO()
    workbook.save(stream)
    source = zipfile.ZipFile(io.BytesIO(stream.getvalue()))
    body = b"<row><c><v>1</v></c></row>" * rows
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = data.replace(b"</sheetData>", body + b"</sheetData>")
            archive.writestr(info, data)
    return out.getvalue()


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
    assert len(data) < 200 * 1024  # far under the upload limit: only the row limit stops it
    started = time.perf_counter()
    with app.app_context(), pytest.raises(exchange.FileRefused, match="200,000 行"):
        exchange.read_upload(data, "registry.xlsx")
    assert time.perf_counter() - started < 10

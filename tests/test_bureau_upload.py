"""Uploading a bureau's own register on the import page: the same reader and rights as the command line."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from registry.extensions import db
from registry.models import Agreement, ImportUpload, Institution
from tests.bureau_corpus import AGREEMENTS, HOMES, MEDICAL_INSTITUTIONS, write_corpus
from tests.conftest import confirm_upload, count
from tests.factories import MAONAN
from tests.test_import_mapping import mapping_form


def upload(client, path, kind: str = ""):
    """Upload, accept the mapping page as it proposes, and land on the report."""
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), "kind": kind}
    response = client.post("/data/import", data=data, content_type="multipart/form-data")
    if "/mapping" not in response.headers.get("Location", ""):
        return client.get(response.headers["Location"]) if response.status_code == 302 else response
    page = client.get(response.headers["Location"]).text
    return client.post(response.headers["Location"], data=mapping_form(page), follow_redirects=True)


def confirm(app, client, kind: str = ""):
    with app.app_context():
        token = db.session.scalar(select(ImportUpload.token))
    return confirm_upload(client, client.get(f"/data/import/{token}").text)


def test_a_bureaus_combined_workbook_goes_in_from_the_import_page(app, client, admin, tmp_path):
    write_corpus(tmp_path)
    report = upload(client, tmp_path / "combined.xlsx")
    assert report.status_code == 200
    assert "检查通过" in report.text, report.text
    done = confirm(app, client)
    assert "导入完成" in done.text
    assert count(app, Institution) == len(HOMES) + len(MEDICAL_INSTITUTIONS)
    assert count(app, Agreement) == len(AGREEMENTS)
    with app.app_context():
        clinic = db.session.scalars(select(Institution).where(Institution.name == "高州市颐康养老院医务室")).one()
        assert clinic.host.name == "高州市颐康养老院"


def test_the_kind_chosen_on_the_page_is_the_kind_of_a_sheet_without_one(app, client, civil, make, tmp_path):
    write_corpus(tmp_path)
    # One home of the file is set up by this 卫生院, named in its 举办单位 column.
    make.medical(region="440982", name="化州市平定镇卫生院", medical_type="卫生院", opened_on=date(1958, 3, 1))
    report = upload(client, tmp_path / "homes.csv", kind="eldercare")
    assert "检查通过" in report.text, report.text
    assert "导入完成" in confirm(app, client, kind="eldercare").text
    assert count(app, Institution) == len(HOMES) + 1


def test_a_district_user_cannot_bring_in_another_districts_homes_from_a_bureau_file(app, client, make, auth,
                                                                                   tmp_path):
    write_corpus(tmp_path)
    make.user("civil_affairs", MAONAN, username="minzheng-mn")
    auth.login("minzheng-mn")
    report = upload(client, tmp_path / "homes.xlsx", kind="eldercare")
    assert "只能导入本区县的记录" in report.text
    assert "确认导入" not in report.text
    assert count(app, Institution) == 0

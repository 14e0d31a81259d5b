"""Import and export in the web UI: report first, confirm, all or nothing, scoped to the user."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import ImportUpload, Institution
from tests.conftest import confirm_upload, count
from tests.factories import GAOZHOU, MAONAN

HOMES = "机构类别,机构名称,所属区县,成立日期,床位数\n养老机构,上传的养老院甲,茂南区,2020-01-01,120\n养老机构,上传的养老院乙,茂南区,2021-01-01,60\n"


def upload(client, text: str, name: str = "机构.csv"):
    data = {"file": (io.BytesIO(text.encode("utf-8-sig")), name)}
    return client.post("/data/import", data=data, content_type="multipart/form-data", follow_redirects=True)


def test_upload_report_then_confirm(app, client, civil):
    report = upload(client, HOMES)
    assert report.status_code == 200
    assert "检查通过" in report.text and "确认导入" in report.text
    assert count(app, Institution) == 0  # nothing written before the confirmation
    with app.app_context():
        token = db.session.scalar(select(ImportUpload.token))
    done = confirm_upload(client, report.text)
    assert "导入完成：机构新增 2" in done.text
    assert count(app, Institution) == 2
    with app.app_context():  # the file is dropped; the page still shows what was imported
        assert db.session.scalar(select(func.length(ImportUpload.content))) == 0
    assert "导入完成：机构新增 2" in client.get(f"/data/import/{token}").text
    assert "确认导入" not in client.get(f"/data/import/{token}").text


def test_a_bad_row_is_reported_and_nothing_can_be_confirmed(app, client, civil):
    report = upload(client, HOMES + "养老机构,负床位的养老院,茂南区,2020-01-01,-3\n")
    assert "发现 1 处错误" in report.text
    assert "床位数不能为负数" in report.text and ">4<" in report.text
    assert "确认导入" not in report.text
    assert count(app, Institution) == 0


def test_roles_and_regions_limit_what_is_imported(app, client, make, auth):
    make.user("civil_affairs", MAONAN, username="minzheng-mn")
    auth.login("minzheng-mn")
    text = HOMES + "养老机构,高州的养老院,高州市,2020-01-01,10\n医疗卫生机构,一家医院,茂南区,2000-01-01,\n"
    report = upload(client, text).text
    assert "只能导入本区县的记录" in report
    assert "您的角色不能导入医疗卫生机构" in report


def test_officials_cannot_import(client, make, auth):
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    assert client.get("/data/import").status_code == 403


def test_someone_elses_upload_cannot_be_confirmed(app, client, make, auth, civil):
    upload(client, HOMES)
    with app.app_context():
        token = db.session.scalar(select(ImportUpload.token))
    auth.logout()
    make.user("civil_affairs", username="other-civil")
    auth.login("other-civil")
    assert client.post(f"/data/import/{token}/confirm", data={"job": "any"}).status_code == 404
    assert client.get(f"/data/import/{token}").status_code == 404
    assert count(app, Institution) == 0


def test_a_file_that_is_not_what_its_name_says_is_refused(client, civil):
    response = client.post("/data/import", data={"file": (io.BytesIO(b"not a workbook"), "机构.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "文件内容不是 Excel 工作簿" in response.text


def test_an_upload_over_10_mb_is_refused_before_parsing(client, civil):
    big = io.BytesIO(b"a" * (10 * 1024 * 1024 + 10))
    response = client.post("/data/import", data={"file": (big, "big.csv")}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "上传的文件超过 10 MB" in response.text


def test_list_exports_keep_the_filters_and_the_scope(app, client, make, auth):
    make.home(name="茂南出口养老院")
    make.home(name="高州出口养老院", region=GAOZHOU)
    make.user("civil_affairs", MAONAN, username="minzheng-mn")
    auth.login("minzheng-mn")
    page = client.get("/homes?q=出口").text
    assert "/data/export/institutions.csv?" in page
    text = client.get("/data/export/institutions.csv?kind=eldercare&q=出口").data.decode("utf-8-sig")
    assert "茂南出口养老院" in text and "高州出口养老院" not in text
    workbook = load_workbook(io.BytesIO(client.get("/data/export/registry.xlsx").data))
    names = [row[2] for row in workbook["机构"].iter_rows(min_row=2, values_only=True)]
    assert names == ["茂南出口养老院"]


def test_the_template_downloads(client, health):
    response = client.get("/data/template.xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.data)).sheetnames[:2] == ["机构", "签约协议"]

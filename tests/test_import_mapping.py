"""The import page's way in: confirm each column's field, save the mapping, correct bad cells in place."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from registry.extensions import db
from registry.models import ImportProfile, ImportUpload, Institution
from registry.services.imports import uploaded
from tests.bureau_corpus import HOMES, write_corpus
from tests.conftest import count

TITLE = "化州市养老机构花名册"
HEADER = ["序号", "单位名称", "县区", "成立时间", "核定床位", "对接人", "备注"]
ROWS = [
    [1, "化州市长岐镇敬老院", "化州", "2015年6月1日", "60张", "李明", ""],
    [2, "化州市杨梅镇敬老院", "化州市", "2017年3月8日", "45", "王芳", "新建"],
]


def roster(rows=None, header=None) -> bytes:
    """A bureau's roster: a title row, a header in its own words, 序号, and a column the synonyms do not know."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    sheet.append([TITLE])
    sheet.append(header or HEADER)
    for row in rows or ROWS:
        sheet.append(row)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def upload(client, content: bytes, name: str = "花名册.xlsx", kind: str = ""):
    data = {"file": (io.BytesIO(content), name), "kind": kind}
    return client.post("/data/import", data=data, content_type="multipart/form-data")


def token_of(app) -> str:
    with app.app_context():
        return db.session.scalars(select(ImportUpload.token).order_by(ImportUpload.id.desc())).first()


def mapping_form(page: str) -> dict[str, str]:
    """The mapping page's answers as proposed: each select's selected option, the kind and profile inputs."""
    answers = {}
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        answers[name] = chosen.group(1) if chosen else ""
    answers["csrf_token"] = ""
    return answers


def column_select(page: str, header: str) -> str:
    """The select's name for the column with this header."""
    found = re.search(r'<label for="(field-\d+-\d+)">' + re.escape(header) + "</label>", page)
    assert found, f"no column {header} on the page"
    return found.group(1)


def report_cells(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(cell-\d+)" value="([^"]*)"', page))


def job_of(page: str) -> str:
    return re.search(r'name="job" value="([^"]+)"', page).group(1)


def test_a_bureau_sheet_shows_its_columns_before_anything_is_checked(app, client, civil):
    response = upload(client, roster(), kind="eldercare")
    assert response.status_code == 302 and "/mapping" in response.headers["Location"]
    page = client.get(response.headers["Location"]).text
    assert "确认列的含义" in page
    assert "表头在第 2 行；数据 2 行" in page
    # each column: its header, the proposed field selected, its sample values
    answers = mapping_form(page)
    assert answers[column_select(page, "单位名称")] == "name"
    assert answers[column_select(page, "县区")] == "region"
    assert answers[column_select(page, "核定床位")] == "beds_total"
    assert answers[column_select(page, "对接人")] == ""  # unknown: not imported unless the user says so
    assert "化州市长岐镇敬老院 / 化州市杨梅镇敬老院" in page
    assert ">1 / 2<" in page  # the 序号 column's samples, not 1.0 / 2.0
    assert count(app, Institution) == 0


def test_changing_a_columns_field_and_ignoring_another_is_what_gets_imported(app, client, civil):
    page = client.get(upload(client, roster(), kind="eldercare").headers["Location"]).text
    answers = mapping_form(page)
    answers[column_select(page, "对接人")] = "contact_person"
    answers[column_select(page, "备注")] = ""
    token = token_of(app)
    report = client.post(f"/data/import/{token}/mapping", data=answers, follow_redirects=True)
    assert "检查通过" in report.text, report.text
    assert "新增" in report.text
    done = client.post(f"/data/import/{token}/confirm", data={"job": job_of(report.text)}, follow_redirects=True)
    assert "导入完成" in done.text, done.text
    with app.app_context():
        homes = {i.name: i for i in db.session.scalars(select(Institution))}
        assert homes["化州市长岐镇敬老院"].contact_person == "李明"
        assert homes["化州市杨梅镇敬老院"].note in ("", None)  # 备注 was ignored
        assert homes["化州市长岐镇敬老院"].beds_total == 60
        assert homes["化州市长岐镇敬老院"].opened_on == date(2015, 6, 1)


def test_a_field_given_to_two_columns_is_refused_and_the_answers_stay(app, client, civil):
    page = client.get(upload(client, roster(), kind="eldercare").headers["Location"]).text
    answers = mapping_form(page)
    answers[column_select(page, "对接人")] = "name"
    response = client.post(f"/data/import/{token_of(app)}/mapping", data=answers)
    assert response.status_code == 200
    assert "“名称”只能对应一列，现在对应了 B、F 列" in response.text or "只能对应一列" in response.text
    again = mapping_form(response.text)
    assert again[column_select(response.text, "对接人")] == "name"  # the user's answer is kept
    with app.app_context():
        assert db.session.scalar(select(ImportUpload.job_id)) is None  # nothing was checked


def test_a_sheet_without_a_kind_asks_for_one(app, client, civil):
    page = client.get(upload(client, roster()).headers["Location"]).text
    answers = mapping_form(page)
    answers["kind-0"] = ""
    response = client.post(f"/data/import/{token_of(app)}/mapping", data=answers)
    assert "表中没有“机构类别”列，请选择这张表中机构的类别" in response.text
    answers["kind-0"] = "eldercare"
    report = client.post(f"/data/import/{token_of(app)}/mapping", data=answers, follow_redirects=True)
    assert "检查通过" in report.text, report.text


def test_a_saved_mapping_is_proposed_again_for_the_same_header_and_named_on_the_command_line(
        app, client, civil, tmp_path):
    page = client.get(upload(client, roster(), kind="eldercare").headers["Location"]).text
    answers = mapping_form(page)
    answers[column_select(page, "对接人")] = "contact_person"
    answers["profile-0"] = "化州民政花名册"
    client.post(f"/data/import/{token_of(app)}/mapping", data=answers)
    with app.app_context():
        assert db.session.scalar(select(ImportProfile.name)) == "化州民政花名册"

    later = roster(rows=[[1, "化州市笪桥镇敬老院", "化州", "2016年1月1日", "30", "赵强", ""]])
    page = client.get(upload(client, later, kind="eldercare").headers["Location"]).text
    assert "已套用保存的映射方案“化州民政花名册”" in page
    assert mapping_form(page)[column_select(page, "对接人")] == "contact_person"

    # the command line names it
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(later)
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["registry", "import", str(path), "--kind", "eldercare", "--dry-run"])
    assert "忽略无法识别的列 对接人" in plain.output
    named = runner.invoke(args=["registry", "import", str(path), "--kind", "eldercare",
                                "--profile", "化州民政花名册"])
    assert named.exit_code == 0, named.output
    with app.app_context():
        home = db.session.scalars(select(Institution).where(Institution.name == "化州市笪桥镇敬老院")).one()
        assert home.contact_person == "赵强"
    unknown = runner.invoke(args=["registry", "import", str(path), "--profile", "没有这个方案"])
    assert unknown.exit_code != 0
    assert "找不到映射方案“没有这个方案”" in unknown.output
    assert "化州民政花名册" in unknown.output  # the names there are


def test_a_bad_cell_is_corrected_in_place_and_checked_again(app, client, civil):
    rows = [ROWS[0], [2, "化州市杨梅镇敬老院", "化州市", "2017年3月", "45", "王芳", ""]]
    page = client.get(upload(client, roster(rows), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    report = client.post(f"/data/import/{token}/mapping", data=mapping_form(page), follow_redirects=True)
    assert "发现 1 处错误" in report.text, report.text
    # the bad cell: the row's institution, the bureau's header, the reason, and the cell as written
    assert "化州市杨梅镇敬老院" in report.text and "成立时间" in report.text
    cells = report_cells(report.text)
    assert list(cells.values()) == ["2017年3月"]
    assert "确认导入" not in report.text
    (name,) = cells
    fixed = client.post(f"/data/import/{token}/check", data={"job": job_of(report.text), name: "2017年3月8日"},
                        follow_redirects=True)
    assert "检查通过" in fixed.text, fixed.text
    done = client.post(f"/data/import/{token}/confirm", data={"job": job_of(fixed.text)}, follow_redirects=True)
    assert "导入完成" in done.text
    with app.app_context():
        home = db.session.scalars(select(Institution).where(Institution.name == "化州市杨梅镇敬老院")).one()
        assert home.opened_on == date(2017, 3, 8)


def test_a_rule_broken_names_the_bureaus_header_and_its_cell_can_be_corrected(app, client, civil):
    rows = [ROWS[0], [2, "化州市杨梅镇敬老院", "化州市", "2017年3月8日", "-5", "王芳", ""]]
    page = client.get(upload(client, roster(rows), kind="eldercare").headers["Location"]).text
    report = client.post(f"/data/import/{token_of(app)}/mapping", data=mapping_form(page), follow_redirects=True)
    assert "核定床位" in report.text
    assert list(report_cells(report.text).values()) == ["-5"]


def test_a_stale_report_or_a_made_up_cell_changes_nothing(app, client, civil):
    rows = [[1, "化州市长岐镇敬老院", "化州", "2015年6月", "60", "李明", ""]]
    page = client.get(upload(client, roster(rows), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    report = client.post(f"/data/import/{token}/mapping", data=mapping_form(page), follow_redirects=True)
    stale = client.post(f"/data/import/{token}/check", data={"job": "another", "cell-0": "2015年6月1日"},
                        follow_redirects=True)
    assert "检查报告已更新" in stale.text
    client.post(f"/data/import/{token}/check", data={"job": job_of(report.text), "cell-7": "x"})
    with app.app_context():
        assert db.session.scalar(select(ImportUpload.corrections)) in (None, [])


def test_the_errors_download_holds_the_original_rows_with_an_explanation(app, client, civil):
    rows = [ROWS[0], [2, "化州市杨梅镇敬老院", "化州市", "2017年3月", "+1+1", "王芳", ""]]
    page = client.get(upload(client, roster(rows), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    client.post(f"/data/import/{token}/mapping", data=mapping_form(page))
    response = client.get(f"/data/import/{token}/errors.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][:7] == HEADER and values[0][-1] == "错误说明"
    assert len(values) == 2  # the header and the one row with errors
    assert values[1][1] == "化州市杨梅镇敬老院" and values[1][-2] == 4
    assert "成立时间" in values[1][-1] and "核定床位" in values[1][-1]
    assert values[1][4] == "'+1+1"  # written as text, never as a formula


def test_another_users_upload_is_not_found(app, client, civil, make, auth):
    upload(client, roster(), kind="eldercare")
    token = token_of(app)
    auth.logout()
    make.user("civil_affairs", None, username="minzheng-2")
    auth.login("minzheng-2")
    assert client.get(f"/data/import/{token}/mapping").status_code == 404
    assert client.get(f"/data/import/{token}").status_code == 404
    assert client.get(f"/data/import/{token}/errors.xlsx").status_code == 404


def test_the_user_can_leave_and_come_back_to_an_upload(app, client, civil):
    page = client.get(upload(client, roster(), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    client.post(f"/data/import/{token}/mapping", data=mapping_form(page))
    listing = client.get("/data/import").text
    assert "最近的上传" in listing and f"/data/import/{token}" in listing
    assert "检查通过" in client.get(f"/data/import/{token}").text


def test_cancelling_drops_the_upload(app, client, civil):
    upload(client, roster(), kind="eldercare")
    token = token_of(app)
    response = client.post(f"/data/import/{token}/cancel", follow_redirects=True)
    assert "已取消导入" in response.text
    assert count(app, ImportUpload) == 0


def test_every_corpus_file_goes_through_the_mapping_page_unchanged(app, client, admin, make, tmp_path):
    write_corpus(tmp_path)
    page = client.get(upload(client, (tmp_path / "homes.xlsx").read_bytes(), "homes.xlsx",
                             kind="eldercare").headers["Location"]).text
    report = client.post(f"/data/import/{token_of(app)}/mapping", data=mapping_form(page), follow_redirects=True)
    # a home's 举办单位 names a 卫生院 not registered yet: the cell is blamed and can be corrected in place
    assert "未找到名为“化州市平定镇卫生院”的医疗卫生机构" in report.text
    assert "化州市平定镇卫生院" in report_cells(report.text).values()
    make.medical(region="440982", name="化州市平定镇卫生院", medical_type="卫生院", opened_on=date(1958, 3, 1))
    page = client.get(upload(client, (tmp_path / "homes.xlsx").read_bytes(), "homes.xlsx",
                             kind="eldercare").headers["Location"]).text
    report = client.post(f"/data/import/{token_of(app)}/mapping", data=mapping_form(page), follow_redirects=True)
    assert "检查通过" in report.text, report.text
    assert f"<td class=\"text-end\">{len(HOMES)}</td>" in report.text


def test_a_possible_duplicate_is_settled_on_the_report_as_the_same_or_a_new_institution(app, client, civil, make):
    existing = make.home(region="440982", name="长岐镇敬老院", beds_total=30)
    page = client.get(upload(client, roster(), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    report = client.post(f"/data/import/{token}/mapping", data=mapping_form(page), follow_redirects=True)
    assert "可能重复的机构" in report.text, report.text
    assert "与已登记的“长岐镇敬老院”" in report.text
    code = re.search(r'name="duplicate-0" id="duplicate-0-0" value="([^"]+)"', report.text).group(1)
    # no answer: nothing is imported
    unanswered = client.post(f"/data/import/{token}/confirm", data={"job": job_of(report.text)},
                             follow_redirects=True)
    assert "请为每一条可能重复的记录选择" in unanswered.text
    assert count(app, Institution) == 1
    done = client.post(f"/data/import/{token}/confirm", data={"job": job_of(report.text), "duplicate-0": code},
                       follow_redirects=True)
    assert "导入完成：机构新增 1、更新 1" in done.text, done.text
    with app.app_context():
        home = db.session.get(Institution, existing)
        assert home.beds_total == 60 and home.name == "化州市长岐镇敬老院"
    assert count(app, Institution) == 2


def test_a_possible_duplicate_answered_new_is_imported_as_a_new_institution(app, client, civil, make):
    make.home(region="440982", name="长岐镇敬老院", beds_total=30)
    page = client.get(upload(client, roster(), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    report = client.post(f"/data/import/{token}/mapping", data=mapping_form(page), follow_redirects=True)
    done = client.post(f"/data/import/{token}/confirm", data={"job": job_of(report.text), "duplicate-0": "new"},
                       follow_redirects=True)
    assert "导入完成：机构新增 2" in done.text, done.text
    assert count(app, Institution) == 3


def test_a_required_field_without_a_column_names_the_field_and_the_headers_found(app, tmp_path):
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(roster(header=["序号", "单位名称", "县区", "核定床位", "对接人", "备注"],
                            rows=[[1, "化州市长岐镇敬老院", "化州", "60", "李明", ""]]))
    result = app.test_cli_runner().invoke(args=["registry", "import", str(path), "--kind", "eldercare"])
    assert result.exit_code == 1
    assert "缺少必填列：成立日期（表头中的列：序号、单位名称、县区、核定床位、对接人、备注）" in result.output
    assert count(app, Institution) == 0


def test_a_running_check_shows_its_progress_and_refreshes(app, client, civil, monkeypatch):
    from registry.services.infra import jobs

    page = client.get(upload(client, roster(), kind="eldercare").headers["Location"]).text
    token = token_of(app)
    client.post(f"/data/import/{token}/mapping", data=mapping_form(page))
    with app.app_context():
        upload_row = db.session.scalars(select(ImportUpload)).one()
        owner, job_id = upload_row.user_id, upload_row.job_id
    from datetime import UTC, datetime

    def running(job, now=None):
        return jobs.JobStatus(job, uploaded.CHECK, "running", 40, 100, None, None, owner, datetime.now(UTC), None, None)

    monkeypatch.setattr(jobs, "status", running)
    shown = client.get(f"/data/import/{token}").text
    assert "已检查 40 / 100 行" in shown
    assert 'class="progress-bar progress-40"' in shown and 'http-equiv="refresh"' in shown

    def failed(job, now=None):
        return jobs.JobStatus(job, uploaded.CHECK, "failed", 40, 100, None, jobs.INTERRUPTED_MESSAGE, owner,
                              datetime.now(UTC), None, None)

    monkeypatch.setattr(jobs, "status", failed)
    shown = client.get(f"/data/import/{token}").text
    assert jobs.INTERRUPTED_MESSAGE in shown and 'http-equiv="refresh"' not in shown
    assert job_id

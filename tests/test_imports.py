"""Import and export of the exchange format (docs/exchange-format.md), as the CLI and the services do it."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from registry.extensions import db
from registry.models import Agreement, AuditEvent, Institution
from registry.services import imports
from registry.services.formats import exchange, exports
from tests.conftest import count

HEADER = "机构编码,机构类别,机构名称,所属区县,成立日期,床位数,护理型床位数,医疗机构类型,设立单位机构编码,统一社会信用代码\n"
AGREEMENT_HEADER = "协议编号,养老机构编码,医疗机构编码,生效日期,到期日期,服务内容\n"


def plan_for(app, files: dict[str, bytes], user=None):
    with app.app_context():
        sheets = []
        for name, data in files.items():
            sheets += exchange.read_upload(data, name)
        return imports.plan(sheets, user)


def run_import(app, files: dict[str, bytes]):
    """Plan and, when clean, apply and commit; returns the plan."""
    with app.app_context():
        sheets = []
        for name, data in files.items():
            sheets += exchange.read_upload(data, name)
        plan = imports.plan(sheets, None)
        if plan.ok:
            imports.apply(plan, None, "test")
            db.session.commit()
        else:
            db.session.rollback()
        return plan


def csv_bytes(text: str, encoding: str = "utf-8-sig") -> bytes:
    return text.encode(encoding)


GOOD = HEADER + (
    ",养老机构,测试颐养院,茂南区,2020-01-01,260,100,,,\n"
    "YY-T-1,医疗卫生机构,测试颐养院医务室,440902,2021-03-01,,,医务室,YL-T-9,\n"
    "YL-T-9,eldercare,被引用的养老院,茂南区,2019-05-01,80,,,,\n"
)


def test_a_clean_file_is_imported_with_references_in_any_order(app):
    plan = run_import(app, {"institutions.csv": csv_bytes(GOOD)})
    assert plan.ok, [str(e) for e in plan.errors]
    assert plan.counts()["institutions"] == {"create": 3, "update": 0, "unchanged": 0}
    with app.app_context():
        clinic = db.session.scalar(select(Institution).where(Institution.code == "YY-T-1"))
        assert clinic.host.code == "YL-T-9" and clinic.kind == "medical" and clinic.region_code == "440902"
        assigned = db.session.scalar(select(Institution).where(Institution.name == "测试颐养院"))
        assert assigned.code.startswith("YL") and assigned.beds_total == 260
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
        assert len(events) == 4 and all(e.user_id is None for e in events)  # three records and the import


def test_reimporting_the_same_file_changes_nothing(app):
    run_import(app, {"institutions.csv": csv_bytes(GOOD)})
    again = run_import(app, {"institutions.csv": csv_bytes(GOOD)})
    assert again.counts()["institutions"] == {"create": 0, "update": 0, "unchanged": 3}
    assert count(app, Institution) == 3


def test_one_bad_row_and_nothing_is_written_every_bad_row_reported(app):
    bad = GOOD + (
        ",养老机构,床位不对的养老院,茂南区,2020-01-01,100,150,,,\n"
        ",养老机构,区县不对的养老院,天河区,2020-01-01,100,,,,\n"
        ",养老机构,日期不对的养老院,茂南区,2020/01/01,100,,,,\n"
        ",养老机构,信用代码不对,茂南区,2020-01-01,100,,,,91110000600037341M\n"
        ",医疗卫生机构,类型缺失的医院,茂南区,2020-01-01,,,,,\n"
        ",养老机构,设立单位不存在,茂南区,2020-01-01,10,,,YY-NOPE,\n"
    )
    plan = run_import(app, {"institutions.csv": csv_bytes(bad)})
    messages = [str(e) for e in plan.errors]
    assert count(app, Institution) == 0
    expected = [
        "institutions.csv 第 5 行 护理型床位数：护理型床位数不能超过床位数",
        "institutions.csv 第 6 行 所属区县：所属区县不存在：天河区",
        "institutions.csv 第 7 行 成立日期：日期应为 YYYY-MM-DD 格式，而不是“2020/01/01”",
        "institutions.csv 第 8 行 统一社会信用代码：统一社会信用代码校验位错误，请核对",
        "institutions.csv 第 9 行 医疗机构类型：请选择医疗机构类型",
        "institutions.csv 第 10 行 设立单位机构编码：未找到机构编码为 YY-NOPE 的设立单位",
    ]
    for line in expected:
        assert line in messages, (line, messages)


def test_missing_required_columns_are_named(app):
    plan = plan_for(app, {"institutions.csv": csv_bytes("机构名称,所属区县\n测试,茂南区\n")})
    text = " ".join(str(e) for e in plan.errors)
    assert "缺少必填列“机构类别”（kind）" in text and "缺少必填列“成立日期”（opened_on）" in text


def test_english_headers_and_gb18030_are_read(app):
    text = "kind,name,region,opened_on,beds_total\neldercare,英文表头养老院,440904,2020-02-02,30\n"
    plan = run_import(app, {"institutions.csv": text.encode("gb18030")})
    assert plan.ok and plan.counts()["institutions"]["create"] == 1


def test_credit_code_matches_a_row_without_code(app):
    first = HEADER + ",养老机构,按信用代码匹配,茂南区,2020-01-01,50,,,,91110000600037341L\n"
    assert run_import(app, {"institutions.csv": csv_bytes(first)}).ok
    changed = HEADER + ",养老机构,按信用代码匹配,茂南区,2020-01-01,70,,,,91110000600037341L\n"
    plan = run_import(app, {"institutions.csv": csv_bytes(changed)})
    assert plan.counts()["institutions"] == {"create": 0, "update": 1, "unchanged": 0}
    with app.app_context():
        assert db.session.scalar(select(Institution.beds_total)) == 70


def test_an_absent_column_is_kept_and_an_empty_cell_clears(app):
    run_import(app, {"institutions.csv": csv_bytes(
        "机构编码,机构类别,机构名称,所属区县,成立日期,床位数,地址\nYL-A,养老机构,甲,茂南区,2020-01-01,50,油城路\n")})
    run_import(app, {"institutions.csv": csv_bytes(
        "机构编码,机构类别,机构名称,所属区县,成立日期,地址\nYL-A,养老机构,甲,茂南区,2020-01-01,\n")})
    with app.app_context():
        home = db.session.scalar(select(Institution))
        assert home.beds_total == 50 and home.address == ""


def test_a_file_without_the_host_column_keeps_each_units_host_and_its_rule(app):
    assert run_import(app, {"institutions.csv": csv_bytes(GOOD)}).ok
    header = "机构编码,机构类别,机构名称,所属区县,成立日期,医疗机构类型\n"
    moved = plan_for(app, {"institutions.csv": csv_bytes(
        header + "YY-T-1,医疗卫生机构,测试颐养院医务室,电白区,2021-03-01,医务室\n")})
    assert [str(e) for e in moved.errors] == ["institutions.csv 第 2 行 所属区县：内设机构须与设立单位在同一区县（茂南区）"]
    renamed = run_import(app, {"institutions.csv": csv_bytes(
        header + "YY-T-1,医疗卫生机构,测试颐养院卫生室,茂南区,2021-03-01,医务室\n")})
    assert renamed.counts()["institutions"] == {"create": 0, "update": 1, "unchanged": 0}
    with app.app_context():
        clinic = db.session.scalar(select(Institution).where(Institution.code == "YY-T-1"))
        assert clinic.name == "测试颐养院卫生室" and clinic.host.code == "YL-T-9"


def test_an_agreement_row_with_an_empty_party_cell_keeps_the_party_it_has(app):
    institutions = HEADER + ("YL-K,养老机构,签约养老院,茂南区,2019-01-01,80,,,,\n"
                             "YY-K,医疗卫生机构,签约医院,茂南区,2010-01-01,,,综合医院,,\n")
    first = AGREEMENT_HEADER + "XY-K,YL-K,YY-K,2021-01-01,2025-12-31,双向转诊\n"
    assert run_import(app, {"institutions.csv": csv_bytes(institutions), "agreements.csv": csv_bytes(first)}).ok
    same = run_import(app, {"agreements.csv": csv_bytes(AGREEMENT_HEADER + "XY-K,,YY-K,2021-01-01,2025-12-31,双向转诊\n")})
    assert same.ok and same.counts()["agreements"] == {"create": 0, "update": 0, "unchanged": 1}
    longer = run_import(app, {"agreements.csv": csv_bytes(
        AGREEMENT_HEADER + "XY-K,YL-K,,2021-01-01,2026-12-31,双向转诊;上门巡诊\n")})
    assert longer.ok and longer.counts()["agreements"] == {"create": 0, "update": 1, "unchanged": 0}
    with app.app_context():
        agreement = db.session.scalar(select(Agreement))
        assert (agreement.eldercare.code, agreement.medical.code) == ("YL-K", "YY-K")
        assert agreement.valid_to == date(2026, 12, 31) and agreement.services == ["上门巡诊", "双向转诊"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "agreements")
                                  .order_by(AuditEvent.id.desc()).limit(1))
        assert event.before["services"] == ["双向转诊"] and event.after["services"] == ["双向转诊", "上门巡诊"]


def test_kind_never_changes_on_import(app):
    run_import(app, {"institutions.csv": csv_bytes(GOOD)})
    plan = plan_for(app, {"institutions.csv": csv_bytes(
        HEADER + "YL-T-9,医疗卫生机构,被引用的养老院,茂南区,2019-05-01,,,综合医院,,\n")})
    assert any("类别不能更改" in str(e) for e in plan.errors)


def test_agreements_refer_to_institutions_in_the_same_workbook(app):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "机构"
    sheet.append(["机构编码", "机构类别", "机构名称", "所属区县", "成立日期", "床位数", "医疗机构类型"])
    sheet.append(["YL-W", "养老机构", "工作簿养老院", "茂南区", date(2020, 1, 1), 120, None])
    sheet.append(["YY-W", "医疗卫生机构", "工作簿医院", "茂南区", date(2010, 1, 1), None, "综合医院"])
    agreements = workbook.create_sheet("签约协议")
    agreements.append(["协议编号", "养老机构编码", "医疗机构编码", "生效日期", "到期日期", "服务内容"])
    agreements.append([None, "YL-W", "YY-W", date(2021, 1, 1), "2025-12-31", "双向转诊;预约就诊绿色通道"])
    agreements.append(["XY-BAD", "YY-W", "YL-W", date(2021, 1, 1), "2025-12-31", "双向转诊"])
    stream = io.BytesIO()
    workbook.save(stream)
    plan = plan_for(app, {"registry.xlsx": stream.getvalue()})
    assert [str(e) for e in plan.errors] == ["工作表“签约协议” 第 3 行 养老机构编码：YY-W 不是养老机构"]
    agreements.delete_rows(3)
    stream = io.BytesIO()
    workbook.save(stream)
    plan = run_import(app, {"registry.xlsx": stream.getvalue()})
    assert plan.ok and plan.counts()["agreements"]["create"] == 1
    with app.app_context():
        agreement = db.session.scalar(select(Agreement))
        assert agreement.services == ["预约就诊绿色通道", "双向转诊"] and agreement.valid_to == date(2025, 12, 31)


def test_export_import_export_is_the_identity(app, make):
    home = make.home(name="=HYPERLINK(\"http://x\")养老院", lat=21.66123, lon=110.92345, uscc="91110000600037341L",
                     address="+86 油城路")
    clinic = make.medical(host=home, medical_type="医务室", insurance_applied_on=date(2021, 5, 1))
    hospital = make.medical(name="@医院", level="二级")
    make.agreement(home, hospital, terminated_on=date(2024, 1, 1), fees="-免费")
    del clinic
    with app.app_context():
        first = exports.export_all(select(Institution), select(Agreement))
        csv_text = first["institutions.csv"].decode("utf-8-sig")
        assert "'=HYPERLINK" in csv_text and "'@医院" in csv_text and "'+86" in csv_text
        assert first["institutions.csv"].startswith(b"\xef\xbb\xbf")
    with app.app_context():
        db.session.execute(Agreement.__table__.delete())
        db.session.execute(Institution.__table__.update().values(host_id=None))
        db.session.execute(Institution.__table__.delete())
        db.session.commit()
    plan = run_import(app, {"institutions.csv": first["institutions.csv"], "agreements.csv": first["agreements.csv"]})
    assert plan.ok, [str(e) for e in plan.errors]
    with app.app_context():
        second = exports.export_all(select(Institution), select(Agreement))
        assert second["institutions.csv"] == first["institutions.csv"]
        assert second["agreements.csv"] == first["agreements.csv"]
        name = db.session.scalar(select(Institution.name).where(Institution.name.like("%HYPERLINK%")))
        assert name.startswith("=HYPERLINK")
    workbook = load_workbook(io.BytesIO(second["registry.xlsx"]))
    assert workbook.sheetnames == ["机构", "签约协议"]
    assert workbook["机构"]["A1"].value == "机构编码"


def test_files_that_are_not_what_they_say_are_refused(app):
    with app.app_context():
        with pytest.raises(exchange.FileRefused, match="不是 Excel 工作簿"):
            exchange.read_upload(b"plain text, not a zip", "x.xlsx")
        with pytest.raises(exchange.FileRefused, match="不是 CSV 文本"):
            exchange.read_upload(b"PK\x03\x04 a zip", "x.csv")
        with pytest.raises(exchange.FileRefused, match="只能导入"):
            exchange.read_upload(b"x", "x.pdf")
        with pytest.raises(exchange.FileRefused, match="超过 10 MB"):
            exchange.read_upload(b"a" * (10 * 1024 * 1024 + 1), "big.csv")


def test_a_zip_bomb_is_refused_before_parsing(app):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (210 * 1024 * 1024))
    with app.app_context(), pytest.raises(exchange.FileRefused, match="解压后过大"):
        exchange.read_upload(stream.getvalue(), "bomb.xlsx")


def test_the_template_has_chinese_headers_and_allowed_values(app):
    with app.app_context():
        workbook = load_workbook(io.BytesIO(exports.template()))
    assert workbook.sheetnames[:3] == ["机构", "签约协议", "可选值"]
    assert [c.value for c in workbook["机构"][1]][:3] == ["机构编码", "机构类别", "机构名称"]
    allowed = [c.value for c in workbook["可选值"]["B"]]
    assert "茂南区" in allowed and "茂名滨海新区" in allowed


def test_the_cli_exports_and_imports_a_folder(app, runner, make, tmp_path):
    home = make.home(name="命令行养老院")
    make.agreement(home, make.medical(name="命令行医院"))
    result = runner.invoke(args=["registry", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["agreements.csv", "institutions.csv",
                                                                     "registry.xlsx"]
    again = runner.invoke(args=["registry", "import", str(tmp_path / "out"), "--dry-run"])
    assert again.exit_code == 0, again.output
    assert "institutions: 0 to create, 0 to update, 2 unchanged" in again.output


def test_the_cli_import_reports_bad_rows_and_exits_non_zero(app, runner, tmp_path):
    path = tmp_path / "institutions.csv"
    path.write_text(HEADER + ",养老机构,坏行,茂南区,2020-13-01,10,,,,\n", encoding="utf-8")
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "institutions.csv 第 2 行 成立日期" in result.output
    assert count(app, Institution) == 0


def test_a_cli_import_on_postgresql_refreshes_the_planner_statistics(app, runner, tmp_path):
    """Without fresh statistics a plan prepared on the empty table scans it per lookup (minutes at 100,000)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite plans every statement afresh")
    path = tmp_path / "institutions.csv"
    path.write_text(HEADER + "".join(f",养老机构,统计养老院{n},茂南区,2020-01-01,10,,,,\n" for n in range(37)),
                    encoding="utf-8")
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tuples = db.session.execute(select(func.max(text("reltuples"))).select_from(text("pg_class"))
                                    .where(text("relname = 'institutions'"))).scalar()
    assert tuples == 37


def test_the_new_columns_go_out_and_back_in_unchanged(app, client, make, admin):
    """Rating, 两证合一, special support, contact and note travel in the exchange format and the API."""
    home = make.home(rating="3星", special_support=True, contact_person="陈主任", phone="0668-1234567",
                     note="第一行\n第二行")
    make.medical(host=home, medical_type="医务室", two_in_one=True)
    with app.app_context():
        first = exports.export_all(select(Institution), select(Agreement))
    text = first["institutions.csv"].decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    for label in ("等级评定", "两证合一", "特困供养机构", "联系人", "联系电话", "备注"):
        assert label in header
    assert "3星" in text and "陈主任" in text and "0668-1234567" in text
    with app.app_context():
        db.session.execute(Institution.__table__.update().values(host_id=None))
        db.session.execute(Institution.__table__.delete())
        db.session.commit()
    plan = run_import(app, {"institutions.csv": first["institutions.csv"]})
    assert plan.ok, [str(e) for e in plan.errors]
    with app.app_context():
        again = exports.export_all(select(Institution), select(Agreement))
        assert again["institutions.csv"] == first["institutions.csv"]
        restored = db.session.scalar(select(Institution).where(Institution.kind == "eldercare"))
        assert restored.special_support is True and restored.note == "第一行\n第二行"
        assert db.session.scalar(select(Institution.two_in_one).where(Institution.kind == "medical")) is True
        restored_id = restored.id
    record = client.get(f"/api/v1/institutions/{restored_id}").get_json()
    assert record["rating"] == "3星" and record["special_support"] is True and record["contact_person"] == "陈主任"


def test_a_yes_no_cell_is_read_and_anything_else_named(app):
    text = "机构类别,机构名称,所属区县,成立日期,床位数,特困供养机构\n养老机构,敬老院甲,茂南区,2020-01-01,30,√\n养老机构,敬老院乙,茂南区,2020-01-01,30,也许\n"
    plan = plan_for(app, {"institutions.csv": csv_bytes(text)})
    assert [str(e) for e in plan.errors] == ["institutions.csv 第 3 行 特困供养机构：应为“是”或“否”，而不是“也许”"]


def test_an_import_written_in_batches_gives_each_record_its_own_audit_and_host(app, monkeypatch):
    """A file longer than a batch: units after their hosts, each audit event on its own record, updates too."""
    from registry.services.imports import applying

    monkeypatch.setattr(applying, "BATCH", 2)
    homes = "".join(f"YL-B-{n},养老机构,分批养老院{n},茂南区,2019-05-01,{10 + n},,,,\n" for n in range(5))
    units = "".join(f"YY-B-{n},医疗卫生机构,分批医务室{n},茂南区,2021-03-01,,,医务室,YL-B-{n},\n" for n in range(5))
    agreements = AGREEMENT_HEADER + "".join(
        f"XY-B-{n},YL-B-{n},YY-B-{(n + 1) % 5},2022-01-01,2024-12-31,健康管理\n" for n in range(5))
    plan = run_import(app, {"institutions.csv": csv_bytes(HEADER + units + homes),
                            "agreements.csv": csv_bytes(agreements)})
    assert plan.ok, [str(e) for e in plan.errors]
    with app.app_context():
        held = db.session.scalar(select(Institution).where(Institution.code == "YL-B-0"))  # loaded before the update
        for n in range(5):
            unit = db.session.scalar(select(Institution).where(Institution.code == f"YY-B-{n}"))
            assert unit.host.code == f"YL-B-{n}"
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import",
                                                             AuditEvent.entity_id.is_not(None))).all()
        assert len(events) == 15
        for event in events:
            model = Institution if event.entity == "institutions" else Agreement
            assert db.session.get(model, event.entity_id).code == event.after["code"]
        sheets = exchange.read_upload(csv_bytes(HEADER + homes.replace(",2019-05-01,", ",2018-05-01,")),
                                      "institutions.csv")
        update = imports.plan(sheets, None)
        assert update.counts()["institutions"] == {"create": 0, "update": 5, "unchanged": 0}
        imports.apply(update, None, "test")
        db.session.commit()
        assert held.opened_on == date(2018, 5, 1)  # the caller's object is refreshed, not let go stale
        changed = [e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "institutions"))
                   if e.before]
        assert sorted(e.before["code"] for e in changed) == [f"YL-B-{n}" for n in range(5)]
        assert all(e.before["opened_on"] == "2019-05-01" and e.after["opened_on"] == "2018-05-01" for e in changed)

"""Importing bureaus' own spreadsheets through the command line (docs/exchange-format.md, "Bureaus' own spreadsheets")."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import Agreement, Institution
from registry.services.formats.columns import INSTITUTIONS
from tests.bureau_corpus import AGREEMENTS, HOMES, MEDICAL_INSTITUTIONS, write_corpus
from tests.conftest import count
from tests.factories import DIANBAI, GAOZHOU, MAONAN


@pytest.fixture()
def corpus(tmp_path) -> Path:
    write_corpus(tmp_path)
    return tmp_path


def run(runner, path: Path, *options: str):
    return runner.invoke(args=["registry", "import", str(path), *options])


def imported(runner, path: Path, *options: str):
    result = run(runner, path, *options)
    assert result.exit_code == 0, result.output
    return result


def assert_institutions(app, expected: tuple[dict, ...]) -> None:
    """Each field of each expected record, as the register holds it; a host by its name."""
    with app.app_context():
        for record in expected:
            institution = db.session.scalars(select(Institution).where(Institution.name == record["name"])).one()
            for key, value in record.items():
                if key == "host_code":
                    assert institution.host is not None and institution.host.name == value, record["name"]
                else:
                    assert getattr(institution, INSTITUTIONS.column(key).field) == value, (record["name"], key)
            if "host_code" not in record:
                assert institution.host is None, record["name"]


def assert_agreements(app) -> None:
    """Each expected agreement: its parties (by name), dates, services and free text."""
    with app.app_context():
        agreements = db.session.scalars(select(Agreement)).all()
        assert len(agreements) == len(AGREEMENTS)
        by_home = {a.eldercare.name: a for a in agreements}
        for record in AGREEMENTS:
            agreement = by_home[record["eldercare_code"]]
            assert agreement.medical.name == record["medical_code"]
            for key in ("signed_on", "valid_from", "valid_to", "visit_frequency", "fees"):
                assert (getattr(agreement, key) or None) == record.get(key), (record["eldercare_code"], key)
            assert sorted(agreement.services) == sorted(record["services"])


@pytest.mark.parametrize("suffix", ["xlsx", "xls"])
def test_a_combined_workbook_is_imported_whole_and_a_reimport_changes_nothing(app, runner, corpus, suffix):
    """No --kind: each sheet's kind is told by the columns only one kind has (床位数; 机构类别 of 医务室, 医院等级)."""
    result = imported(runner, corpus / f"combined.{suffix}")
    assert "institutions: 10 to create" in result.output and "agreements: 3 to create" in result.output
    assert_institutions(app, HOMES + MEDICAL_INSTITUTIONS)
    assert_agreements(app)
    again = imported(runner, corpus / f"combined.{suffix}")
    assert "institutions: 0 to create, 0 to update, 10 unchanged" in again.output
    assert "agreements: 0 to create, 0 to update, 3 unchanged" in again.output


@pytest.mark.parametrize("suffix", ["xlsx", "xls", "csv"])
def test_each_bureau_register_is_imported_on_its_own(app, runner, make, corpus, suffix):
    """民政's homes, then 卫健's medical register (a home's clinic named with its host), then the agreements."""
    # The home set up by the 卫生院 names it; the 卫生院 is registered before, and updated by the medical file.
    make.medical(region="440982", name="化州市平定镇卫生院", medical_type="卫生院", opened_on=date(1958, 3, 1))
    imported(runner, corpus / f"homes.{suffix}", "--kind", "eldercare")
    imported(runner, corpus / f"medical.{suffix}", "--kind", "medical")
    imported(runner, corpus / f"agreements.{suffix}")
    assert_institutions(app, HOMES + MEDICAL_INSTITUTIONS)
    assert_agreements(app)
    for stem, kind in (("homes", "eldercare"), ("medical", "medical")):
        again = imported(runner, corpus / f"{stem}.{suffix}", "--kind", kind)
        assert "institutions: 0 to create, 0 to update" in again.output, again.output
    assert "agreements: 0 to create, 0 to update, 3 unchanged" in imported(
        runner, corpus / f"agreements.{suffix}").output


def test_the_exchange_format_still_goes_in_as_before(app, runner, make, tmp_path):
    make.agreement(make.home(name="交换格式养老院"), make.medical(name="交换格式医院"))
    exported = runner.invoke(args=["registry", "export", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    for name in ("registry.xlsx", "institutions.csv"):
        again = imported(runner, tmp_path / "out" / name, "--dry-run")
        assert "institutions: 0 to create, 0 to update, 2 unchanged" in again.output


# --- a small bureau sheet written here ------------------------------------------------------


def write_sheet(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A GB18030 CSV as a bureau keeps it: a title, a 填报单位 line, then the table."""
    with path.open("w", encoding="gb18030", newline="") as out:
        writer = csv.writer(out)
        writer.writerows([["茂名市医疗卫生机构情况表"], ["填报单位：测试局", "", "填报日期：2024年1月1日"], header, *rows])
    return path


CLINICS = ["序号", "机构名称", "所在县（市、区）", "机构类别", "举办单位", "开业时间"]


def test_a_host_named_twice_is_decided_by_the_region(app, runner, make, tmp_path):
    home_maonan = make.home(MAONAN, name="同名养老院")
    make.home(GAOZHOU, name="同名养老院")
    path = write_sheet(tmp_path / "clinics.csv", CLINICS, [["1", "同名养老院医务室", "茂南", "医务室", "同名养老院", "2021.3.1"]])
    imported(runner, path, "--kind", "medical")
    with app.app_context():
        clinic = db.session.scalars(select(Institution).where(Institution.name == "同名养老院医务室")).one()
        assert clinic.host_id == home_maonan


def test_a_host_name_the_region_cannot_decide_is_an_error_naming_the_candidates(app, runner, make, tmp_path):
    first, second = make.home(MAONAN, name="同名养老院"), make.home(GAOZHOU, name="同名养老院")
    with app.app_context():
        codes = [db.session.get(Institution, i).code for i in (first, second)]
    path = write_sheet(tmp_path / "clinics.csv", CLINICS, [["1", "同名养老院医务室", "电白", "医务室", "同名养老院", "2021.3.1"]])
    result = run(runner, path, "--kind", "medical")
    assert result.exit_code == 1
    assert "clinics.csv 第 4 行 举办单位：名称“同名养老院”对应多个养老机构" in result.output
    assert f"同名养老院（{codes[0]}，茂南区）" in result.output and f"同名养老院（{codes[1]}，高州市）" in result.output
    assert count(app, Institution) == 2


def test_two_homes_of_one_name_in_one_region_are_an_error_naming_both(app, runner, make, tmp_path):
    ids = [make.home(DIANBAI, name="同名养老院"), make.home(DIANBAI, name="同名养老院")]
    with app.app_context():
        codes = [db.session.get(Institution, i).code for i in ids]
    path = write_sheet(tmp_path / "clinics.csv", CLINICS, [["1", "同名养老院医务室", "电白", "医务室", "同名养老院", "2021.3.1"]])
    result = run(runner, path, "--kind", "medical")
    assert result.exit_code == 1
    assert all(f"同名养老院（{code}，电白区）" in result.output for code in codes), result.output


def test_a_party_named_in_the_same_file_is_found_and_a_missing_one_is_named(app, runner, tmp_path):
    path = write_sheet(tmp_path / "agreements.csv", ["序号", "养老机构名称", "签约医疗卫生机构名称", "协议有效期", "服务内容"],
                       [["1", "不存在的养老院", "不存在的医院", "2021年1月1日至2023年12月31日", "双向转诊"]])
    result = run(runner, path)
    assert result.exit_code == 1
    assert "agreements.csv 第 4 行 养老机构名称：未找到名为“不存在的养老院”的养老机构" in result.output
    assert "agreements.csv 第 4 行 签约医疗卫生机构名称：未找到名为“不存在的医院”的医疗卫生机构" in result.output


def test_a_date_without_its_day_is_named_with_its_row_and_column(app, runner, tmp_path):
    path = write_sheet(tmp_path / "homes.csv", ["序号", "单位名称", "所在县（市、区）", "开办时间", "床位数（张）"],
                       [["1", "缺日养老院", "茂南", "2019年3月", "50张"], ["2", "好养老院", "茂南", "2019年3月1日", "50"]])
    result = run(runner, path, "--kind", "eldercare")
    assert result.exit_code == 1
    assert "homes.csv 第 4 行 开办时间：“2019年3月”缺少日，请填写完整日期（如 2019年3月15日）" in result.output
    assert "成立日期" not in result.output  # the unreadable cell is not also reported missing
    assert "1 errors" in result.output
    assert count(app, Institution) == 0


def test_a_sheet_with_no_kind_to_tell_asks_for_kind(app, runner, tmp_path):
    path = write_sheet(tmp_path / "list.csv", ["序号", "单位名称", "所在县（市、区）", "开办时间"],
                       [["1", "不知类别的机构", "茂南", "2019年3月1日"]])
    result = run(runner, path)
    assert result.exit_code == 1
    assert "list.csv 第 3 行：无法判断机构类别" in result.output and "--kind" in result.output

"""Bureaus' own spreadsheets (docs/exchange-format.md, "Bureaus' own spreadsheets"): finding the table in a sheet and what each column means."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from registry.services.formats import bureau_tables
from registry.services.formats.bureau_tables import (
    FIELD_HOMES,
    SYNONYMS_FILE,
    ColumnGuess,
    find_table,
    find_tables,
    load_synonyms,
    normalise,
)
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS

TITLE = ["茂名市2023年养老机构基本情况统计表", None, None, None, None, None, None, None]
FILLED_BY = ["填报单位：茂南区民政局（盖章）", None, None, None, None, "填报日期：2023年5月10日", None, None]


def eldercare_sheet() -> list[list]:
    """A district's register as kept: title, 填报单位 line, two-row header, 合计, footer, note."""
    return [
        TITLE,
        FILLED_BY,
        [None] * 8,
        ["序号", "单位名称", "所在县（市、区）", "开办时间", "床位数", None, "机构性质", "备注"],
        [None, None, None, None, "总数", "其中：护理型", None, None],
        [1, "茂南区社会福利中心", "茂南", date(2010, 3, 1), "150张", 80, "公办", None],
        [2, "茂南区金康老年公寓", "茂南", "2019年3月15日", 60, 20, "民办", "新建"],
        [3, None, "茂南", "2019.3.15", 30, 0, "民办", None],
        [4, None, None, None, None, None, None, None],
        [None] * 8,
        ["合  计", None, None, None, 240, 100, None, None],
        ["填表人：张三", None, "审核人：李四", None, "联系电话：0668-2222222", None, None, None],
        ["注：1、床位数以备案为准。", None, None, None, None, None, None, None],
    ]


def columns_by_header(table) -> dict[str, ColumnGuess]:
    return {c.header: c for c in table.columns}


def fields_of(table) -> dict[str, str | None]:
    return {c.header: c.field for c in table.columns}


# --- normalising headers ----------------------------------------------------------------------


@pytest.mark.parametrize(("header", "normalised"), [
    ("床位数（张）", "床位数"),
    ("床位数(张)", "床位数"),
    ("床位数/张", "床位数"),
    ("床位数张", "床位数"),
    ("所在县（市、区）", "所在县"),
    ("其中：护理型床位", "护理型床位"),
    ("其中护理型床位", "护理型床位"),
    ("*机构名称", "机构名称"),
    (" 机构\n名称 ", "机构名称"),
    ("机构名称【必填】", "机构名称"),
    ("统一社会信用代码（或组织机构代码（旧））", "统一社会信用代码"),
    ("ＮＯ．", "no."),
    ("机构名称：", "机构名称"),
    ("联系人", "联系人"),  # 人 is a unit only after 数 or a separator
    ("实际入住人数（人）", "实际入住人数"),
    (None, ""),
])
def test_headers_are_matched_after_normalising(header, normalised):
    assert normalise(header) == normalised


# --- the synonyms file ------------------------------------------------------------------------


def synonym_lines() -> list[dict[str, str]]:
    with SYNONYMS_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_synonyms_file_is_sorted_by_field_without_repeats():
    lines = synonym_lines()
    fields = [line["field"] for line in lines]
    assert fields == sorted(fields)
    keys = [(line["field"], line["synonym"], line["kind"]) for line in lines]
    assert len(keys) == len(set(keys))


def test_every_synonym_names_a_known_field_and_kind():
    for line in synonym_lines():
        assert line["field"] in FIELD_HOMES, line
        assert line["kind"] in ("", "eldercare", "medical"), line


def test_the_exchange_labels_are_synonyms_too():
    """A sheet exported by the registry and edited by hand is still understood."""
    synonyms = load_synonyms()
    for table in (INSTITUTIONS, AGREEMENTS):
        for column in table.columns:
            fields = {s.field for s in synonyms.exact(normalise(column.label))}
            fields |= {s.field for s in synonyms.exact(column.key)}
            assert column.key in fields or column.key == "level", column  # 医院等级 holds 三级甲等


def test_an_unknown_field_in_a_synonyms_file_is_refused(tmp_path):
    path = tmp_path / "synonyms.csv"
    path.write_text("field,synonym,kind\nbeds,床位\n", encoding="utf-8")
    with pytest.raises(ValueError, match="beds"):
        load_synonyms(path)


def test_a_synonyms_file_without_a_kind_column_means_any_kind(tmp_path):
    path = tmp_path / "synonyms.csv"
    path.write_text("field,synonym\nname,院名\nregion,镇区\n", encoding="utf-8")
    rows = [["院名", "镇区"], ["高州市颐养院", "高州"]]
    table = find_table(rows, kind="eldercare", synonyms=load_synonyms(path))
    assert fields_of(table) == {"院名": "name", "镇区": "region"}


def test_a_synonym_with_a_kind_applies_to_that_kind_only(tmp_path):
    path = tmp_path / "synonyms.csv"
    path.write_text("field,synonym,kind\nname,院名,\nregion,镇区,\nnote,情况,medical\n", encoding="utf-8")
    synonyms = load_synonyms(path)
    rows = [["院名", "镇区", "情况"], ["化州市人民医院", "化州", "在建"]]
    assert fields_of(find_table(rows, kind="medical", synonyms=synonyms))["情况"] == "note"
    assert fields_of(find_table(rows, kind="eldercare", synonyms=synonyms))["情况"] is None
    assert fields_of(find_table(rows, synonyms=synonyms))["情况"] == "note"  # kind unknown: every synonym


# --- one header in other words ----------------------------------------------------------------


INSTITUTION_HEADERS = [
    ("单位名称", "name"), ("机构名称", "name"), ("养老机构名称", "name"), ("医疗机构名称", "name"),
    ("所在县（市、区）", "region"), ("县区", "region"), ("所属区县", "region"), ("所在地", "region"),
    ("成立时间", "opened_on"), ("开办时间", "opened_on"), ("成立日期", "opened_on"),
    ("床位", "beds_total"), ("床位数", "beds_total"), ("核定床位", "beds_total"), ("床位数（张）", "beds_total"),
    ("护理型床位", "beds_nursing"), ("其中：护理型床位", "beds_nursing"),
    ("机构性质", "ownership"), ("举办性质", "ownership"), ("性质", "ownership"),
    ("举办单位", "host_name"), ("设立单位", "host_name"), ("举办单位名称", "host_name"),
    ("统一社会信用代码", "uscc"), ("信用代码", "uscc"),
    ("地址", "address"), ("详细地址", "address"), ("所在地址", "address"),
    ("联系人", "contact_person"), ("负责人", "contact_person"),
    ("联系电话", "phone"), ("电话", "phone"), ("负责人电话", "phone"),
    ("备注", "note"), ("停业时间", "closed_on"),
    ("星级", "rating"), ("等级评定", "rating"),
    ("特困供养机构", "special_support"), ("备案号", "filing_no"),
    ("name", "name"), ("REGION", "region"),  # the exchange format's keys
]
MEDICAL_HEADERS = [
    ("医院等级", "level_grade"), ("等级", "level_grade"),
    ("登记号", "licence_no"), ("许可证号", "licence_no"), ("执业许可证登记号", "licence_no"),
    ("医疗机构类型", "medical_type"), ("是否医保定点", "insurance_designated"),
    ("医保定点申请时间", "insurance_applied_on"), ("医保定点时间", "insurance_designated_on"),
    ("两证合一", "two_in_one"),
]
AGREEMENT_HEADERS = [
    ("签约医疗卫生机构名称", "medical_name"), ("签约医疗机构", "medical_name"), ("医疗机构名称", "medical_name"),
    ("养老机构", "eldercare_name"), ("养老机构名称", "eldercare_name"),
    ("协议有效期", "period"), ("有效期", "period"), ("签约期限", "period"),
    ("签约时间", "signed_on"), ("签订日期", "signed_on"),
    ("有效期起", "valid_from"), ("有效期至", "valid_to"), ("终止日期", "terminated_on"),
    ("服务内容", "services"), ("签约服务内容", "services"), ("巡诊频次", "visit_frequency"),
    ("养老机构编码", "eldercare_code"), ("医疗机构编码", "medical_code"), ("协议编号", "code"),
]


@pytest.mark.parametrize(("header", "expected"), INSTITUTION_HEADERS)
def test_eldercare_headers_in_other_words(header, expected):
    rows = [["序号", header, "备用"], [1, "甲", "乙"]]
    if expected == "name":
        rows = [["序号", header, "床位数"], [1, "茂南区社会福利中心", 100]]
    table = find_table(rows, kind="eldercare", table="institutions")
    assert table.columns[1].field == expected


@pytest.mark.parametrize(("header", "expected"), MEDICAL_HEADERS)
def test_medical_headers_in_other_words(header, expected):
    rows = [["序号", "机构名称", header], [1, "茂名市人民医院", "x"]]
    table = find_table(rows, kind="medical", table="institutions")
    assert table.columns[2].field == expected


@pytest.mark.parametrize(("header", "expected"), AGREEMENT_HEADERS)
def test_agreement_headers_in_other_words(header, expected):
    rows = [["序号", "费用约定", header], [1, "免费", "x"]]
    table = find_table(rows, table="agreements")
    assert table.columns[2].field == expected


def test_a_synonym_inside_a_longer_header_is_found():
    rows = [["机构详细地址", "单位负责人", "养老机构床位总数", "实际入住人数（人）"],
            ["茂名市茂南区油城路1号", "王五", 120, 80]]
    table = find_table(rows, kind="eldercare")
    assert fields_of(table) == {"机构详细地址": "address", "单位负责人": "contact_person",
                                "养老机构床位总数": "beds_total", "实际入住人数（人）": None}


def test_the_longest_synonym_inside_a_header_wins():
    rows = [["机构名称", "联系人及电话"], ["茂南区社会福利中心", "王五 13800000000"]]
    contact = find_table(rows, kind="eldercare").columns[1]
    assert contact.field == "contact_person"
    assert "phone" in contact.alternatives


def test_an_unmatched_header_is_left_for_the_user():
    rows = [["机构名称", "所属区县", "入住老人数"], ["茂南区社会福利中心", "茂南", 80]]
    column = find_table(rows, kind="eldercare").columns[2]
    assert (column.header, column.field, column.alternatives, column.samples) == ("入住老人数", None, (), (80,))


def test_two_columns_meaning_one_field_leave_the_second_unmapped():
    rows = [["机构名称", "所属区县", "联系人", "负责人"], ["茂南区社会福利中心", "茂南", "王五", "赵六"]]
    table = find_table(rows, kind="eldercare")
    contact, head = table.columns[2], table.columns[3]
    assert contact.field == "contact_person"
    assert (head.field, head.alternatives[0]) == (None, "contact_person")


def test_an_exact_match_keeps_a_field_before_a_partial_one():
    rows = [["机构名称", "机构详细地址", "地址"], ["茂南区社会福利中心", "油城路1号", "油城路"]]
    table = find_table(rows, kind="eldercare")
    assert [c.field for c in table.columns] == ["name", None, "address"]


# --- ambiguous headers, decided by their values -----------------------------------------------


@pytest.mark.parametrize(("header", "values", "expected"), [
    ("机构类别", ["医务室", "卫生院", "村卫生室"], "medical_type"),
    ("类别", ["医务室", "卫生院"], "medical_type"),
    ("类型", ["社区卫生服务中心", "护理站"], "medical_type"),
    ("机构类别", ["养老机构", "医疗卫生机构", "养老机构"], "kind"),
    ("机构类型", ["养老机构", "医疗机构"], "kind"),
    ("等级", ["三级甲等", "二级乙等", "一级"], "level_grade"),
    ("等级", ["三星", "五星"], "rating"),
    ("等级", ["3A", "4A"], "rating"),
    ("等级", ["四级", "五级"], "rating"),  # GB/T 37276 grades homes 一级 to 五级; hospitals stop at 三级
])
def test_a_header_that_could_mean_two_fields_is_decided_by_its_values(header, values, expected):
    rows = [["机构名称", "所属区县", header]] + [[f"机构{i}", "茂南", v] for i, v in enumerate(values)]
    column = find_table(rows).columns[2]
    assert column.field == expected
    assert column.alternatives  # the other meaning stays on offer


@pytest.mark.parametrize("values", [[], ["敬老院", "福利院"]])
def test_values_that_do_not_tell_leave_the_choice_to_the_user(values):
    rows = [["机构名称", "所属区县", "机构类别"]] + [[f"机构{i}", "茂南", v] for i, v in enumerate(values)]
    rows.append(["茂南区社会福利中心", "茂南", None])
    column = find_table(rows).columns[2]
    assert column.field is None
    assert set(column.alternatives) == {"kind", "medical_type"}


def test_the_sheets_kind_decides_before_the_values():
    rows = [["机构名称", "所属区县", "等级"], ["茂南区社会福利中心", "茂南", None]]
    assert find_table(rows, kind="medical").columns[2].field == "level_grade"
    assert find_table(rows, kind="eldercare").columns[2].field == "rating"


def test_a_field_of_the_other_kind_is_not_proposed():
    rows = [["机构名称", "所属区县", "床位数", "医院等级"], ["茂名市人民医院", "茂南", 800, "三级甲等"]]
    assert [c.field for c in find_table(rows, kind="medical").columns] == ["name", "region", None, "level_grade"]
    assert [c.field for c in find_table(rows, kind="eldercare").columns] == ["name", "region", "beds_total", None]


# --- finding the header and the data ----------------------------------------------------------


def test_a_district_register_as_kept():
    table = find_table(eldercare_sheet(), "Sheet1", kind="eldercare")
    assert (table.sheet, table.table, table.header_rows) == ("Sheet1", "institutions", (4, 5))
    assert fields_of(table) == {
        "序号": None, "单位名称": "name", "所在县（市、区）": "region", "开办时间": "opened_on",
        "床位数 / 总数": "beds_total", "床位数 / 其中：护理型": "beds_nursing", "机构性质": "ownership",
        "备注": "note",
    }
    assert table.columns[0].sequence
    assert [number for number, _row in table.rows] == [6, 7]
    assert table.skipped == [(1, "标题行"), (2, "填报单位行"), (11, "合计/小计行"), (12, "填表人/审核人行"),
                             (13, "注：说明行")]
    assert table.errors == [(8, "第 8 行有序号但没有机构名称")]
    assert table.empty_rows == 3  # row 3, the numbered line left blank (9) and row 10


def test_samples_are_the_first_three_values_as_the_cells_gave_them():
    rows = [["机构名称", "开办时间"], ["甲院", date(2010, 3, 1)], ["乙院", None], ["丙院", "2019年3月15日"],
            ["丁院", "2019.3.15"], ["戊院", 43539]]
    columns = find_table(rows, kind="eldercare").columns
    assert columns[0].samples == ("甲院", "乙院", "丙院")
    assert columns[1].samples == (date(2010, 3, 1), "2019年3月15日", "2019.3.15")


def test_fields_gives_the_position_of_each_proposed_field():
    table = find_table(eldercare_sheet(), kind="eldercare")
    assert table.fields() == {"name": 1, "region": 2, "opened_on": 3, "beds_total": 4, "beds_nursing": 5,
                              "ownership": 6, "note": 7}


def test_medical_insurance_under_one_merged_parent():
    rows = [
        ["茂名市医疗卫生机构医养结合情况表", None, None, None, None, None],
        ["序号", "医疗机构名称", "所在县区", "医保定点情况", None, "医院等级"],
        [None, None, None, "申请时间", "定点时间", None],
        [1, "茂名市人民医院", "茂南", "2015年3月1日", "2015年6月1日", "三级甲等"],
    ]
    table = find_table(rows, kind="medical")
    assert table.header_rows == (2, 3)
    assert fields_of(table) == {"序号": None, "医疗机构名称": "name", "所在县区": "region",
                                "医保定点情况 / 申请时间": "insurance_applied_on",
                                "医保定点情况 / 定点时间": "insurance_designated_on", "医院等级": "level_grade"}
    assert table.skipped == [(1, "标题行")]


def test_a_parent_with_no_children_below_stands_alone():
    rows = [
        ["机构名称", "所在县区", "医保定点情况", "床位数", None],
        [None, None, None, "总数", "护理型床位"],
        ["茂名市人民医院", "茂南", "是", 800, 0],
    ]
    table = find_table(rows, kind="medical")
    assert fields_of(table) == {"机构名称": "name", "所在县区": "region", "医保定点情况": "insurance_designated",
                                "床位数 / 总数": None, "床位数 / 护理型床位": None}  # beds are eldercare's
    table = find_table(rows, kind="eldercare")
    assert fields_of(table)["床位数 / 护理型床位"] == "beds_nursing"


def test_a_one_row_header_is_not_joined_to_the_first_data_row():
    rows = [["机构名称", "所在县区", "床位数"], ["茂南区社会福利中心", "茂南", "150张"]]
    table = find_table(rows, kind="eldercare")
    assert table.header_rows == (1,)
    assert table.rows == [(2, ["茂南区社会福利中心", "茂南", "150张"])]


def test_a_title_holding_a_synonym_is_not_the_header():
    rows = [["养老机构名称及床位数登记表", None, None], ["机构名称", "所在县区", "床位数"], ["甲院", "茂南", 10]]
    table = find_table(rows, kind="eldercare")
    assert table.header_rows == (2,)
    assert table.skipped == [(1, "标题行")]


def test_a_title_merged_over_the_header_is_not_a_parent():
    rows = [TITLE[:3], ["序号", "机构名称", "所在县区"], [1, "甲院", "茂南"]]
    table = find_table(rows, kind="eldercare")
    assert table.header_rows == (2,)
    assert [c.header for c in table.columns] == ["序号", "机构名称", "所在县区"]


def test_a_header_cell_ending_in_a_date_is_not_a_filled_by_line():
    rows = [["截至2023年12月31日", None], ["养老机构", "签约医疗机构", "截止日期"], ["甲院", "乙院", "2024年1月1日"]]
    table = find_table(rows)
    assert (table.table, table.header_rows) == ("agreements", (2,))
    assert table.skipped == [(1, "填报单位行")]
    assert table.columns[2].field == "valid_to"


def test_a_column_under_a_merged_header_keeps_its_data():
    """联系人及电话 merged over two columns: the second has data and no header of its own."""
    rows = [["机构名称", "联系人及电话", None], ["甲院", "王五", "13800000000"]]
    table = find_table(rows, kind="eldercare")
    assert [(c.letter, c.header, c.field, c.samples) for c in table.columns] == [
        ("A", "机构名称", "name", ("甲院",)), ("B", "联系人及电话", "contact_person", ("王五",)),
        ("C", "", None, ("13800000000",))]


def test_a_sheet_without_a_header_has_no_table():
    assert find_table([["填表说明"], ["1、请如实填写。"], ["2、不要合并单元格。"]]) is None
    assert find_table([]) is None


def test_a_header_below_the_rows_searched_is_not_found():
    rows = [[f"说明{i}"] for i in range(bureau_tables.HEADER_SEARCH_ROWS)] + [["机构名称", "所在县区"]]
    assert find_table(rows) is None


def test_a_subtotal_ends_a_group_and_a_total_ends_the_table():
    rows = [
        ["序号", "机构名称", "所在县区", "床位数"],
        [1, "甲院", "茂南", 10],
        ["茂南区小计", None, None, 10],
        [2, "乙院", "电白", 20],
        [None, "小 计", None, 20],
        ["总计", None, None, 30],
        [3, "丙院", "高州", 30],
        ["审核人：李四", None, None, None],
    ]
    table = find_table(rows, kind="eldercare")
    assert [number for number, _row in table.rows] == [2, 4]
    assert table.skipped == [(3, "合计/小计行"), (5, "合计/小计行"), (6, "合计/小计行"),
                             (7, "表格已在第 6 行的合计处结束"), (8, "填表人/审核人行")]


def test_a_header_repeated_on_every_printed_page_is_skipped():
    header = ["序号", "机构名称", "所在县区"]
    rows = [header, [1, "甲院", "茂南"], list(header), [2, "乙院", "电白"]]
    table = find_table(rows, kind="eldercare")
    assert [number for number, _row in table.rows] == [2, 4]
    assert table.skipped == [(3, "重复的表头")]


def test_the_row_numbering_the_columns_is_skipped():
    rows = [["序号", "机构名称", "所在县区", "床位数"], ["甲", "乙", 1, 2], [1, "甲院", "茂南", 10]]
    table = find_table(rows, kind="eldercare")
    assert table.skipped == [(2, "栏目序号行")]
    assert [number for number, _row in table.rows] == [3]


@pytest.mark.parametrize("note", ["注：本表由民政局填写", "注:1.床位以备案为准", "备注：无", "说明：截至年底",
                                  "注", "注1、含在建"])
def test_notes_under_the_table_are_skipped(note):
    rows = [["机构名称", "所在县区"], ["甲院", "茂南"], [note, None]]
    assert find_table(rows, kind="eldercare").skipped == [(3, "注：说明行")]


@pytest.mark.parametrize("footer", [["填表人：张三", None, "审核人：李四"], [None, "制表人：王五", None],
                                    ["单位负责人：赵六", None, "填表日期：2023年5月"], ["审核：李四", None, None]])
def test_footers_are_skipped(footer):
    rows = [["序号", "机构名称", "所在县区"], [1, "甲院", "茂南"], footer]
    assert find_table(rows, kind="eldercare").skipped == [(3, "填表人/审核人行")]


def test_a_row_without_a_sequence_number_or_a_name_is_still_data():
    """The pipeline reports what is missing; only a numbered row without a name is wrong here."""
    rows = [["序号", "机构名称", "所在县区"], [None, None, "茂南"]]
    table = find_table(rows, kind="eldercare")
    assert (table.rows, table.errors) == ([(2, [None, None, "茂南"])], [])


# --- agreements and the table of a sheet ------------------------------------------------------


def agreement_sheet() -> list[list]:
    return [
        ["茂名市养老机构与医疗卫生机构签约情况表", None, None, None, None, None],
        ["填报单位：电白区卫生健康局", None, None, None, None, None],
        ["序号", "养老机构", "签约医疗卫生机构名称", "签订日期", "协议有效期", "签约服务内容"],
        [1, "电白区社会福利院", "电白区人民医院", "2021年1月1日", "2021年1月1日至2023年12月31日", "健康管理、急救"],
        [2, "电白区颐养院", "电白区中医院", date(2021, 6, 1), "2021.6.1—2024.5.31", "疾病诊治"],
        [3, None, None, None, None, "上门巡诊"],
        ["合计", "2", None, None, None, None],
    ]


def test_an_agreement_sheet_is_told_by_its_columns():
    table = find_table(agreement_sheet(), "签约")
    assert (table.table, table.header_rows) == ("agreements", (3,))
    assert [c.field for c in table.columns] == [None, "eldercare_name", "medical_name", "signed_on", "period",
                                                "services"]
    assert table.columns[4].samples == ("2021年1月1日至2023年12月31日", "2021.6.1—2024.5.31")
    assert table.errors == [(6, "第 6 行有序号但没有机构名称")]
    assert table.skipped == [(1, "标题行"), (2, "填报单位行"), (7, "合计/小计行")]


def test_agreement_dates_under_a_merged_period():
    rows = [
        ["养老机构名称", "签约医疗机构", "协议有效期", None],
        [None, None, "起始时间", "终止时间"],
        ["甲院", "乙院", "2021年1月1日", "2023年12月31日"],
    ]
    table = find_table(rows)
    assert table.table == "agreements"
    assert [c.field for c in table.columns] == ["eldercare_name", "medical_name", "valid_from", "valid_to"]


def test_the_table_named_by_the_caller_wins():
    rows = [["养老机构名称", "所在县区"], ["甲院", "茂南"]]
    assert find_table(rows).table == "institutions"
    assert [c.field for c in find_table(rows).columns] == ["name", "region"]
    assert [c.field for c in find_table(rows, table="agreements").columns] == ["eldercare_name", None]


def test_a_sheet_name_breaks_a_tie_between_the_tables():
    rows = [["协议编号", "编码"], ["X-1", "A1"]]  # both tables have a code
    assert find_table(rows, "签约协议").table == "agreements"
    assert find_table(rows, "Sheet1").table == "institutions"


# --- workbooks --------------------------------------------------------------------------------


def test_each_sheet_holding_a_table_gives_one_result():
    workbook = find_tables([
        ("填表说明", [["填表说明"], ["1、请如实填写。"]]),
        ("养老机构", eldercare_sheet()),
        ("Sheet3", [[None, None], [None]]),
        ("签约情况", agreement_sheet()),
    ])
    assert [(t.sheet, t.table) for t in workbook.tables] == [("养老机构", "institutions"),
                                                            ("签约情况", "agreements")]
    assert workbook.without_table == [("填表说明", "工作表“填表说明”中找不到可识别的表头"),
                                      ("Sheet3", "工作表“Sheet3”是空的")]


def test_the_kind_told_for_a_workbook_applies_to_each_sheet():
    rows = [["机构名称", "所在县区", "等级"], ["甲院", "茂南", None]]
    workbook = find_tables([("一", rows), ("二", rows)], kind="medical")
    assert [t.columns[2].field for t in workbook.tables] == ["level_grade", "level_grade"]


def test_column_letters_are_excels():
    assert [ColumnGuess(i, "", None).letter for i in (0, 25, 26, 27, 701, 702)] == [
        "A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_a_child_header_says_more_than_its_parent():
    rows = [
        ["机构名称", "所在县区", "联系方式", None, "床位数", None],
        [None, None, "联系人", "电话", "合计", "其中护理型"],
        ["甲院", "茂南", "王五", "13800000000", 100, 40],
    ]
    table = find_table(rows, kind="eldercare")
    assert [c.field for c in table.columns] == ["name", "region", "contact_person", "phone", "beds_total",
                                                "beds_nursing"]

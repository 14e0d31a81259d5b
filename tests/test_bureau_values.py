"""Cell values as bureau staff write them: each reader's readings, and its errors naming the value."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest

from registry.services.formats import bureau_values as bv
from registry.vocab import LEVELS, OWNERSHIPS, SERVICES

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
with (SEEDS / "regions.csv").open(encoding="utf-8") as seed:
    REGIONS = {row["code"]: row["name"] for row in csv.DictReader(seed)}

BLANKS = [None, "", "   ", "\u3000", "-", "—", "——", "/", "／", "－", "无"]


def refused(reader, raw, *fragments: str) -> str:
    """The reader's error for `raw`, checked to hold each fragment."""
    with pytest.raises(ValueError) as caught:
        reader(raw)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- what says nothing ------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [bv.read_text, bv.read_whole_number, bv.read_date, bv.read_period,
                                    bv.read_level, bv.read_ownership, bv.read_services,
                                    lambda raw: bv.read_region(raw, REGIONS)])
@pytest.mark.parametrize("raw", BLANKS)
def test_a_blank_or_placeholder_cell_reads_as_no_value(reader, raw):
    assert reader(raw) is None


@pytest.mark.parametrize("raw", [None, "", " ", "-", "—", "/"])
def test_a_blank_yes_no_cell_is_no_value(raw):
    assert bv.read_yes_no(raw) is None


# --- text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("茂名市社会福利院", "茂名市社会福利院"),
    ("  茂名市社会福利院  ", "茂名市社会福利院"),
    ("ＡＢＣ１２３", "ABC123"),                     # full-width letters and digits
    ("高州市\u3000人民医院", "高州市 人民医院"),      # an ideographic space
    ("茂南区   站前路  1号", "茂南区 站前路 1号"),     # inner runs folded
    ("第一行\n第二行", "第一行 第二行"),
    ("\ufeff茂名\u200b市", "茂名市"),                # a BOM and a zero-width space
    ("（高州）", "(高州)"),                          # NFKC: full-width brackets too
    (12345, "12345"),
    (12345.0, "12345"),                             # a filing number typed as a number
    (1.5, "1.5"),
    (date(2019, 3, 15), "2019-03-15"),
    (datetime(2019, 3, 15), "2019-03-15"),
    ("无锡路", "无锡路"),                            # 无 only alone says nothing
])
def test_text_is_normalised(raw, expected):
    assert bv.read_text(raw) == expected


# --- whole numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    (150, 150),
    (150.0, 150),                 # a number cell
    ("150", 150),
    ("150张", 150),
    ("150 张", 150),
    ("150张床位", 150),
    ("150床", 150),
    ("１５０", 150),              # full-width digits
    ("１５０张", 150),
    ("1,200", 1200),
    ("1,200,000", 1200000),
    ("１，２００", 1200),          # a full-width comma
    ("150.0", 150),
    ("150.00张", 150),
    (" 0 ", 0),
    (0, 0),
])
def test_whole_numbers_are_read(raw, expected):
    assert bv.read_whole_number(raw) == expected


@pytest.mark.parametrize(("raw", "fragment"), [
    ("约150", "不是确切的数字"),
    ("150余张", "不是确切的数字"),
    ("150多", "不是确切的数字"),
    ("150左右", "不是确切的数字"),
    ("150以上", "不是确切的数字"),
    ("150+", "不是确切的数字"),
    ("～150", "不是确切的数字"),
    ("150.5", "不是整数"),
    (150.5, "不是整数"),
    ("１５０．５", "不是整数"),
    ("-5", "不能为负数"),
    (-5, "不能为负数"),
    ("1,20", "应为整数"),
    ("150万", "应为整数"),
    ("一百五十", "应为整数"),
    ("150张（其中护理型80张）", "应为整数"),
    ("150/80", "应为整数"),
    (True, "应为整数"),
    (float("nan"), "应为整数"),
    (date(2019, 3, 15), "应为整数"),
])
def test_numbers_that_are_not_exact_whole_counts_are_refused(raw, fragment):
    refused(bv.read_whole_number, raw, fragment, str(raw))


# --- dates ------------------------------------------------------------------------------------

MARCH_15 = date(2019, 3, 15)


@pytest.mark.parametrize("raw", [
    date(2019, 3, 15),
    datetime(2019, 3, 15),
    datetime(2019, 3, 15, 14, 30),       # an Excel date cell with a time of day
    43539,                               # an Excel serial (1900 date system)
    43539.0,
    43539.5,                             # noon of that day
    "43539",                             # a serial saved as text
    20190315,                            # 20190315 typed as a number
    "2019年3月15日",
    "2019年03月15日",
    "2019年3月15号",
    "2019 年 3 月 15 日",
    "2019.3.15",
    "2019/3/15",
    "2019-3-15",
    "2019-03-15",
    "20190315",
    "２０１９年３月１５日",                 # full-width digits
    "２０１９．３．１５",
    "２０１９／０３／１５",
    "2019-03-15 00:00:00",               # a date cell as a CSV writes it
    "2019/3/15 0:00",
    "2019-03-15T00:00:00",
])
def test_dates_are_read(raw):
    assert bv.read_date(raw) == MARCH_15


@pytest.mark.parametrize(("raw", "expected"), [
    (18264, date(1950, 1, 1)),           # the first serial taken as a date
    (73415, date(2100, 12, 31)),         # the last
    ("2020年2月29日", date(2020, 2, 29)),
])
def test_date_edges(raw, expected):
    assert bv.read_date(raw) == expected


@pytest.mark.parametrize(("raw", "fragment"), [
    ("2019年3月", "缺少日"),
    ("2019年03月", "缺少日"),
    ("2019年3月份", "缺少日"),
    ("2019.3", "缺少日"),
    ("2019/3", "缺少日"),
    ("2019-03", "缺少日"),
    ("201903", "缺少日"),
    ("２０１９年３月", "缺少日"),
    (2019.3, "缺少日"),                  # "2019.3" typed into a number cell
    ("2019.10", "缺少日"),
    ("2019", "只有年份"),
    ("2019年", "只有年份"),
    (2019, "只有年份"),
    ("2019-02-30", "不是存在的日期"),
    ("2019年2月29日", "不是存在的日期"),
    ("2019.13.1", "不是存在的日期"),
    ("20190230", "不是存在的日期"),
    (20190230, "不是存在的日期"),
    (100, "不是日期"),                   # a serial before 1950
    (18263, "不是日期"),
    (73416, "不是日期"),
    (-1, "不是日期"),
    (150.0, "不是日期"),
    ("19.3.15", "无法识别日期"),
    ("2019.3-15", "无法识别日期"),       # two different separators
    ("二〇一九年三月十五日", "无法识别日期"),
    ("2019年3月15日前", "无法识别日期"),
    ("不详", "无法识别日期"),
    (True, "无法识别日期"),
    (float("inf"), "无法识别日期"),
])
def test_dates_that_cannot_be_read_without_guessing_are_refused(raw, fragment):
    refused(bv.read_date, raw, fragment, str(raw))


def test_a_month_without_a_day_is_never_the_first():
    message = refused(bv.read_date, "2019年3月", "缺少日")
    assert "2019-03-01" not in message


# --- an agreement's period --------------------------------------------------------------------

PERIOD = (date(2021, 1, 1), date(2023, 12, 31))


@pytest.mark.parametrize(("raw", "expected"), [
    ("2021年1月1日至2023年12月31日", PERIOD),
    ("2021年1月1日到2023年12月31日", PERIOD),
    ("自2021年1月1日起至2023年12月31日止", PERIOD),
    ("2021年1月1日 至 2023年12月31日", PERIOD),
    ("2021.6.1—2024.5.31", (date(2021, 6, 1), date(2024, 5, 31))),
    ("2021.6.1——2024.5.31", (date(2021, 6, 1), date(2024, 5, 31))),
    ("2021.6.1–2024.5.31", (date(2021, 6, 1), date(2024, 5, 31))),
    ("2021.6.1至2024.5.31止", (date(2021, 6, 1), date(2024, 5, 31))),
    ("2021-01-01~2023-12-31", PERIOD),
    ("2021-01-01～2023-12-31", PERIOD),      # a full-width tilde
    ("2021-01-01〜2023-12-31", PERIOD),      # a wave dash
    ("2021-01-01--2023-12-31", PERIOD),
    ("2021/1/1-2023/12/31", PERIOD),          # a hyphen as the separator
    ("2021.1.1-2023.12.31", PERIOD),
    ("2021-01-01-2023-12-31", PERIOD),        # hyphens inside the dates and between them
    ("2021-1-1-2023-12-31", PERIOD),
    ("2021-01-01 - 2023-12-31", PERIOD),
    ("20210101-20231231", PERIOD),
    ("2021年1月1日-2023年12月31日", PERIOD),
    ("２０２１年１月１日至２０２３年１２月３１日", PERIOD),
    ("２０２１．１．１－２０２３．１２．３１", PERIOD),  # a full-width hyphen
    ("2021年1月1日至2021年1月1日", (date(2021, 1, 1), date(2021, 1, 1))),  # one day
])
def test_periods_are_read(raw, expected):
    assert bv.read_period(raw) == expected


@pytest.mark.parametrize(("raw", "fragments"), [
    ("2023年12月31日至2021年1月1日", ["结束日期早于开始日期"]),
    ("2023-12-31-2021-01-01", ["结束日期早于开始日期"]),
    ("2021年1月至2023年12月", ["缺少日", "2021年1月"]),
    ("2021年1月1日至2023年12月", ["缺少日", "2023年12月"]),
    ("2021年1月-2023年12月", ["缺少日"]),
    ("2021年1月1日至2023年2月30日", ["不是存在的日期"]),
    ("2021年1月1日至今", ["无法识别日期"]),
    ("2021年1月1日至", ["无法识别期限"]),
    ("2021年1月1日", ["无法识别期限"]),
    ("2021-01-01", ["无法识别期限"]),
    ("2021.1.1至2022.1.1至2023.1.1", ["无法识别期限"]),
    ("三年", ["无法识别期限"]),
    (date(2021, 1, 1), ["无法识别期限"]),     # a date cell holds one day, not a period
    (44197, ["无法识别期限"]),
])
def test_periods_that_cannot_be_read_are_refused(raw, fragments):
    refused(bv.read_period, raw, *fragments, str(raw))


# --- yes / no ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    *((word, True) for word in ["是", "√", "✓", "✔", "有", "Y", "y", "yes", "YES", "Yes", "true", "TRUE", "1"]),
    *((word, False) for word in ["否", "×", "✗", "无", "N", "n", "no", "NO", "false", "False", "0"]),
    (" 是 ", True),
    ("Ｙ", True),                # full-width letters
    ("ｎｏ", False),
    ("１", True),
    (True, True),                # Excel's TRUE / FALSE cells
    (False, False),
    (1, True),
    (0, False),
    (1.0, True),
    (0.0, False),
])
def test_yes_no_is_read(raw, expected):
    assert bv.read_yes_no(raw) is expected


@pytest.mark.parametrize("raw", ["x", "X", "对", "不是", "是否", "2", 2, 0.5, "1.0", "有（内设医务室）", date(2019, 3, 15)])
def test_anything_else_is_not_yes_or_no(raw):
    refused(bv.read_yes_no, raw, "应为“是”或“否”", str(raw))


# --- hospital level ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("三级甲等", ("三级", "甲等")),
    ("三级乙等", ("三级", "乙等")),
    ("二级乙等", ("二级", "乙等")),
    ("二级丙等", ("二级", "丙等")),
    ("三级特等", ("三级", "特等")),
    ("三甲", ("三级", "甲等")),
    ("二甲", ("二级", "甲等")),
    ("三级甲", ("三级", "甲等")),
    ("一级", ("一级", None)),
    ("二级", ("二级", None)),
    ("三级医院", ("三级", None)),
    ("三级甲等医院", ("三级", "甲等")),
    ("三甲医院", ("三级", "甲等")),
    ("3级甲等", ("三级", "甲等")),
    ("３级", ("三级", None)),
    ("三级 甲等", ("三级", "甲等")),
    ("未定级", ("未定级", None)),
    ("未评级", ("未定级", None)),
])
def test_levels_and_grades_are_read(raw, expected):
    assert bv.read_level(raw) == expected


def test_every_level_read_is_a_stored_level():
    for raw in ["一级", "二级", "三级", "未定级"]:
        assert bv.read_level(raw)[0] in LEVELS


@pytest.mark.parametrize(("raw", "fragment"), [
    ("三", "无法识别医院等级"),
    ("甲等", "无法识别医院等级"),
    ("三级甲等（综合）", "无法识别医院等级"),
    ("三级丁等", "无法识别医院等级"),
    ("一级以下", "无法识别医院等级"),
    ("社区医院", "无法识别医院等级"),
    (3, "无法识别医院等级"),
    ("四级", "不在规定范围内"),
])
def test_unreadable_levels_are_refused_with_the_allowed_ones(raw, fragment):
    refused(bv.read_level, raw, fragment, str(raw), "三级")


# --- region -----------------------------------------------------------------------------------


def region(raw):
    return bv.read_region(raw, REGIONS)


@pytest.mark.parametrize(("raw", "expected"), [
    ("440902", "440902"),
    (440902, "440902"),              # a code in a number cell
    (440902.0, "440902"),
    ("440900-BH", "440900-BH"),
    ("440900-bh", "440900-BH"),
    ("茂南", "440902"),
    ("茂南区", "440902"),
    ("电白", "440904"),
    ("电白区", "440904"),
    ("电白县", "440904"),             # its name before 2014
    ("高州", "440981"),
    ("高州市", "440981"),
    ("化州", "440982"),
    ("化州市", "440982"),
    ("信宜", "440983"),
    ("信宜市", "440983"),
    ("滨海新区", "440900-BH"),
    ("滨海", "440900-BH"),
    ("茂名滨海新区", "440900-BH"),
    ("茂名市滨海新区", "440900-BH"),
    ("高新区", "440900-GX"),
    ("茂名高新区", "440900-GX"),
    ("高新", "440900-GX"),
    ("茂名市茂南区", "440902"),
    ("茂名茂南区", "440902"),
    ("广东省茂名市高州市", "440981"),
    ("广东省茂名市电白区", "440904"),
    (" 茂 南 区 ", "440902"),
    ("茂南区\u3000", "440902"),
])
def test_regions_are_read_from_codes_and_names(raw, expected):
    assert region(raw) == expected


@pytest.mark.parametrize("raw", ["茂名", "茂名市", "湛江市茂南区", "南区", "新区", "市区", "440900", "茂港区", 440900])
def test_a_text_naming_no_region_is_refused_with_the_regions(raw):
    refused(region, raw, "不是本市的区县", str(raw), "茂南区", "茂名高新区")


def test_a_text_matching_two_regions_lists_both():
    regions = {"A1": "东山区", "A2": "东山县", "A3": "西湖区"}
    message = refused(lambda raw: bv.read_region(raw, regions), "东山", "可能是多个区县", "东山区（A1）", "东山县（A2）")
    assert "西湖区" not in message
    assert bv.read_region("东山区", regions) == "A1"   # a full name is exact
    assert bv.read_region("西湖", regions) == "A3"


def test_short_names_come_from_the_regions_given():
    regions = {"R1": "临海市", "R2": "临海经济开发区", "R3": "黄岩区"}
    assert bv.read_region("黄岩", regions) == "R3"
    refused(lambda raw: bv.read_region(raw, regions), "茂南", "不是本市的区县")


# --- ownership --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    *((value, value) for value in OWNERSHIPS),
    ("公立", "公办"),
    ("私立", "民办"),
    ("民营", "民办"),
    ("公办民营", "公建民营"),
    (" 公 办 ", "公办"),
])
def test_ownership_is_read(raw, expected):
    assert bv.read_ownership(raw) == expected


@pytest.mark.parametrize("raw", ["集体", "公私合营", "民办非企业", "国有企业", 1])
def test_other_ownerships_are_refused_with_the_allowed_values(raw):
    refused(bv.read_ownership, raw, "举办性质", str(raw), "公办、民办、公建民营、民办公助")


# --- services ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("健康管理", ["健康管理"]),
    ("健康管理;康复护理", ["健康管理", "康复护理"]),
    ("健康管理；康复护理", ["健康管理", "康复护理"]),
    ("健康管理、康复护理、急救", ["健康管理", "康复护理", "急救"]),
    ("健康管理,康复护理", ["健康管理", "康复护理"]),
    ("健康管理，康复护理", ["健康管理", "康复护理"]),
    ("健康管理/康复护理", ["健康管理", "康复护理"]),
    ("健康管理和康复护理", ["健康管理", "康复护理"]),
    ("健康管理\n康复护理\r\n急救", ["健康管理", "康复护理", "急救"]),
    ("健康管理、 康复护理 ；", ["健康管理", "康复护理"]),
    ("绿色通道", ["预约就诊绿色通道"]),
    ("转诊", ["双向转诊"]),
    ("双向转诊服务", ["双向转诊"]),
    ("巡诊", ["上门巡诊"]),
    ("上门巡诊服务", ["上门巡诊"]),
    ("临终关怀", ["安宁疗护"]),
    ("中医药服务", ["中医药服务"]),
    ("中医", ["中医药服务"]),
    ("转诊、双向转诊", ["双向转诊"]),        # one service said twice
    ("健康 管理", ["健康管理"]),
])
def test_services_are_read(raw, expected):
    assert bv.read_services(raw) == expected


def test_every_service_reads_as_itself():
    assert bv.read_services("、".join(SERVICES)) == list(SERVICES)


def test_every_variant_names_a_service_and_no_term_holds_a_separator():
    assert set(bv.SERVICE_VARIANTS.values()) <= set(SERVICES)
    for term in [*SERVICES, *bv.SERVICE_VARIANTS]:
        assert bv.read_services(term) == [bv.SERVICE_VARIANTS.get(term, term)]


@pytest.mark.parametrize(("raw", "unknown"), [
    ("体检", "体检"),
    ("健康管理、体检、送药", "体检、送药"),
    ("健康管理 康复护理", "健康管理 康复护理"),  # spaces do not separate services
    ("护理", "护理"),                         # 康复护理 or 安宁疗护? not guessed
    ("１.健康管理", "1.健康管理"),
])
def test_unknown_services_are_named_with_the_allowed_ones(raw, unknown):
    message = refused(bv.read_services, raw, "服务内容不在规定范围内", unknown, "预约就诊绿色通道")
    assert "健康管理、" not in message.split("（")[0]  # the known ones are not listed as unknown


def test_ownership_variants_name_ownerships():
    assert set(bv.OWNERSHIP_VARIANTS.values()) <= set(OWNERSHIPS)

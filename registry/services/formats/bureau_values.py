"""Cell values as bureau staff write them in their own spreadsheets (docs/exchange-format.md), read without guessing.

Each reader takes a raw cell as python-calamine or the csv module give it (str, int,
float, bool, date, datetime or None) and returns the value, or raises ValueError with
a Chinese reason that quotes the cell (and lists the candidates when it could mean
more than one thing). Text is NFKC-normalised first, so full-width digits, letters,
spaces and punctuation (１５０, ～, ；) read as their half-width forms.

Every reader reads as None ("the cell says nothing") an empty cell and the
placeholders staff put in cells they leave open: "-", "—", "/" and "无" — except
`read_yes_no`, where 无 is the answer False (有/无). None is "no value", not zero:
床位数 "无" is None, and whether None is allowed is the caller's rule. A reader never
fills in what a cell leaves out: 2019年3月 is an error (the day is missing), never
the 1st; 约150 is an error, never 150.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from itertools import combinations
from typing import Any

from flask_babel import gettext as _

from registry.vocab import LEVELS, OWNERSHIPS, SERVICES

PLACEHOLDERS = frozenset({"-", "--", "—", "——", "–", "/", "无"})
_NOTHING = PLACEHOLDERS | {""}
# Zero-width characters pasted in with the text. A pattern, not str.translate: translating looks up every
# character of a Chinese text in a dict (1.3 µs for a 20-character name), the pattern scans it in C.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def _normal(raw: Any) -> str:
    """A cell as text: NFKC, invisible characters removed, trimmed (inner spaces kept)."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a number typed into a text column, e.g. a filing number
    elif isinstance(raw, datetime):
        raw = raw.date() if raw.time() == datetime.min.time() else raw.isoformat(sep=" ")
    if isinstance(raw, date):
        raw = raw.isoformat()
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(raw))).strip()


def _squeezed(raw: Any) -> str:
    """A cell as text with no whitespace at all (for numbers, dates and vocabulary terms)."""
    return "".join(_normal(raw).split())


def _says_nothing(raw: Any) -> bool:
    return raw is None or _squeezed(raw) in _NOTHING


def _normal_or_none(raw: Any) -> str | None:
    """`_normal(raw)`, or None when the cell says nothing: the cell normalised once for both questions."""
    if raw is None:
        return None
    text = _normal(raw)
    return None if "".join(text.split()) in _NOTHING else text


def _squeezed_or_none(raw: Any) -> str | None:
    """`_squeezed(raw)`, or None when the cell says nothing."""
    if raw is None:
        return None
    text = _squeezed(raw)
    return None if text in _NOTHING else text


def _not_a_number(raw: Any) -> bool:
    """A cell that looks numeric but holds no number: a TRUE/FALSE cell, NaN or infinity."""
    return isinstance(raw, bool) or (isinstance(raw, float) and not math.isfinite(raw))


def _listed(values: Any) -> str:
    return "、".join(values)


# --- text -------------------------------------------------------------------------------------


def read_text(raw: Any) -> str | None:
    """Text NFKC-normalised and trimmed, inner runs of whitespace folded to one space; None when blank."""
    if raw is None:
        return None
    text = " ".join(_normal(raw).split())
    return None if text.replace(" ", "") in _NOTHING else text


# --- whole numbers ----------------------------------------------------------------------------

# Words that make a figure approximate (约150, 150余张, 150以上): never read as the figure.
_APPROXIMATE = ("约", "近", "余", "多", "左右", "以上", "以下", "上下", "不到", "不足", "超过", "逾",
                "~", "≈", "+", "<", ">", "≥", "≤")
# Units staff write after a count of beds, rooms or people (150张, 150 张床位).
_UNITS = ("张床位", "张床", "床位", "张", "床", "个", "人", "名", "间", "所", "家", "位")
_WHOLE = re.compile(r"(?P<minus>-)?(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?"
                    rf"(?:{'|'.join(_UNITS)})?")


def read_whole_number(raw: Any) -> int | None:
    """A count (床位数) as staff write it: 150张, １５０, 1,200, 150.0 → int; None when blank."""
    text = _squeezed_or_none(raw)
    if text is None:
        return None
    if _not_a_number(raw):
        raise ValueError(_("应为整数，而不是“%(value)s”", value=raw))
    if isinstance(raw, int | float):
        if not float(raw).is_integer():
            raise ValueError(_("“%(value)s”不是整数", value=raw))
        number = int(raw)
    else:
        if any(word in text for word in _APPROXIMATE):
            raise ValueError(_("“%(value)s”不是确切的数字，请填写准确的整数", value=raw))
        match = _WHOLE.fullmatch(text)
        if match is None:
            raise ValueError(_("应为整数，而不是“%(value)s”", value=raw))
        if (match["fraction"] or "0").strip("0"):
            raise ValueError(_("“%(value)s”不是整数", value=raw))
        number = int(match["digits"].replace(",", "")) * (-1 if match["minus"] else 1)
    if number < 0:
        raise ValueError(_("“%(value)s”不能为负数", value=raw))
    return number


# --- dates ------------------------------------------------------------------------------------

_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 (after Excel's phantom 1900-02-29, from 61 on)
_SERIALS = range((date(1950, 1, 1) - _EXCEL_EPOCH).days, (date(2100, 12, 31) - _EXCEL_EPOCH).days + 1)
_TIME = re.compile(r"(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_FULL_DATES = (
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"),
    re.compile(r"(?P<y>\d{4})(?P<sep>[./-])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
)
_MONTHS = (
    re.compile(r"\d{4}年\d{1,2}月份?"),
    re.compile(r"\d{4}[./-]\d{1,2}"),
    re.compile(r"\d{4}(?:0[1-9]|1[0-2])"),
)
_YEAR = re.compile(r"\d{4}年?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _from_number(number: int | float, raw: Any) -> date:
    """A number in a date column: 20190315, an Excel serial (1900 date system) or a bare year."""
    if float(number).is_integer() and 19000101 <= number <= 21001231:
        return _from_parts(str(int(number))[:4], str(int(number))[4:6], str(int(number))[6:], raw)
    if 1900 <= number < 2101:
        if float(number).is_integer():
            raise ValueError(_("“%(value)s”只有年份，请填写完整日期（如 2019年3月15日）", value=raw))
        raise ValueError(_("“%(value)s”缺少日，请填写完整日期（如 2019年3月15日）", value=raw))
    if int(number) not in _SERIALS:
        raise ValueError(_("“%(value)s”不是日期（Excel 日期序号应在 1950 至 2100 年之间）", value=raw))
    return _EXCEL_EPOCH + timedelta(days=int(number))  # a fraction is the time of day


def _from_parts(year: str, month: str, day: str, raw: Any) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError as error:
        raise ValueError(_("“%(value)s”不是存在的日期", value=raw)) from error


def read_date(raw: Any) -> date | None:
    """A date as staff write it: an Excel date or serial, 2019年3月15日, 2019.3.15, 20190315…; None when blank."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    normal = _normal_or_none(raw)
    if normal is None:
        return None
    if _not_a_number(raw):
        raise ValueError(_("无法识别日期“%(value)s”，请写成 2019-03-15 或 2019年3月15日", value=raw))
    if isinstance(raw, int | float):
        return _from_number(raw, raw)
    text = "".join(_TIME.sub("", normal).split())
    for pattern in _FULL_DATES:
        if match := pattern.fullmatch(text):
            return _from_parts(match["y"], match["m"], match["d"], raw)
    if any(pattern.fullmatch(text) for pattern in _MONTHS):
        raise ValueError(_("“%(value)s”缺少日，请填写完整日期（如 2019年3月15日）", value=raw))
    if _YEAR.fullmatch(text):
        raise ValueError(_("“%(value)s”只有年份，请填写完整日期（如 2019年3月15日）", value=raw))
    if _NUMBER.fullmatch(text):  # a serial saved as text, e.g. a CSV of an unformatted date cell
        return _from_number(float(text) if "." in text else int(text), raw)
    raise ValueError(_("无法识别日期“%(value)s”，请写成 2019-03-15 或 2019年3月15日", value=raw))


# --- an agreement's period in one cell ---------------------------------------------------------

# 至, 到, ~ (～ after NFKC), 〜, dashes (— – ―, doubled or not) and two or more hyphens.
_SEPARATOR = re.compile(r"至|到|[~〜—–―]+|-{2,}")
_FROM_WORDS, _TO_WORDS = re.compile(r"^[自从]|起$"), re.compile(r"止$")  # 自…起至…止


def _side(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub("", text.strip()).strip()


def read_period(raw: Any) -> tuple[date, date] | None:
    """An agreement's period in one cell (2021年1月1日至2023年12月31日) as (valid_from, valid_to); None when blank."""
    text = _normal_or_none(raw)
    if text is None:
        return None
    # A lone hyphen may also sit inside the dates (2021-01-01-2023-12-31), so each hyphen is a candidate cut;
    # at most one of them leaves a date on both sides, since a date written with hyphens has exactly three parts.
    cuts = list(_SEPARATOR.finditer(text)) or list(re.finditer("-", text))
    readings = []
    for cut in cuts:
        try:
            start = read_date(_side(text[:cut.start()], _FROM_WORDS))
            end = read_date(_side(text[cut.end():], _TO_WORDS))
        except ValueError as error:
            if len(cuts) == 1:  # the one way to read it: say what is wrong with it
                raise ValueError(_("期限“%(value)s”：%(reason)s", value=raw, reason=str(error))) from error
            continue
        if start and end:
            readings.append((start, end))
    if not readings:
        raise ValueError(_("无法识别期限“%(value)s”，应为“开始日期至结束日期”，如 2021年1月1日至2023年12月31日",
                           value=raw))
    start, end = readings[0]
    if end < start:
        raise ValueError(_("期限“%(value)s”的结束日期早于开始日期", value=raw))
    return start, end


# --- yes / no ---------------------------------------------------------------------------------

_YES = frozenset({"是", "√", "✓", "✔", "有", "y", "yes", "true", "1"})
_NO = frozenset({"否", "×", "✗", "✘", "无", "n", "no", "false", "0"})


def read_yes_no(raw: Any) -> bool | None:
    """是/否, √/×, 有/无, Y/N, yes/no, true/false, 1/0 (and Excel's TRUE/FALSE cells) as a bool; None when blank."""
    if isinstance(raw, bool):
        return raw
    word = _squeezed(raw).lower() if raw is not None else ""
    if word in _YES:
        return True
    if word in _NO:  # before the placeholders: 无 is an answer here
        return False
    if _says_nothing(raw):
        return None
    raise ValueError(_("应为“是”或“否”，而不是“%(value)s”", value=raw))


# --- hospital level and grade (医院等级) -------------------------------------------------------

_NUMERALS = dict(zip("1234", "一二三四", strict=True))
_LEVEL = re.compile(r"(?P<level>[一二三四1-4])(?:级(?:(?P<grade>[特甲乙丙])等?)?|(?P<short>[特甲乙丙])等?)(?:医院)?")
_UNGRADED = "未定级"
_UNGRADED_WORDS = frozenset({_UNGRADED, "未定等级", "未评级", "未评定", "未分级"})


def read_level(raw: Any) -> tuple[str, str | None] | None:
    """A hospital level with its grade: 三级甲等 / 三甲 → ("三级", "甲等"), 一级 → ("一级", None); None when blank."""
    text = _squeezed_or_none(raw)
    if text is None:
        return None
    if text in _UNGRADED_WORDS:
        return _UNGRADED, None
    match = _LEVEL.fullmatch(text)
    if match is None:
        raise ValueError(_("无法识别医院等级“%(value)s”，应为%(allowed)s，可带等次（如 三级甲等）",
                           value=raw, allowed=_listed(LEVELS)))
    level = _NUMERALS.get(match["level"], match["level"]) + "级"
    if level not in LEVELS:
        raise ValueError(_("医院等级“%(value)s”不在规定范围内（%(allowed)s）", value=raw, allowed=_listed(LEVELS)))
    grade = match["grade"] or match["short"]
    return level, f"{grade}等" if grade else None


# --- region -----------------------------------------------------------------------------------

_PROVINCE = re.compile(r"^[^省]{2,3}省")
_SUFFIXES = ("新区", "区", "市", "县")  # 茂名滨海新区 → 滨海, 高新区 → 高新 (新区 leaves one character)


@cache  # one set of regions per import, and read_region may be asked once per row
def _city(names: tuple[str, ...]) -> str:
    """The city's name: the management zones carry it (茂名滨海新区, 茂名高新区), the longest start two names share."""
    shared = (os.path.commonprefix(pair) for pair in combinations(names, 2))
    city = max(shared, key=len, default="")
    return city if len(city) >= 2 else ""


def _core(name: str, city: str) -> str:
    """A name without its city in front and without one administrative suffix: 茂名滨海新区 → 滨海, 高州市 → 高州."""
    if city and name.startswith(city) and len(name) - len(city) >= 2:
        name = name.removeprefix(city)
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name.removesuffix(suffix)
    return name


class RegionNames:
    """The city's regions (code → name) and what is worked out from them once for all of a file's cells."""

    def __init__(self, regions: Mapping[str, str]):
        self.regions = dict(regions)
        self.codes = {code.upper(): code for code in regions}
        self.city = _city(tuple(regions.values()))
        self.cores = {code: _core(name, self.city) for code, name in regions.items()}

    def read(self, raw: Any) -> str | None:
        """A region's code from its code, full name or short name; None when blank (see `read_region`)."""
        text = _squeezed_or_none(raw)
        if text is None:
            return None
        if text.upper() in self.codes:
            return self.codes[text.upper()]
        city = self.city
        forms = {_PROVINCE.sub("", text)}  # as written, and without 广东省 / 茂名市 in front
        bare = next(iter(forms)).removeprefix(city).removeprefix("市") if city else ""
        if len(bare) >= 2:
            forms.add(bare)
        found = [code for code, name in self.regions.items() if name in forms]  # a full name is exact
        if not found:
            cores = {_core(form, city) for form in forms}
            found = [code for code, core in self.cores.items() if core in cores]
        if len(found) > 1:
            raise ValueError(_("“%(value)s”可能是多个区县：%(candidates)s，请写全称或代码", value=raw,
                               candidates=_listed(f"{self.regions[code]}（{code}）" for code in found)))
        if not found:
            raise ValueError(_("“%(value)s”不是本市的区县，应为：%(allowed)s", value=raw,
                               allowed=_listed(self.regions.values())))
        return found[0]


def read_region(raw: Any, regions: Mapping[str, str]) -> str | None:
    """A region's code from its code, full name or short name (茂南, 高州市, 滨海新区, 广东省茂名市高州市); None when blank."""
    return RegionNames(regions).read(raw)


# --- ownership (举办性质 / 机构性质) -----------------------------------------------------------

OWNERSHIP_VARIANTS = {
    "公立": "公办",
    "政府办": "公办",
    "私立": "民办",
    "民营": "民办",
    "私营": "民办",
    "公办民营": "公建民营",
}


def read_ownership(raw: Any) -> str | None:
    """公办 / 民办 / 公建民营 / 民办公助, with common variants (公立, 私立, 民营, 公办民营); None when blank."""
    text = _squeezed_or_none(raw)
    if text is None:
        return None
    value = OWNERSHIP_VARIANTS.get(text, text)
    if value not in OWNERSHIPS:
        raise ValueError(_("举办性质“%(value)s”不在规定范围内，应为：%(allowed)s", value=raw,
                           allowed=_listed(OWNERSHIPS)))
    return value


# --- services (服务内容) ----------------------------------------------------------------------

# Words staff use for a service of registry/vocab.py SERVICES; "…服务" is also read without 服务.
SERVICE_VARIANTS = {
    "绿色通道": "预约就诊绿色通道",
    "就诊绿色通道": "预约就诊绿色通道",
    "绿色就诊通道": "预约就诊绿色通道",
    "预约就诊": "预约就诊绿色通道",
    "转诊": "双向转诊",
    "巡诊": "上门巡诊",
    "定期巡诊": "上门巡诊",
    "上门服务": "上门巡诊",
    "临终关怀": "安宁疗护",
    "康复": "康复护理",
    "中医": "中医药服务",
    "中医药": "中医药服务",
    "远程会诊": "远程医疗",
    "疾病诊疗": "疾病诊治",
    "健康宣教": "健康教育",
    "医疗急救": "急救",
}
_SERVICE_SEPARATORS = re.compile(r"[;、,/\n\r]|和")  # ；，／ are ; , / after NFKC


def _service(item: str) -> str | None:
    for word in (item, item.removesuffix("服务")):
        if word in SERVICES:
            return word
        if word in SERVICE_VARIANTS:
            return SERVICE_VARIANTS[word]
    return None


def read_services(raw: Any) -> list[str] | None:
    """A list of services separated by ; ； 、 , ， / 和 or line breaks, variants mapped; None when blank."""
    text = _normal_or_none(raw)
    if text is None:
        return None
    items = [item.strip() for item in _SERVICE_SEPARATORS.split(text) if item.strip()]
    services = {item: _service("".join(item.split())) for item in items}
    unknown = [item for item, service in services.items() if service is None]
    if unknown:
        raise ValueError(_("服务内容不在规定范围内：%(value)s（可选：%(allowed)s）", value=_listed(unknown),
                           allowed=_listed(SERVICES)))
    return list(dict.fromkeys(services.values()))

"""Bureaus' own spreadsheets (docs/exchange-format.md): where the table sits in a sheet, and what each column means.

A bureau's sheet is read as it is kept: a merged title row, a 填报单位/填报日期 line,
a header of one or two rows in the bureau's own words, a 序号 column, data, then
合计/小计 rows, 填表人/审核人 footers and 注： notes. This module finds the header,
sorts the rows into data, skipped and wrong ones, and proposes a field for each
column from the synonyms of `seeds/column_synonyms.csv`; reading the values is
the import pipeline's work.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from registry.services.formats.columns import AGREEMENTS, BOTH, INSTITUTIONS, MD
from registry.services.formats.exchange import parse_kind
from registry.vocab import ELDERCARE, MEDICAL, MEDICAL_TYPES

SYNONYMS_FILE = Path(__file__).resolve().parents[3] / "seeds" / "column_synonyms.csv"

SEQUENCE = "seq"  # the 序号 column: recognised, never mapped
# Fields a bureau's sheet holds that the exchange format does not: a name instead of a code,
# or two values in one cell. Each belongs to one table (and, for institutions, to some kinds).
BUREAU_FIELDS = {
    "host_name": (INSTITUTIONS.key, BOTH),
    "level_grade": (INSTITUTIONS.key, MD),  # 三级甲等: the level and its grade
    "insurance_designated": (INSTITUTIONS.key, MD),  # 是否医保定点: 是/否
    "eldercare_name": (AGREEMENTS.key, BOTH),
    "medical_name": (AGREEMENTS.key, BOTH),
    "period": (AGREEMENTS.key, BOTH),  # 2021年1月1日至2023年12月31日
}
# A row with a 序号 must name an institution in one of these.
NAME_FIELDS = ("name", "eldercare_name", "medical_name", "eldercare_code", "medical_code")

HEADER_SEARCH_ROWS = 20  # a header further down than this is not looked for
MIN_HEADER_MATCHES = 2  # a title row may contain one synonym (…养老机构…); a header holds several

_BRACKETS = re.compile(r"\([^()]*\)|【[^【】]*】|\[[^\[\]]*\]|〔[^〔〕]*〕")
_SPACES = re.compile(r"\s+")
_UNIT = re.compile(r"(?:[/:]|单位:?)[张个人]$|(?<=数)[张个人]$")
_FILLED_BY = re.compile(r"填报单位|填报日期|填报时间|填报机关|报送单位|统计时间|统计日期|^(?:截至|截止)(?:日期|时间)?:?\d")
_FOOTERS = ("填表人", "填报人", "审核人", "制表人", "制表", "审核", "统计人", "单位负责人", "分管领导",
            "填表日期", "单位盖章", "单位(盖章)", "盖章", "负责人:", "联系电话:", "电话:")
_NOTE = re.compile(r"^(?:注|备注|说明|附注|填表说明)(?:$|[:\d一二三四五六七八九十、.])")
_TOTAL = re.compile(r"^(?:合计|小计|总计)|(?:合计|小计|总计)$")
_NUMBERING_WORDS = {"甲", "乙", "丙", "丁"}


def normalise(text: Any) -> str:
    """A header as matched: NFKC, lower case, no brackets and their content, units, `*`, spaces or 其中."""
    value = unicodedata.normalize("NFKC", str(text if text is not None else "")).lower()
    value = value.replace("\ufeff", "").replace("*", "")
    previous = None
    while previous != value:  # nested brackets, innermost first
        previous, value = value, _BRACKETS.sub("", value)
    value = _SPACES.sub("", value).replace("其中:", "").replace("其中", "")
    return _UNIT.sub("", value).strip(":")


def _squeezed(value: Any) -> str:
    """A cell as the row rules read it: NFKC, no spaces (合 计 is 合计)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))


def _shown(value: Any) -> str:
    return _SPACES.sub(" ", str(value)).strip() if _filled(value) else ""


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


# --- synonyms ---------------------------------------------------------------------------------


def _field_home() -> dict[str, tuple[str, frozenset[str]]]:
    """Every field a column may be given: (table, kinds it belongs to)."""
    homes = {c.key: (AGREEMENTS.key, BOTH) for c in AGREEMENTS.columns}
    homes |= {c.key: (INSTITUTIONS.key, c.kinds) for c in INSTITUTIONS.columns}
    homes["code"] = ("", BOTH)  # both tables have a code
    return homes | BUREAU_FIELDS | {SEQUENCE: ("", BOTH)}


FIELD_HOMES = _field_home()


@dataclass(frozen=True)
class Synonym:
    """One line of the synonyms file, its text normalised."""

    field: str
    text: str
    kind: str | None = None  # None: any kind


@dataclass(frozen=True)
class Synonyms:
    """The synonyms of every field, looked up by normalised header text."""

    entries: tuple[Synonym, ...]

    def exact(self, text: str) -> list[Synonym]:
        return [s for s in self.entries if s.text == text]

    def contained(self, text: str) -> list[Synonym]:
        """Synonyms found inside the text, longest first."""
        found = [s for s in self.entries if len(s.text) >= 2 and s.text != text and s.text in text]
        return sorted(found, key=lambda s: -len(s.text))


def load_synonyms(path: Path = SYNONYMS_FILE) -> Synonyms:
    """Read a synonyms file (field,synonym[,kind]); the fields' keys count as synonyms too."""
    entries: dict[tuple[str, str, str | None], None] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            name, kind = row["field"].strip(), (row.get("kind") or "").strip() or None
            if name not in FIELD_HOMES or kind not in (None, ELDERCARE, MEDICAL):
                raise ValueError(f"{path.name}:{number}: unknown field or kind: {name}, {kind}")
            entries[(name, normalise(row["synonym"]), kind)] = None
    for name in FIELD_HOMES:
        if name != SEQUENCE:
            entries.setdefault((name, name, None), None)
    return Synonyms(tuple(Synonym(name, text, kind) for name, text, kind in entries))


@cache
def default_synonyms() -> Synonyms:
    """The project's synonyms, `seeds/column_synonyms.csv`, read once."""
    return load_synonyms()


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnGuess:
    """One column of a bureau's table and the field proposed for it."""

    index: int  # position in the row, 0 for column A
    header: str  # as shown: "医保定点情况 / 申请时间" for a two-row header
    field: str | None  # a Column.key or a BUREAU_FIELDS key; None when unmapped (or the 序号 column)
    alternatives: tuple[str, ...] = ()
    samples: tuple[Any, ...] = ()  # the first three non-empty values
    sequence: bool = False  # the 序号 column, recognised and ignored

    @property
    def letter(self) -> str:
        """The column's letters as Excel shows them (A, B, … AA)."""
        number, letters = self.index + 1, ""
        while number:
            number, rest = divmod(number - 1, 26)
            letters = chr(ord("A") + rest) + letters
        return letters


@dataclass
class BureauTable:
    """The table found in one sheet; row numbers are Excel's (the sheet's first row is 1)."""

    sheet: str
    table: str  # "institutions" or "agreements"
    header_rows: tuple[int, ...]
    columns: list[ColumnGuess]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, 中文 reason)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, 中文 message)
    empty_rows: int = 0  # skipped silently

    def fields(self) -> dict[str, int]:
        """The proposed fields and the position of the column holding each."""
        return {c.field: c.index for c in self.columns if c.field}


@dataclass
class Workbook:
    """The tables found in a workbook's sheets, and the sheets that hold none."""

    tables: list[BureauTable] = field(default_factory=list)
    without_table: list[tuple[str, str]] = field(default_factory=list)  # (sheet, 中文 reason)


# --- matching one header ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    field: str
    tier: int  # 0 the whole header is a synonym; 1 a synonym inside it; 2 inside its parent only
    length: int  # of the synonym found; longer is more specific
    kind: str | None = None  # the synonym's kind; None: any

    @property
    def rank(self) -> tuple[int, int]:
        return self.tier, -self.length

    @property
    def exact(self) -> bool:
        return self.tier == 0


def _matches(parts: tuple[str, ...], synonyms: Synonyms) -> list[_Match]:
    """What a header could mean, best first.

    A two-row header (parent, child) is matched joined either way (床位数 + 护理型 reads 护理型床位数);
    then by the child alone or a synonym reaching into the child; last by what the parent alone says
    (床位数 over 总数), so that 联系方式 over 联系人 is the contact person.
    """
    found: dict[tuple[str, str | None], _Match] = {}

    def keep(synonym: Synonym, tier: int) -> None:
        match = _Match(synonym.field, tier, len(synonym.text), synonym.kind)
        best = found.get((synonym.field, synonym.kind))
        if best is None or match.rank < best.rank:
            found[(synonym.field, synonym.kind)] = match

    if len(parts) == 1:
        whole, parent, child = [normalise(parts[0])], "", ""
    else:
        parent, child = normalise(parts[0]), normalise(parts[1])
        whole = [parent + child, child + parent]
        for synonym in synonyms.exact(child):
            keep(synonym, 1)
    for text in whole:
        for synonym in synonyms.exact(text):
            keep(synonym, 0)
        for synonym in synonyms.contained(text):
            keep(synonym, 2 if parent and synonym.text in parent else 1)
    return sorted(found.values(), key=lambda m: m.rank)


def _belongs(name: str, table: str, kind: str | None) -> bool:
    home, kinds = FIELD_HOMES[name]
    if home and home != table:
        return False
    return not (kind and table == INSTITUTIONS.key and kind not in kinds)


def _kept(matches: list[_Match], table: str, kind: str | None) -> list[_Match]:
    """The matches of fields this table and kind hold; none when the header names exactly another's."""
    kept: dict[str, _Match] = {}
    for match in matches:  # best first
        if _belongs(match.field, table, kind) and (not kind or match.kind in (None, kind)):
            kept.setdefault(match.field, match)
    if any(m.exact for m in matches) and not any(m.exact for m in kept.values()):
        return []  # 医院等级 on an eldercare sheet is not its 等级评定
    return list(kept.values())


_GRADE = re.compile(r"[一二三123]级|[甲乙丙]等|未定级")
_STARS = re.compile(r"[1-5一二三四五]星|[1-5一二三四五]a|[四五]级")  # GB/T 37276 grades homes 一级 to 五级

# How a column's values tell apart the fields one header could mean.
VALUE_TESTS: dict[str, Callable[[str], bool]] = {
    "kind": lambda v: parse_kind(v) is not None,
    "medical_type": lambda v: any(t in v for t in MEDICAL_TYPES if t != "其他"),
    "level_grade": lambda v: _GRADE.search(v) is not None,
    "rating": lambda v: _STARS.search(v) is not None,
}


def _decide(candidates: list[str], values: Counter[str]) -> str | None:
    """The one candidate the values (each text with how often it occurs) fit best; None when they do not tell."""
    scores = {c: sum(n for v, n in values.items() if VALUE_TESTS[c](v)) for c in candidates if c in VALUE_TESTS}
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if ranked and ranked[0][1] and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    return None


def _propose(matches: list[_Match], values: Iterable[Any]) -> tuple[str | None, tuple[str, ...], bool]:
    """(field, alternatives, exact) from a header's matches, ambiguous ones decided by the (filled) values."""
    if not matches:
        return None, (), False
    best = matches[0]
    tied = [m.field for m in matches if m.rank == best.rank]
    if len(tied) == 1:  # the header alone decides: the values are not read
        chosen = tied[0]
    else:  # the values decide, each distinct one read once (a column of types holds a few dozen)
        texts: Counter[str] = Counter()
        for value, count in Counter(map(str, values)).items():
            texts[unicodedata.normalize("NFKC", value).strip().lower()] += count
        chosen = _decide(tied, texts)
    others = tuple(m.field for m in matches if m.field != chosen)
    return chosen, others, best.exact


# --- finding the header -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    rows: tuple[int, ...]  # 0-based
    parts: dict[int, tuple[str, ...]]  # column position: (parent, child) or (text,), as shown
    matches: dict[int, list[_Match]]

    @property
    def score(self) -> int:
        return sum(1 for m in self.matches.values() if m)


def _header(rows: Sequence[Sequence[Any]], top: int, two: bool, synonyms: Synonyms) -> _Header:
    upper = rows[top]
    lower = rows[top + 1] if two else []
    parts: dict[int, tuple[str, ...]] = {}
    parent = ""
    for index in range(max(len(upper), len(lower))):
        above = _shown(upper[index]) if index < len(upper) else ""
        below = _shown(lower[index]) if index < len(lower) else ""
        if above:
            parent = above
        if below:
            parts[index] = (parent, below) if parent else (below,)
        elif above:
            parts[index] = (above,)  # a parent with no children below stands alone
    matches = {i: _matches(p, synonyms) for i, p in parts.items()}
    return _Header((top, top + 1) if two else (top,), parts, matches)


def _spans(row: Sequence[Any]) -> list[tuple[int, int]]:
    """Where each header cell reaches: to the next filled cell (a merged cell's others are empty)."""
    starts = [i for i, value in enumerate(row) if _filled(value)]
    return list(zip(starts, starts[1:] + [len(row)], strict=True))


def _is_sub_header(upper: Sequence[Any], lower: Sequence[Any]) -> bool:
    """Whether `lower` holds the children of `upper`'s merged cells (申请时间 / 定点时间 under 医保定点情况)."""
    filled = [i for i, value in enumerate(lower) if _filled(value)]
    if not filled or not all(isinstance(lower[i], str) for i in filled):
        return False
    wide = [(start, end) for start, end in _spans(upper) if end - start > 1]
    return all(any(start <= i < end for start, end in wide) for i in filled)


def _looks_like_header(row: Sequence[Any]) -> bool:
    first = _first_texts(row)
    return not (_filled_by_line(row) or _footer(first) or _note(first))


def _find_header(rows: Sequence[Sequence[Any]], synonyms: Synonyms) -> _Header | None:
    best: _Header | None = None
    for top in range(min(len(rows), HEADER_SEARCH_ROWS)):
        if not _looks_like_header(rows[top]):
            continue
        single = _header(rows, top, False, synonyms)
        if single.score < MIN_HEADER_MATCHES:
            continue
        candidate = single
        if top + 1 < len(rows) and _is_sub_header(rows[top], rows[top + 1]):
            candidate = _header(rows, top, True, synonyms)
        if best is None or candidate.score > best.score:
            best = candidate
    return best


def _choose_table(header: _Header, sheet: str) -> str:
    """Institutions or agreements, by the columns only one of them has (then by the sheet's name)."""
    votes = {INSTITUTIONS.key: 0, AGREEMENTS.key: 0}
    for matches in header.matches.values():
        homes = {FIELD_HOMES[m.field][0] for m in matches if m.rank == matches[0].rank} if matches else set()
        if len(homes) == 1 and (home := homes.pop()):
            votes[home] += 1
    if votes[AGREEMENTS.key] != votes[INSTITUTIONS.key]:
        return max(votes, key=votes.__getitem__)
    return AGREEMENTS.key if any(word in sheet for word in ("签约", "协议")) else INSTITUTIONS.key


# --- sorting the rows -------------------------------------------------------------------------


def _first_texts(row: Sequence[Any], count: int = 2) -> list[str]:
    """The first `count` filled cells, squeezed (the rest of the row is not looked at): what the row rules read."""
    return [_squeezed(v) for v in islice((v for v in row if _filled(v)), count)]


def _filled_by_line(row: Sequence[Any]) -> bool:
    return any(_FILLED_BY.search(_squeezed(v)) for v in row if _filled(v))


def _footer(first: list[str]) -> bool:
    """A 填表人/审核人 line, by the row's first texts."""
    return bool(first) and first[0].startswith(_FOOTERS)


def _note(first: list[str]) -> bool:
    """A 注： line, by the row's first texts."""
    return bool(first) and _NOTE.match(first[0]) is not None


def _total(first: list[str]) -> str | None:
    """合计 (the table ends) or 小计 (a group ends), when the row's first texts say it is one."""
    for text in first:
        found = _TOTAL.search(text)
        if found:
            return "小计" if "小计" in text else "合计"
    return None


def _numbering(row: Sequence[Any]) -> bool:
    """甲 乙 1 2 3 …: the row numbering a statistical table's columns."""
    filled = [_squeezed(v) for v in row if _filled(v)]
    words = [v for v in filled if v in _NUMBERING_WORDS]
    numbers = [int(float(v)) for v in filled if re.fullmatch(r"\d+(?:\.0)?", v)]
    if len(filled) < 3 or not numbers or len(words) + len(numbers) != len(filled):
        return False
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _same_header(filled: list[Any], header_texts: list[list[str]]) -> bool:
    """A header repeated further down (as a printed sheet repeats it on every page), by a row's filled cells.

    `header_texts` are the header rows' filled cells, normalised once; a data row is
    normalised only until its first cell that differs.
    """
    return len(filled) >= MIN_HEADER_MATCHES and any(
        len(texts) == len(filled) and all(normalise(v) == text for v, text in zip(filled, texts, strict=True))
        for texts in header_texts)


def _sort_rows(result: BureauTable, rows: Sequence[Sequence[Any]], header: _Header,
               sequence: int | None, names: list[int]) -> None:
    top = header.rows[0]
    for index in range(top):
        row = rows[index]
        if not any(_filled(v) for v in row):
            result.empty_rows += 1
        elif _filled_by_line(row):
            result.skipped.append((index + 1, _("填报单位行")))
        else:
            result.skipped.append((index + 1, _("标题行")))
    header_texts = [[normalise(v) for v in rows[i] if _filled(v)] for i in header.rows]
    ended_at: int | None = None
    first_data = True
    for index in range(header.rows[-1] + 1, len(rows)):
        row, number = list(rows[index]), index + 1
        filled = [i for i, v in enumerate(row) if _filled(v)]
        if not filled:
            result.empty_rows += 1
            continue
        first = [_squeezed(row[i]) for i in filled[:2]]  # the row's first texts, as _first_texts reads them
        total = _total(first)
        if total:
            result.skipped.append((number, _("合计/小计行")))
            if total == "合计" and ended_at is None:
                ended_at = number
        elif _footer(first):
            result.skipped.append((number, _("填表人/审核人行")))
        elif _note(first):
            result.skipped.append((number, _("注：说明行")))
        elif ended_at is not None:
            result.skipped.append((number, _("表格已在第 %(row)s 行的合计处结束", row=ended_at)))
        elif _same_header([row[i] for i in filled], header_texts):
            result.skipped.append((number, _("重复的表头")))
        elif first_data and _numbering(row):
            result.skipped.append((number, _("栏目序号行")))
        elif filled == [sequence]:
            result.empty_rows += 1  # a numbered line of the form left blank
        elif sequence in filled and names and not any(i in filled for i in names):
            result.errors.append((number, _("第 %(row)s 行有序号但没有机构名称", row=number)))
        else:
            result.rows.append((number, row))
        first_data = False


def _column_values(rows: list[tuple[int, list[Any]]], index: int) -> Iterator[Any]:
    """The filled cells of a column, top to bottom, read as they are asked for."""
    return (row[index] for _number, row in rows if index < len(row) and _filled(row[index]))


def _unique(columns: list[ColumnGuess], exact: dict[int, bool]) -> list[ColumnGuess]:
    """One column per field: an exact match before a partial one, then the leftmost; the others unmapped."""
    holder: dict[str, int] = {}
    for column in sorted(columns, key=lambda c: (not exact[c.index], c.index)):
        if column.field and column.field not in holder:
            holder[column.field] = column.index
    return [c if not c.field or holder[c.field] == c.index else
            ColumnGuess(c.index, c.header, None, (c.field, *c.alternatives), c.samples) for c in columns]


# --- public -----------------------------------------------------------------------------------


def find_table(rows: Sequence[Sequence[Any]], sheet: str = "", kind: str | None = None,
               table: str | None = None, synonyms: Synonyms | None = None,
               sorted_as: BureauTable | None = None) -> BureauTable | None:
    """The table in a bureau's sheet: header, data, skipped rows and a field for each column; None if no header.

    `sorted_as`, the same sheet's table found before (without the kind), lends its sorting of
    the rows into data, skipped and wrong ones: the kind changes the fields, not the rows.
    """
    synonyms = synonyms or default_synonyms()
    header = _find_header(rows, synonyms)
    if header is None:
        return None
    table = table or _choose_table(header, sheet)
    matches = {i: _kept(found, table, kind) for i, found in header.matches.items()}
    sequence = next((i for i, found in matches.items() if found and found[0].field == SEQUENCE), None)
    names = [i for i, found in matches.items() if found and found[0].field in NAME_FIELDS]
    result = BureauTable(sheet, table, tuple(r + 1 for r in header.rows), [])
    if sorted_as is not None and sorted_as.header_rows == result.header_rows:
        result.rows, result.skipped, result.errors = sorted_as.rows, sorted_as.skipped, sorted_as.errors
        result.empty_rows = sorted_as.empty_rows
    else:
        _sort_rows(result, rows, header, sequence, names)

    width = max((len(row) for _number, row in result.rows), default=0)
    columns: list[ColumnGuess] = []
    exact: dict[int, bool] = {}
    for index in sorted(set(header.parts) | set(range(width))):
        samples = tuple(islice(_column_values(result.rows, index), 3))
        parts = header.parts.get(index, ())
        if not parts and not samples:
            continue
        shown = " / ".join(parts)
        if index == sequence:
            columns.append(ColumnGuess(index, shown, None, (), samples, sequence=True))
            exact[index] = True
            continue
        found = [m for m in matches.get(index, []) if m.field != SEQUENCE]
        chosen, alternatives, exact[index] = _propose(found, _column_values(result.rows, index))
        columns.append(ColumnGuess(index, shown, chosen, alternatives, samples))
    result.columns = _unique(columns, exact)
    return result


def find_tables(sheets: Iterable[tuple[str, Sequence[Sequence[Any]]]], kind: str | None = None,
                table: str | None = None, synonyms: Synonyms | None = None) -> Workbook:
    """One table per sheet that holds one; the other sheets are reported with the reason."""
    workbook = Workbook()
    for name, rows in sheets:
        if not any(_filled(v) for row in rows for v in row):
            workbook.without_table.append((name, _("工作表“%(sheet)s”是空的", sheet=name)))
            continue
        found = find_table(rows, name, kind, table, synonyms)
        if found is None:
            workbook.without_table.append((name, _("工作表“%(sheet)s”中找不到可识别的表头", sheet=name)))
        else:
            workbook.tables.append(found)
    return workbook

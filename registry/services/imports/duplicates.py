"""Possible duplicates when importing (issue 11): a new row that may be an institution already registered.

A row the plan would create is compared with the register's institutions of its kind
that the importer may read (permissions.institutions_for). A record is a candidate when

- it is in the same region and its name is close: the distinctive parts of the two
  names score at least NAME_CUTOFF with rapidfuzz's `fuzz.ratio`, on the characters or
  on their readings (pypinyin, toneless, one symbol per character, so 福壽 reads as 福寿
  and a homophone typo such as 福受 as well); or
- its point is within NEAR_M metres (geopy's geodesic), whatever its name or region.

The distinctive part of a name is what is left once it is NFKC-folded (full-width to
half-width), lower-cased and stripped of spaces, brackets and punctuation, of a leading
茂名市 and the region's own name (化州市, 化州), and of trailing generic words (有限公司;
敬老院, 卫生院 …; then 中心, 镇 …): 化州市长岐镇中心敬老院 → 长岐. A word is stripped only
when it leaves two characters or more (中医院 stays 中医院; 人民医院 becomes 人民).

Why 85: township homes differ in the town alone, and a town is two characters, so one
different character (长岐 / 长坡) scores 50, and one in four (金色年华 / 金色年代) 75, both
quiet; identical or homophone parts score 100, and one character left out of four or
more (康乐之家 / 康乐家) scores 86, flagged. One different character in a part of seven or
more characters is flagged too (6/7 = 86): names that long are rarely two places.

A record another row of the file already updates is not offered (choosing it would give
two rows one code), and the nearest CANDIDATES are kept. The register is read once, as
(id, code, name, kind, region_code, lat, lon); names are compared within (kind, region)
through an index of their distinctive parts (_Parts), points through a grid of
GRID-degree cells, so the work grows with the rows and records, not with their product.

The user decides each flagged row: "same as" a record (`settle` writes its code into the
row, and planning again makes the row an update of it) or NEW. Pass the same decisions
to `find`, which does not flag a decided row again.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from flask_babel import gettext as _
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process
from sqlalchemy import select

from registry import permissions
from registry.extensions import db
from registry.models import Institution, Region, User
from registry.services import geo
from registry.services.formats.columns import INSTITUTIONS
from registry.services.formats.exchange import Sheet, map_header
from registry.services.imports.planning import InstitutionRow, Plan

NAME_CUTOFF = 85.0
NEAR_M = 200.0
GRID = 0.002  # degrees: about 220 m of latitude, so a 200 m circle touches a cell and its neighbours
CANDIDATES = 5
LONG = math.ceil(100 / (100 - NAME_CUTOFF))  # 7 characters: see _Parts
NEW = "new"
CITY_PREFIXES = ("茂名市", "茂名")
# Generic words at the end of a name, stripped in this order: a company form once, an
# institution's type once, then where it is (中心, 镇 …) as often as they come.
COMPANY_ENDINGS = ("有限责任公司", "有限公司", "公司")
TYPE_ENDINGS = (
    # 养老机构
    "敬老院", "养老院", "养老中心", "养老服务中心", "养老服务", "颐养院", "颐养中心", "康养中心", "福利院",
    "社会福利院", "社会福利中心", "福利中心", "老人院", "老年公寓", "护理院", "护养院", "养护院", "养护中心",
    "托老所", "幸福院", "长者服务中心",
    # 医疗卫生机构
    "医院", "卫生院", "卫生站", "卫生室", "卫生所", "医务室", "诊所", "门诊部", "保健院", "社区卫生服务中心",
    "社区卫生服务站", "分院", "院区",
)
PLACE_ENDINGS = ("中心", "街道", "社区", "镇", "乡", "村")
BRACKETED = re.compile(r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]")  # after NFKC, （） are ()
Decisions = Mapping[tuple[str, int], str]  # (source, row) → an institution's code ("same as"), or NEW


@dataclass
class Candidate:
    """A registered institution a new row may be, and why it was offered."""

    id: int
    code: str
    name: str
    region_code: str
    distance_m: float | None
    score: float | None
    reason: str


@dataclass
class PossibleDuplicate:
    """A row the import would create that may be an institution already registered."""

    source: str
    row: int
    name: str
    kind: str
    candidates: list[Candidate] = field(default_factory=list)

    def __str__(self) -> str:
        where = _("%(source)s 第 %(row)s 行", source=self.source, row=self.row)
        return _("%(where)s“%(name)s”可能与已登记的机构重复", where=where, name=self.name)


# --- names -------------------------------------------------------------------------------------

_SYMBOLS: dict[str, str] = {}  # a toneless reading → the one character that stands for it
_SYMBOLS_LOCK = threading.Lock()


@cache
def _sound(char: str) -> str:
    """A Chinese character's reading as one symbol (so that rapidfuzz counts a different reading as one edit)."""
    reading = lazy_pinyin(char)[0]
    if reading == char:  # not a Chinese character
        return char
    with _SYMBOLS_LOCK:  # a character of the Supplementary Private Use Area, which `normalise` drops from names
        return _SYMBOLS.setdefault(reading, chr(0xF0000 + len(_SYMBOLS)))


def _sounds(text: str) -> str:
    return "".join(map(_sound, text))


def normalise(name: str) -> str:
    """A name as compared: NFKC (full-width → half-width), lower case, no bracketed note (（民办）), letters and digits."""
    text = unicodedata.normalize("NFKC", name).lower()
    while (shorter := BRACKETED.sub("", text)) != text:
        text = shorter
    return "".join(ch for ch in text if ch.isalnum())


def _region_forms(name: str) -> set[str]:
    """How a name may start with its region: 化州市 or 化州; 茂名滨海新区, 滨海新区 or 滨海."""
    inner = name.removeprefix("茂名")
    forms = {name, inner}
    for suffix in ("新区", "区", "市", "县"):
        if inner.endswith(suffix) and len(inner) - len(suffix) >= 2:
            forms.add(inner.removesuffix(suffix))
            break
    return forms


def _longest(text: str, words: tuple[str, ...], at_start: bool) -> str | None:
    """The first of `words` (longest first) that `text` starts (or ends) with, if it leaves two characters or more."""
    has = text.startswith if at_start else text.endswith
    if not has(words):
        return None
    word = next(w for w in words if has(w))
    return word if len(text) - len(word) >= 2 else None


def _strip(text: str, prefixes: tuple[str, ...], endings: tuple[tuple[str, ...], ...]) -> str:
    """The distinctive part: the prefixes off, a company form and a type once each, places as often as they come."""
    while prefix := _longest(text, prefixes, at_start=True):
        text = text.removeprefix(prefix)
    company, kind, places = endings
    for group in (company, kind):
        if ending := _longest(text, group, at_start=False):
            text = text.removesuffix(ending)
    while ending := _longest(text, places, at_start=False):
        text = text.removesuffix(ending)
    return text


class _Names:
    """The distinctive parts of names in one region, as characters and as readings."""

    def __init__(self, region_name: str | None):
        def longest_first(words) -> tuple[str, ...]:
            return tuple(sorted(set(words), key=len, reverse=True))

        self.prefixes = longest_first((*CITY_PREFIXES, *(_region_forms(region_name) if region_name else ())))
        self.endings = tuple(map(longest_first, (COMPANY_ENDINGS, TYPE_ENDINGS, PLACE_ENDINGS)))
        self.sound_prefixes = longest_first(map(_sounds, self.prefixes))
        self.sound_endings = tuple(longest_first(map(_sounds, group)) for group in self.endings)

    def keys(self, name: str) -> tuple[str, str]:
        text = normalise(name)
        return (_strip(text, self.prefixes, self.endings),
                _strip(_sounds(text), self.sound_prefixes, self.sound_endings))


# --- finding -----------------------------------------------------------------------------------


@dataclass
class _Record:
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    lat: float | None
    lon: float | None


def _deletions(part: str) -> set[str]:
    return {part[:i] + part[i + 1:] for i in range(len(part))}


class _Parts:
    """The distinctive parts of one group's names, in one alphabet, and which of them come close to a query.

    fuzz.ratio is 100 × (1 − Indel distance / the sum of the two lengths), so at NAME_CUTOFF 85
    two parts shorter than LONG (7) characters score enough only at distance 0 or 1: equal,
    or one is the other with one character more. A dict of each part and of each part less
    one character finds those at once. Any other pair that can score enough has a part of
    LONG characters or more, and is scored by rapidfuzz's extract over the long parts (over
    all parts, for a long query). So a name is scored against a few parts, not all of them.
    """

    def __init__(self, parts: list[str]):
        self.parts = parts
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.shortened: dict[str, list[int]] = defaultdict(list)  # a part less one character → the parts
        for index, part in enumerate(parts):
            self.exact[part].append(index)
            for shorter in _deletions(part):
                self.shortened[shorter].append(index)
        self.long = [index for index, part in enumerate(parts) if len(part) >= LONG]
        self.long_parts = [parts[index] for index in self.long]

    def close(self, query: str) -> dict[int, float]:
        """Index → score of the parts scoring NAME_CUTOFF or more against `query`."""
        if len(query) >= LONG:
            return {index: score for _part, score, index in process.extract(
                query, self.parts, scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF, limit=None)}
        found = {self.long[at]: score for _part, score, at in process.extract(
            query, self.long_parts, scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF, limit=None)}
        near = {*self.exact.get(query, ()), *self.shortened.get(query, ()),
                *(index for shorter in _deletions(query) for index in self.exact.get(shorter, ()))}
        for index in near - found.keys():
            if score := fuzz.ratio(query, self.parts[index], score_cutoff=NAME_CUTOFF):
                found[index] = score
        return found


class _Group:
    """The register's institutions of one kind in one region, their names compared as characters and as readings."""

    def __init__(self, records: list[_Record], region_name: str | None):
        self.records = records
        self.names = _Names(region_name)
        keys = [self.names.keys(record.name) for record in records]
        self.chars, self.sounds = _Parts([k[0] for k in keys]), _Parts([k[1] for k in keys])

    def close(self, name: str) -> dict[int, float]:
        """Record id → the better of the two scores, for the records whose names come close to `name`."""
        chars, sounds = self.names.keys(name)
        scores = self.chars.close(chars)
        for index, score in self.sounds.close(sounds).items():
            scores[index] = max(score, scores.get(index, 0.0))
        return {self.records[index].id: score for index, score in scores.items()}


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / GRID), math.floor(lon / GRID)


def _point(row: InstitutionRow) -> tuple[float, float] | None:
    lat, lon = row.values.get("lat"), row.values.get("lon")
    if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
        return float(lat), float(lon)
    return None


class _Register:
    """The register's institutions of the kinds asked about, by (kind, region) and by grid cell."""

    def __init__(self, user: User | None, kinds: set[str], skip: set[int]):
        scope = select(Institution) if user is None else permissions.institutions_for(user)
        query = scope.with_only_columns(Institution.id, Institution.code, Institution.name, Institution.kind,
                                        Institution.region_code, Institution.lat, Institution.lon).where(
            Institution.kind.in_(sorted(kinds)))
        self.region_names = {code: name for code, name in db.session.execute(select(Region.code, Region.name))}
        self.by_id: dict[int, _Record] = {}
        self.by_region: dict[tuple[str, str], list[_Record]] = defaultdict(list)
        self.by_cell: dict[tuple[str, int, int], list[_Record]] = defaultdict(list)
        for values in db.session.execute(query).tuples():
            record = _Record(*values)
            if record.id in skip:
                continue
            self.by_id[record.id] = record
            self.by_region[record.kind, record.region_code].append(record)
            if record.lat is not None and record.lon is not None:
                self.by_cell[(record.kind, *_cell(record.lat, record.lon))].append(record)
        self.groups: dict[tuple[str, str], _Group] = {}

    def close_names(self, kind: str, region_code: str, name: str) -> dict[int, float]:
        """Record id → score, for the records of the region whose names come close."""
        records = self.by_region.get((kind, region_code))
        if not records:
            return {}
        if (kind, region_code) not in self.groups:
            self.groups[kind, region_code] = _Group(records, self.region_names.get(region_code))
        return self.groups[kind, region_code].close(name)

    def near(self, kind: str, lat: float, lon: float) -> dict[int, float]:
        """Record id → metres, for the CANDIDATES nearest records within NEAR_M (geo's geodesic)."""
        south, north, west, east = geo._box(lat, lon, NEAR_M / 1000)
        (low_i, low_j), (high_i, high_j) = _cell(south, west), _cell(north, east)
        points = [(record.id, record.lat, record.lon) for i in range(low_i, high_i + 1)
                  for j in range(low_j, high_j + 1) for record in self.by_cell.get((kind, i, j), ())]
        if not points:
            return {}
        return {record_id: km * 1000 for km, record_id in geo._nearest_in(points, lat, lon, NEAR_M / 1000,
                                                                           CANDIDATES)}


def _reason(score: float | None, metres: float | None) -> str:
    parts = []
    if score is not None:
        parts.append(_("名称相近（相似度 %(score)s）", score=round(score)))
    if metres is not None:
        parts.append(_("相距 %(metres)s 米", metres=round(metres)))
    return "，".join(parts)


def find(plan: Plan, user: User | None, decided: Decisions | None = None) -> list[PossibleDuplicate]:
    """The rows `plan` would create that may be institutions `user` (None: the system) may read.

    A row in `decided` (the decisions already taken, as given to `settle`) is not flagged again.
    """
    decided = decided or {}
    rows = [r for r in plan.institutions if r.action == "create" and (r.source, r.row) not in decided
            and r.values.get("name")]
    if not rows:
        return []
    claimed = {r.existing.id for r in plan.institutions if r.existing is not None}
    register = _Register(user, {r.kind for r in rows}, claimed)
    found = []
    for row in rows:
        scores = register.close_names(row.kind, row.values.get("region_code") or "", str(row.values["name"]))
        point = _point(row)
        metres = register.near(row.kind, *point) if point else {}
        candidates = []
        for record_id in scores.keys() | metres.keys():
            record = register.by_id[record_id]
            score, distance = scores.get(record_id), metres.get(record_id)
            candidates.append(Candidate(record.id, record.code, record.name, record.region_code, distance, score,
                                        _reason(score, distance)))
        if candidates:
            candidates.sort(key=lambda c: (-(c.score or 0), math.inf if c.distance_m is None else c.distance_m,
                                           c.code))
            found.append(PossibleDuplicate(row.source, row.row, str(row.values["name"]), row.kind,
                                           candidates[:CANDIDATES]))
    return found


# --- deciding ----------------------------------------------------------------------------------


def settle(sheets: list[Sheet], decisions: Decisions) -> None:
    """Write each "same as" decision's code into its row's 机构编码 cell, so that planning again updates that record.

    A sheet without a code column gets one (every row padded to the header); NEW decisions change nothing here.
    """
    same = {key: code for key, code in decisions.items() if code != NEW}
    for sheet in sheets:
        wanted = {row: code for (source, row), code in same.items() if source == sheet.source}
        if sheet.table is not INSTITUTIONS or not wanted:
            continue
        positions = {column.key: index for index, column in map_header(sheet.table, sheet.header)[0].items()}
        if "code" not in positions:
            sheet.header.append("code")
            positions["code"] = len(sheet.header) - 1
        for number, cells in sheet.rows:
            cells.extend([None] * (len(sheet.header) - len(cells)))
            if number in wanted:
                cells[positions["code"]] = wanted[number]

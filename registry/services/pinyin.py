"""Readings of Chinese names in pinyin, for sorting and searching (docs/data-model.md, "Names").

A name is read character by character from pypinyin's dictionary (toneless, its most
common reading first), then phrases correct it where a character reads otherwise: the
project's own readings of local names (`seeds/pinyin_readings.csv`: 长坡 is cháng pō,
where pypinyin says zhǎng) before pypinyin's phrase dictionary (长寿 cháng shòu, 银行
yín háng). Only phrases that read differently from their characters are kept, so a name
costs a few dictionary lookups per character; pypinyin's own segmenter is about forty
times slower, too slow for an import of 100,000 names.

Latin letters and digits are kept as words (lower case); other symbols separate words.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

from pypinyin.constants import PHRASES_DICT
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

READINGS_FILE = Path(__file__).resolve().parents[2] / "seeds" / "pinyin_readings.csv"
LONGEST_PHRASE = 4
# A run of Latin letters and digits, or one character of the CJK blocks.
WORD = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class Reading:
    """A name read word by word: each word's syllable (a Latin word or a number stands for
    itself), its initial, and the other reading of each heteronym where the name has one."""

    __slots__ = ("words", "syllables", "initials", "others")

    def __init__(self, words: list[str], syllables: list[str], first: dict[str, str]) -> None:
        self.words = words
        self.syllables = syllables
        self.initials = [s[0] if w in first else s for w, s in zip(words, syllables, strict=True)]
        self.others: list[str] | None = None
        if not HETERONYMS.isdisjoint(words):
            self.others = [_other(w, s) if w in HETERONYMS else s for w, s in zip(words, syllables, strict=True)]

    @property
    def sort_key(self) -> str:
        """Syllables separated by spaces: 长坡镇卫生院 → "chang po zhen wei sheng yuan"."""
        return " ".join(self.syllables)

    @property
    def other_initials(self) -> list[str]:
        """The initials of the other reading (the initials when the name has no heteronym)."""
        first, others = _first(), self.others or self.syllables
        return [o[0] if w in first else o for w, o in zip(self.words, others, strict=True)]


# Characters whose reading depends on the phrase and whose other reading people also type.
# Phrase readings are looked for only around them (and the characters the project's own
# readings change); search finds a name by either reading (长坡 by "changpo" and by
# "zhangpo"), sorting takes the name's own reading.
HETERONYMS = frozenset("长行重乐会朝曾都厦柏单传调降觉藏省参差还仇朴查")


@cache
def _characters() -> dict[str, tuple[str, ...]]:
    """Each character's toneless readings, the most common first (pypinyin's order)."""
    table: dict[str, tuple[str, ...]] = {}
    for code, readings in pinyin_dict.items():
        plain: list[str] = []
        for reading in readings.split(","):
            toneless = _toneless(reading)
            if toneless not in plain:
                plain.append(toneless)
        table[chr(code)] = tuple(plain)
    return table


@cache
def _first() -> dict[str, str]:
    """Each character's most common toneless reading."""
    return {character: readings[0] for character, readings in _characters().items()}


@cache
def syllables() -> frozenset[str]:
    """Every toneless syllable of the dictionary (of one letter, only a, e and o)."""
    return frozenset(r for readings in _characters().values() for r in readings
                     if r.isascii() and r.isalpha() and (len(r) > 1 or r in "aeo"))


def _toneless(reading: str) -> str:
    return to_normal(reading).replace("ü", "v")


@cache
def _phrases() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """Phrases that read otherwise than their characters' first readings, and the characters
    around which to look for them: the project's own readings, then pypinyin's phrases that
    change a character of HETERONYMS."""
    first = _first()
    table: dict[str, tuple[str, ...]] = {}
    for phrase, readings in PHRASES_DICT.items():
        if not 2 <= len(phrase) <= LONGEST_PHRASE or len(readings) != len(phrase):
            continue
        toneless = tuple(_toneless(r[0]) for r in readings)
        changed = {c for c, s in zip(phrase, toneless, strict=True) if first.get(c, c) != s}
        if changed and changed <= HETERONYMS:
            table[phrase] = toneless
    checked = set(HETERONYMS)
    with READINGS_FILE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            phrase, syllables = row["phrase"].strip(), tuple(row["reading"].split())
            if len(syllables) != len(phrase) or not 2 <= len(phrase) <= LONGEST_PHRASE:
                raise ValueError(f"{READINGS_FILE.name}: {phrase} needs one syllable per character")
            table[phrase] = syllables
            checked |= {c for c, s in zip(phrase, syllables, strict=True) if first.get(c, c) != s}
    return table, frozenset(checked)


def read(name: str) -> Reading:
    """The name's reading: each character's most common one, corrected by phrase readings."""
    first = _first()
    words = WORD.findall(name.lower())
    syllables = [first.get(w, w) for w in words]
    phrases, checked = _phrases()
    if not checked.isdisjoint(words):
        fixed = -1  # positions up to here were read as part of a phrase
        for position, word in enumerate(words):
            if word in checked and position > fixed:
                fixed = max(fixed, _read_phrase(words, syllables, position, phrases))
    return Reading(words, syllables, first)


def _read_phrase(words: list[str], syllables: list[str], position: int,
                 phrases: dict[str, tuple[str, ...]]) -> int:
    """Read the longest phrase around `position` that has a reading; the last position it covers."""
    for length in range(LONGEST_PHRASE, 1, -1):
        for start in range(max(0, position - length + 1), min(position, len(words) - length) + 1):
            found = phrases.get("".join(words[start:start + length]))
            if found is not None and len(found) == length:
                syllables[start:start + length] = found
                return start + length - 1
    return position


def _other(character: str, syllable: str) -> str:
    """The heteronym's other common reading: the first of its two that the name did not take."""
    first, second = _characters()[character][:2]
    return second if syllable == first else first


def sort_key(name: str) -> str:
    """The key that sorts names by pinyin (then the caller sorts by name for ties)."""
    return read(name).sort_key

"""Finding and sorting institutions by name the way staff type them (docs/data-model.md, "Names").

One home for the rule. A search box's text finds an institution by
- its characters, a two-character term included (电白);
- its full pinyin, whole or begun (maomingshi, changpo, "renm");
- its initials (mmsrmyy finds 茂名市人民医院), anywhere in the name (rmyy);
- its code or credit code, whole or begun;
- the characters of its address.
A heteronym is found by either reading (长坡 by "changpo" and "zhangpo"); lists sort by
the name's own reading (长坡 is cháng). Words of the search text must all be found.

The keys are written with the record: on every ORM flush (forms, API, review, cascades,
seeding) by the mapper events below, and by the importer's bulk statements through
`key_rows`. The database's full-text index serves the search (models/search.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import (
    ColumnElement,
    Select,
    column,
    delete,
    event,
    false,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import aliased

from registry.extensions import db
from registry.models import Institution
from registry.models.search import FTS_TABLE, TSVECTOR, InstitutionSearchKey
from registry.services import pinyin

FTS = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))  # SQLite's FTS5 table (models/search.py)
BREAK = "zz0"  # between the document's parts, so a phrase never runs from one part into the next
BREAK_JOIN = f" {BREAK} "
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SOURCES = ("name", "address", "code", "uscc")  # the fields the keys are read from, in key_row's order
SOURCES_SET = frozenset(SOURCES)
DELETE_CHUNK = 900  # ids a statement names (within every database's limit of bound parameters)
MAX_TERMS = 8  # words of a search text
MAX_SEGMENTATIONS = 4  # ways to split typed pinyin into syllables (xian: xian, xi an)


def document(name: str, address: str = "", code: str = "", uscc: str | None = "",
             reading: pinyin.Reading | None = None) -> str:
    """The text the database indexes: the name's characters, syllables and initials (and
    those of a heteronym's other reading), the codes, the address's characters."""
    reading = reading or pinyin.read(name or "")
    parts = [" ".join(reading.words), " ".join(reading.syllables), " ".join(reading.initials)]
    if reading.others:
        parts += [" ".join(reading.others), " ".join(reading.other_initials)]
    codes = pinyin.WORD.findall(f"{code or ''} {uscc or ''}".lower())
    parts += [" ".join(codes + [c.lstrip(LETTERS) for c in codes if c[0] in LETTERS and not c.isalpha()]),
              " ".join(pinyin.WORD.findall(address.lower())) if address else ""]
    return BREAK_JOIN.join(p for p in parts if p)


def key_row(institution_id: int, name: str, address: str = "", code: str = "", uscc: str | None = "") -> dict:
    """The keys row of one institution, for an insert."""
    reading = pinyin.read(name or "")
    return {"institution_id": institution_id, "sort_key": reading.sort_key[:600],
            "document": document(name, address, code, uscc, reading)}


def key_rows(records: Iterable[tuple[int, str, str, str, str | None]]) -> list[dict]:
    """Keys rows of (id, name, address, code, uscc) tuples, for the importer's bulk statements."""
    return [key_row(*record) for record in records]


def write_keys(rows: list[dict], replace: bool = False, connection=None) -> None:
    """Insert keys rows in one executemany (on `connection`, else the session's); `replace` drops
    the rows they replace first."""
    if not rows:
        return
    execute = connection.execute if connection is not None else db.session.execute
    if replace:
        ids = [r["institution_id"] for r in rows]
        for start in range(0, len(ids), DELETE_CHUNK):
            execute(delete(InstitutionSearchKey).where(
                InstitutionSearchKey.institution_id.in_(ids[start:start + DELETE_CHUNK])))
    execute(insert(InstitutionSearchKey), rows)


def _keys_of(target: Institution) -> list[dict]:
    return [key_row(target.id, *(getattr(target, field) for field in SOURCES))]


@event.listens_for(Institution, "after_insert")
def _keys_of_new(_mapper, connection, target: Institution) -> None:
    write_keys(_keys_of(target), connection=connection)


@event.listens_for(Institution, "after_update")
def _keys_of_changed(_mapper, connection, target: Institution) -> None:
    state = inspect(target)
    if any(state.attrs[field].history.has_changes() for field in SOURCES):
        write_keys(_keys_of(target), replace=True, connection=connection)


# --- the search -----------------------------------------------------------------------------

Phrase = tuple[tuple[str, ...], bool]  # tokens in order, and whether the last one may be begun


@cache
def _begun() -> frozenset[str]:
    """Every beginning of a syllable (the syllable included)."""
    return frozenset(s[:i] for s in pinyin.syllables() for i in range(1, len(s) + 1))


def segmentations(letters: str) -> list[tuple[str, ...]]:
    """Ways to read typed letters as whole syllables, the last one possibly begun; fewest syllables first."""
    whole, begun = pinyin.syllables(), _begun()
    found: list[tuple[str, ...]] = []

    def walk(rest: str, taken: tuple[str, ...]) -> None:
        if len(found) >= 32:
            return
        if rest in begun:
            found.append((*taken, rest))
        for end in range(min(6, len(rest) - 1), 0, -1):
            if rest[:end] in whole:
                walk(rest[end:], (*taken, rest[:end]))

    walk(letters, ())
    return sorted(set(found), key=len)[:MAX_SEGMENTATIONS]


def phrases(term: str) -> list[Phrase]:
    """What one word of a search text may stand for, each a phrase of the document's tokens."""
    words = pinyin.WORD.findall(term.lower())
    if not words:
        return []
    if len(words) > 1 or not words[0].isascii():  # characters (and any words typed with them)
        return [(tuple(words), words[-1].isascii())]
    word = words[0]
    found: list[Phrase] = [((word,), True)]  # a Latin word, a code, a syllable begun
    if word.isalpha() and len(word) > 1:
        found.append((tuple(word), False))  # initials, one letter a character
        found += [(syllables, True) for syllables in segmentations(word) if len(syllables) > 1]
    return found


def _terms(text: str) -> list[list[Phrase]]:
    return [found for found in (phrases(t) for t in text.split()[:MAX_TERMS]) if found]


def fts5_query(terms: list[list[Phrase]]) -> str:
    """The terms as an SQLite FTS5 query: phrases in double quotes, a begun last token starred."""
    def one(phrase: Phrase) -> str:
        tokens, begun = phrase
        return f'"{" ".join(tokens)}"' + (" *" if begun else "")
    return " AND ".join("(" + " OR ".join(one(p) for p in alternatives) + ")" for alternatives in terms)


def tsquery(terms: list[list[Phrase]]) -> str:
    """The terms as a PostgreSQL tsquery: tokens joined by <->, a begun last token :*."""
    def one(phrase: Phrase) -> str:
        tokens, begun = phrase
        return "(" + " <-> ".join(tokens) + (":*" if begun else "") + ")"
    return " & ".join("(" + " | ".join(one(p) for p in alternatives) + ")" for alternatives in terms)


def matching_ids(text: str):
    """A select of the ids of institutions the search text finds (through the full-text index)."""
    terms = _terms(text)
    if not terms:
        return None
    if db.engine.dialect.name == "postgresql":
        return select(InstitutionSearchKey.institution_id).where(
            literal_column(TSVECTOR).op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), tsquery(terms))))
    return select(FTS.c.rowid).where(FTS.c[FTS_TABLE].match(fts5_query(terms)))


def matching(text: str, *columns) -> ColumnElement[bool]:
    """SQL condition: an institution whose id is in one of `columns` (Institution.id when none) is
    found by the search text."""
    ids = matching_ids(text)
    if ids is None:
        return false()
    return or_(*(column.in_(ids) for column in columns or (Institution.id,)))


def by_name(query: Select, entity=Institution, descending: bool = False) -> Select:
    """Order a query by `entity`'s name in pinyin (then by the name, for names that read alike).

    `entity` is Institution or an alias of it already in the query; the keys are joined to it.
    """
    keys = aliased(InstitutionSearchKey)
    query = query.outerjoin(keys, keys.institution_id == entity.id)
    if descending:
        return query.order_by(keys.sort_key.desc(), entity.name.desc())
    return query.order_by(keys.sort_key.asc(), entity.name.asc())

"""Each institution's pinyin sort key and search document, indexed by the database (docs/data-model.md, "Names").

The keys live beside the record, not in it: they are derived from the name, address and
codes, are never edited, audited or exported. The database indexes the document with its
own full-text search: an FTS5 table kept by triggers on SQLite, a GIN index on the
document's `simple` tsvector on PostgreSQL. Both split the document on spaces, so a
two-character term is a phrase of two single-character tokens and uses the index (a
trigram index cannot serve it).
"""

from __future__ import annotations

from sqlalchemy import DDL, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.institutions import STATE_INDEX

# Byte order on PostgreSQL, as on SQLite: a locale's collation would skip the spaces between syllables.
SORT_KEY = String(600).with_variant(String(600, collation="C"), "postgresql")


class InstitutionSearchKey(db.Model):
    """An institution's sort key (syllables, "chang po zhen …") and search document."""

    __tablename__ = "institution_search_keys"

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    sort_key: Mapped[str] = mapped_column(SORT_KEY, index=True)
    document: Mapped[str] = mapped_column(Text)


FTS_TABLE = "institution_search"  # the SQLite FTS5 table below
TSVECTOR = "to_tsvector('simple'::regconfig, document)"
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE institution_search USING fts5(document, content='institution_search_keys', "
    "content_rowid='institution_id')",
    "CREATE TRIGGER institution_search_insert AFTER INSERT ON institution_search_keys BEGIN "
    "INSERT INTO institution_search(rowid, document) VALUES (new.institution_id, new.document); END",
    "CREATE TRIGGER institution_search_delete AFTER DELETE ON institution_search_keys BEGIN "
    "INSERT INTO institution_search(institution_search, rowid, document) "
    "VALUES ('delete', old.institution_id, old.document); END",
    "CREATE TRIGGER institution_search_update AFTER UPDATE OF document ON institution_search_keys BEGIN "
    "INSERT INTO institution_search(institution_search, rowid, document) "
    "VALUES ('delete', old.institution_id, old.document); "
    "INSERT INTO institution_search(rowid, document) VALUES (new.institution_id, new.document); END",
)
SQLITE_DROP = "DROP TABLE IF EXISTS institution_search"
# The index's expression is the one the search asks for (name_search.matching_ids), or it goes unused.
POSTGRESQL_DDL = ("CREATE INDEX ix_institution_search_keys_document ON institution_search_keys "  # noqa: S608 - constants
                  f"USING gin ({TSVECTOR})",)

for statement in SQLITE_DDL:
    event.listen(InstitutionSearchKey.__table__, "after_create", DDL(statement).execute_if(dialect="sqlite"))
for statement in POSTGRESQL_DDL:
    event.listen(InstitutionSearchKey.__table__, "after_create", DDL(statement).execute_if(dialect="postgresql"))
event.listen(InstitutionSearchKey.__table__, "before_drop", DDL(SQLITE_DROP).execute_if(dialect="sqlite"))


def indexed_by_the_database(name: str) -> bool:
    """Tables and indexes DDL creates, which the models do not describe (for Alembic): the above, STATE_INDEX."""
    return (name == FTS_TABLE or name.startswith(f"{FTS_TABLE}_")
            or name in ("ix_institution_search_keys_document", STATE_INDEX))

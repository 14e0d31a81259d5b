"""each institution's pinyin sort key and search document, indexed for full-text search

Revision ID: 0012_institution_search_keys
Revises: 0011_target_version
Create Date: 2026-12-07 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_institution_search_keys'
down_revision = '0011_target_version'
branch_labels = None
depends_on = None


def upgrade():
    from registry.models.search import POSTGRESQL_DDL, SORT_KEY, SQLITE_DDL
    from registry.services import name_search

    op.create_table(
        'institution_search_keys',
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('sort_key', SORT_KEY, nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'],
                                name=op.f('fk_institution_search_keys_institution_id_institutions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('institution_id', name=op.f('pk_institution_search_keys')),
    )
    op.create_index(op.f('ix_institution_search_keys_sort_key'), 'institution_search_keys', ['sort_key'],
                    unique=False)
    connection = op.get_bind()
    for statement in SQLITE_DDL if connection.dialect.name == 'sqlite' else POSTGRESQL_DDL:
        op.execute(statement)
    # The keys of the institutions registered so far (the triggers index them on SQLite).
    institutions = sa.table('institutions', *(sa.column(c) for c in ('id', *name_search.SOURCES)))
    keys = sa.table('institution_search_keys', sa.column('institution_id'), sa.column('sort_key'),
                    sa.column('document'))
    rows = connection.execute(sa.select(institutions.c.id, *(institutions.c[c] for c in name_search.SOURCES)))
    while batch := rows.fetchmany(5000):
        connection.execute(sa.insert(keys), name_search.key_rows(tuple(r) for r in batch))


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == 'sqlite':
        op.execute('DROP TABLE IF EXISTS institution_search')
    else:
        op.execute('DROP INDEX IF EXISTS ix_institution_search_keys_document')
    op.drop_index(op.f('ix_institution_search_keys_sort_key'), table_name='institution_search_keys')
    op.drop_table('institution_search_keys')

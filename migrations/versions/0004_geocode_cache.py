"""geocode cache

Revision ID: 0004_geocode_cache
Revises: 0003_indexes_uploads
Create Date: 2026-11-24 15:22:13.757045

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_geocode_cache'
down_revision = '0003_indexes_uploads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('geocode_cache',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('query', sa.String(length=400), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('display_name', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_geocode_cache')),
    sa.UniqueConstraint('provider', 'query', name='uq_geocode_cache_provider_query')
    )


def downgrade():
    op.drop_table('geocode_cache')

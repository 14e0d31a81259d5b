"""audit events carry the first day whose compliance figures they can move, so past reports stay cached

Revision ID: 0015_audit_affects_from
Revises: 0014_compliance_lookup_indexes
Create Date: 2026-12-07 13:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_audit_affects_from'
down_revision = '0014_compliance_lookup_indexes'
branch_labels = None
depends_on = None


def upgrade():
    # Events recorded before keep NULL: any day, as the cache must assume of them.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('affects_from', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('affects_from')

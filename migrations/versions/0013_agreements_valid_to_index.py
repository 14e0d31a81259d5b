"""agreements indexed by their last day, for the bell's count of agreements ending soon

Revision ID: 0013_agreements_valid_to
Revises: 0012_institution_search_keys
Create Date: 2026-12-07 14:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_agreements_valid_to'
down_revision = '0012_institution_search_keys'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index('ix_agreements_valid_to', ['valid_to'], unique=False)


def downgrade():
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index('ix_agreements_valid_to')

"""institutions: contact person, phone, note and special-support home; regions lose an unread flag

Revision ID: 0007_contacts
Revises: 0006_audit_register
Create Date: 2026-12-01 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_contacts'
down_revision = '0006_audit_register'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_person', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('phone', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('note', sa.String(length=1000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('special_support', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_column('in_district_targets')


def downgrade():
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_district_targets', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_column('special_support')
        batch_op.drop_column('note')
        batch_op.drop_column('phone')
        batch_op.drop_column('contact_person')

"""indexes for the compliance counts: institutions' dates, kind and region by id; agreements by service

Revision ID: 0014_compliance_lookup_indexes
Revises: 0013_agreements_valid_to
Create Date: 2026-12-07 14:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_compliance_lookup_indexes'
down_revision = '0013_agreements_valid_to'
branch_labels = None
depends_on = None

STATE = ['kind', 'region_code', 'medical_type', 'opened_on', 'closed_on']


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':  # SQLite finds a row by its rowid as cheaply
        op.execute('CREATE INDEX ix_institutions_id_state ON institutions (id) INCLUDE (%s)' % ', '.join(STATE))
    with op.batch_alter_table('agreement_services', schema=None) as batch_op:
        batch_op.create_index('ix_agreement_services_service', ['service', 'agreement_id'], unique=False)


def downgrade():
    with op.batch_alter_table('agreement_services', schema=None) as batch_op:
        batch_op.drop_index('ix_agreement_services_service')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_institutions_id_state', table_name='institutions')

"""review and reporting: change requests (区县录入 → 市级审核), period reports (上报) with snapshots the
database refuses to change, the amendments made after a report was approved, and audit events linked to
their change request

Revision ID: 0010_review_and_reporting
Revises: 0009_import_profiles
Create Date: 2026-12-07 08:11:14.202182

"""
from alembic import op
import sqlalchemy as sa

# A migration keeps its own copy of the statements (registry/models/review.py holds the current ones).
FROZEN = "period, region_code, version, as_of, snapshot, submitted_by_id, submitted_at"
SQLITE_TRIGGER = (f"CREATE TRIGGER period_reports_frozen BEFORE UPDATE OF {FROZEN} ON period_reports "
                  "BEGIN SELECT RAISE(ABORT, 'period report snapshots never change'); END")
POSTGRESQL_FUNCTION = ("CREATE OR REPLACE FUNCTION period_reports_frozen() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'period report snapshots never change'; END $$")
POSTGRESQL_TRIGGER = (f"CREATE TRIGGER period_reports_frozen BEFORE UPDATE OF {FROZEN} ON period_reports "
                      "FOR EACH ROW EXECUTE FUNCTION period_reports_frozen()")


# revision identifiers, used by Alembic.
revision = '0010_review_and_reporting'
down_revision = '0009_import_profiles'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('period_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_period_reports_decided_by_id_users')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_period_reports_region_code_regions')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_period_reports_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_reports')),
    sa.UniqueConstraint('period', 'region_code', 'version', name=op.f('uq_period_reports_period'))
    )
    with op.batch_alter_table('period_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_period_reports_period'), ['period'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)

    op.create_table('change_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('base', sa.JSON(), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('upload_id', sa.Integer(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('impact', sa.JSON(), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('seen', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_change_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_change_requests_region_code_regions')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_change_requests_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['upload_id'], ['import_uploads.id'], name=op.f('fk_change_requests_upload_id_import_uploads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_requests'))
    )
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_requests_department'), ['department'], unique=False)
        batch_op.create_index('ix_change_requests_record', ['entity', 'entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_requests_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_requests_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('report_amendments',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'], name=op.f('fk_report_amendments_event_id_audit_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['period_reports.id'], name=op.f('fk_report_amendments_report_id_period_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'event_id', name=op.f('pk_report_amendments'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_request_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_change_request_id'), ['change_request_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audit_events_change_request_id_change_requests'), 'change_requests', ['change_request_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_events_change_request_id_change_requests'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_events_change_request_id'))
        batch_op.drop_column('change_request_id')

    op.drop_table('report_amendments')
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_requests_submitted_by_id'))
        batch_op.drop_index(batch_op.f('ix_change_requests_status'))
        batch_op.drop_index(batch_op.f('ix_change_requests_region_code'))
        batch_op.drop_index('ix_change_requests_record')
        batch_op.drop_index(batch_op.f('ix_change_requests_department'))

    op.drop_table('change_requests')
    with op.batch_alter_table('period_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_reports_period'))

    op.drop_table('period_reports')  # its trigger goes with it
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS period_reports_frozen()')

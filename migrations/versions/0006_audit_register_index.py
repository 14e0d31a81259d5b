"""audit events that can change the register, indexed for the compliance cache

Revision ID: 0006_audit_register
Revises: 0005_sessions
Create Date: 2026-11-24 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_audit_register'
down_revision = '0005_sessions'
branch_labels = None
depends_on = None

REGISTER_EVENTS = "entity NOT IN ('users', 'api_tokens') AND action <> 'denied'"


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_register', ['id'], unique=False,
                              postgresql_where=sa.text(REGISTER_EVENTS), sqlite_where=sa.text(REGISTER_EVENTS))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_register', postgresql_where=sa.text(REGISTER_EVENTS),
                            sqlite_where=sa.text(REGISTER_EVENTS))

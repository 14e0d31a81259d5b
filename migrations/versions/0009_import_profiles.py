"""import uploads keep the uploader's mapping, corrections, duplicate decisions and job; import profiles

Revision ID: 0009_import_profiles
Revises: 0008_token_expiry
Create Date: 2026-12-02 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_import_profiles'
down_revision = '0008_token_expiry'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('choices', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('corrections', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('decisions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('job_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('job_kind', sa.String(length=10), nullable=True))
    op.create_table(
        'import_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('table', sa.String(length=20), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=True),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('headers', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_profiles_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_profiles')),
        sa.UniqueConstraint('name', name=op.f('uq_import_profiles_name')),
    )
    with op.batch_alter_table('import_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_profiles_signature'), ['signature'], unique=False)


def downgrade():
    with op.batch_alter_table('import_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_profiles_signature'))
    op.drop_table('import_profiles')
    with op.batch_alter_table('import_uploads', schema=None) as batch_op:
        batch_op.drop_column('job_kind')
        batch_op.drop_column('job_id')
        batch_op.drop_column('decisions')
        batch_op.drop_column('corrections')
        batch_op.drop_column('choices')
        batch_op.drop_column('kind')

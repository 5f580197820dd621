"""integrations: the integration log (bot secrets come with the designer's migration, c3d9e1f27a40)

Revision ID: 5c1e9a7b3d20
Revises: 6e68945a5612
Create Date: 2026-11-22 01:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1e9a7b3d20'
down_revision = '6e68945a5612'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('integration_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('request_headers', sa.JSON(), nullable=True),
    sa.Column('request_body', sa.Text(), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_log'))
    )
    with op.batch_alter_table('integration_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_log_bot_id_timestamp'), ['bot_id', 'timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_log_bot_id_step_id'), ['bot_id', 'step_id'], unique=False)


def downgrade():
    with op.batch_alter_table('integration_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_log_bot_id_step_id'))
        batch_op.drop_index(batch_op.f('ix_integration_log_bot_id_timestamp'))
    op.drop_table('integration_log')

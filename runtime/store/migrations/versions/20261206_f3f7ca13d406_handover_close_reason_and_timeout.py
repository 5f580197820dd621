"""handover: why a session closed (an agent, its timeout, a trigger) and how long its step waits for an agent

Revision ID: f3f7ca13d406
Revises: d41f0c6a2b57
Create Date: 2026-12-06 23:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3f7ca13d406'
down_revision = 'd41f0c6a2b57'
branch_labels = None
depends_on = None


def upgrade():
    # In place (nullable columns): no copy of the table.
    op.add_column('handover_sessions', sa.Column('close_reason', sa.String(length=16), nullable=True))
    op.add_column('handover_sessions', sa.Column('timeout', sa.Integer(), nullable=True))
    # Sessions closed before: the store wrote 'timeout' and 'bot' as who closed them; anyone else was an agent.
    # (Their timeouts were not recorded: they stay unknown.)
    op.execute("UPDATE handover_sessions SET close_reason = CASE closed_by WHEN 'timeout' THEN 'timeout' "
               "WHEN 'bot' THEN 'trigger' ELSE 'agent' END WHERE status = 'closed'")


def downgrade():
    with op.batch_alter_table('handover_sessions', schema=None) as batch_op:
        batch_op.drop_column('timeout')
        batch_op.drop_column('close_reason')

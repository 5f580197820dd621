"""handover: the sessions in which agents have a conversation, and the conversation's open one

Revision ID: cbbb649be5bd
Revises: b7a2c4e91d03
Create Date: 2026-11-22 04:54:56.653593

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cbbb649be5bd'
down_revision = 'b7a2c4e91d03'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('handover_sessions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('queue', sa.String(length=100), nullable=True),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('agent_id', sa.String(length=255), nullable=True),
    sa.Column('agent_name', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_handover_sessions_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_sessions'))
    )
    with op.batch_alter_table('handover_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_sessions_bot_id_status_created_at'), ['bot_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_sessions_conversation_id'), ['conversation_id'], unique=False)

    # In place, not a batch copy: re-creating `conversations` would cascade to its transcript.
    op.add_column('conversations', sa.Column('handover_id', sa.String(length=32), nullable=True))



def downgrade():
    op.drop_column('conversations', 'handover_id')

    with op.batch_alter_table('handover_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_sessions_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_handover_sessions_bot_id_status_created_at'))

    op.drop_table('handover_sessions')

"""pending_effects: the turns' outbox, the after-commit effects a committed turn still owes (runtime.turns.outbox)

Revision ID: 2f6a8d4c0b13
Revises: 7e5d3c1b9a42
Create Date: 2026-12-14 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2f6a8d4c0b13'
down_revision = '7e5d3c1b9a42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_effects',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('handler', sa.String(length=200), nullable=False),
    sa.Column('effect', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('relay_after', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_pending_effects_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_effects'))
    )
    op.create_index(op.f('ix_pending_effects_relay_after'), 'pending_effects', ['relay_after'], unique=False)
    op.create_index(op.f('ix_pending_effects_conversation_id'), 'pending_effects', ['conversation_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_pending_effects_conversation_id'), table_name='pending_effects')
    op.drop_index(op.f('ix_pending_effects_relay_after'), table_name='pending_effects')
    op.drop_table('pending_effects')

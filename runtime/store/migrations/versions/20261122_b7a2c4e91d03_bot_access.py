"""designer: who made each bot and which editors may open it

Revision ID: b7a2c4e91d03
Revises: 2afbd115fc40
Create Date: 2026-11-22 02:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7a2c4e91d03'
down_revision = '2afbd115fc40'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('bots', sa.Column('created_by', sa.String(length=255), nullable=True))
    op.create_table('bot_access',
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_bot_access_bot_id_bots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bot_access_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bot_id', 'user_id', name=op.f('pk_bot_access'))
    )
    op.create_index(op.f('ix_bot_access_user_id'), 'bot_access', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_bot_access_user_id'), table_name='bot_access')
    op.drop_table('bot_access')
    # In place (SQLite >= 3.35), not a batch copy: re-creating `bots` would cascade to its versions and conversations.
    op.drop_column('bots', 'created_by')

"""platforms: connections to messaging platforms and their users' conversations; delivery targets get a kind

Revision ID: d41f0c6a2b57
Revises: cbbb649be5bd
Create Date: 2026-11-22 05:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd41f0c6a2b57'
down_revision = 'cbbb649be5bd'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('webhook_subscriptions',
                  sa.Column('kind', sa.String(length=16), server_default='webhook', nullable=False))
    op.create_table('platform_connections',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_platform_connections_bot_id_bots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['webhook_subscriptions.id'], name=op.f('fk_platform_connections_target_id_webhook_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_connections')),
    sa.UniqueConstraint('bot_id', 'slug', name=op.f('uq_platform_connections_bot_id_slug')),
    sa.UniqueConstraint('target_id', name=op.f('uq_platform_connections_target_id'))
    )
    op.create_index(op.f('ix_platform_connections_bot_id'), 'platform_connections', ['bot_id'], unique=False)
    op.create_table('platform_threads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.String(length=40), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('asset_id', sa.String(length=200), nullable=False),
    sa.Column('user_address', sa.String(length=200), nullable=False),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['platform_connections.id'], name=op.f('fk_platform_threads_connection_id_platform_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_platform_threads_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_threads')),
    sa.UniqueConstraint('conversation_id', name=op.f('uq_platform_threads_conversation_id')),
    sa.UniqueConstraint('open_key', name=op.f('uq_platform_threads_open_key'))
    )
    op.create_index(op.f('ix_platform_threads_connection_id'), 'platform_threads', ['connection_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_platform_threads_connection_id'), table_name='platform_threads')
    op.drop_table('platform_threads')
    op.drop_index(op.f('ix_platform_connections_bot_id'), table_name='platform_connections')
    op.drop_table('platform_connections')
    # In place (SQLite >= 3.35), not a batch copy: re-creating the table would cascade to its deliveries.
    op.drop_column('webhook_subscriptions', 'kind')

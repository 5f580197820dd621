"""platforms: a connection's wire format (kind), its adapter's settings and sealed secrets; an agent
conversation id per thread; the inbound ids each connection applied (applied once, per connection)

Revision ID: 9a3e5c7b1f24
Revises: 8c4f2a1e6d37
Create Date: 2026-12-10 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a3e5c7b1f24'
down_revision = '8c4f2a1e6d37'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('platform_connections',
                  sa.Column('kind', sa.String(length=24), server_default='arbor', nullable=False))
    op.add_column('platform_connections', sa.Column('settings', sa.JSON(), nullable=True))
    op.add_column('platform_connections', sa.Column('sealed', sa.Text(), nullable=True))
    op.add_column('platform_threads', sa.Column('agent_key', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_platform_threads_agent_key'), 'platform_threads', ['agent_key'], unique=True)
    op.create_table('platform_inbound_ids',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.String(length=40), nullable=False),
    sa.Column('inbound_id', sa.String(length=220), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['platform_connections.id'], name=op.f('fk_platform_inbound_ids_connection_id_platform_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_inbound_ids')),
    sa.UniqueConstraint('connection_id', 'inbound_id', name=op.f('uq_platform_inbound_ids_connection_id_inbound_id'))
    )
    op.create_index(op.f('ix_platform_inbound_ids_created_at'), 'platform_inbound_ids', ['created_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_platform_inbound_ids_created_at'), table_name='platform_inbound_ids')
    op.drop_table('platform_inbound_ids')
    op.drop_index(op.f('ix_platform_threads_agent_key'), table_name='platform_threads')
    op.drop_column('platform_threads', 'agent_key')
    op.drop_column('platform_connections', 'sealed')
    op.drop_column('platform_connections', 'settings')
    op.drop_column('platform_connections', 'kind')

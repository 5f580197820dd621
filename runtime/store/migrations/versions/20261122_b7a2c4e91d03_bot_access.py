"""designer: who made each bot and which editors may open it; merges the three heads

Revision ID: b7a2c4e91d03
Revises: 0f86238e2e8f, 5c1e9a7b3d20, c3d9e1f27a40
Create Date: 2026-11-22 02:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7a2c4e91d03'
down_revision = ('0f86238e2e8f', '5c1e9a7b3d20', 'c3d9e1f27a40')
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN, not a batch copy of `bots`: on SQLite that drops and re-creates the table, and with
    # foreign keys on the drop would cascade to every bot's versions and conversations.
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        op.add_column('bots', sa.Column('created_by', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_bots_created_by_users'), 'bots', 'users', ['created_by'], ['id'],
                              ondelete='SET NULL')
    elif 'created_by' not in {c['name'] for c in sa.inspect(bind).get_columns('bots')}:  # a downgrade keeps it
        op.execute('ALTER TABLE bots ADD COLUMN created_by INTEGER '
                   'CONSTRAINT fk_bots_created_by_users REFERENCES users (id) ON DELETE SET NULL')
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
    if op.get_bind().dialect.name == 'sqlite':
        return  # the nullable column stays: dropping it means re-creating `bots`, which cascades (see upgrade)
    op.drop_constraint(op.f('fk_bots_created_by_users'), 'bots', type_='foreignkey')
    op.drop_column('bots', 'created_by')

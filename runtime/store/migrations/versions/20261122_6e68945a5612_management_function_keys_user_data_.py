"""management: function keys, user data snapshots, outgoing e-mails and SMS, URL clicks

Revision ID: 6e68945a5612
Revises: ad6b41cc5082
Create Date: 2026-11-22 01:03:51.933278

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6e68945a5612'
down_revision = 'ad6b41cc5082'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outgoing_emails',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_emails'))
    )
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_emails_bot_id_timestamp'), ['bot_id', 'timestamp'], unique=False)

    op.create_table('outgoing_sms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('provider', sa.String(length=50), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_sms'))
    )
    with op.batch_alter_table('outgoing_sms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_sms_bot_id_timestamp'), ['bot_id', 'timestamp'], unique=False)

    op.create_table('url_clicks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_url_clicks'))
    )
    with op.batch_alter_table('url_clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_url_clicks_bot_id_timestamp'), ['bot_id', 'timestamp'], unique=False)

    op.create_table('user_data_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_data_snapshots'))
    )
    with op.batch_alter_table('user_data_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_data_snapshots_bot_id_timestamp'), ['bot_id', 'timestamp'], unique=False)

    op.create_table('function_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_function_keys_bot_id_bots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_function_keys')),
    sa.UniqueConstraint('digest', name=op.f('uq_function_keys_digest'))
    )
    with op.batch_alter_table('function_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_function_keys_bot_id'), ['bot_id'], unique=False)



def downgrade():
    with op.batch_alter_table('function_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_function_keys_bot_id'))

    op.drop_table('function_keys')
    with op.batch_alter_table('user_data_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_data_snapshots_bot_id_timestamp'))

    op.drop_table('user_data_snapshots')
    with op.batch_alter_table('url_clicks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_url_clicks_bot_id_timestamp'))

    op.drop_table('url_clicks')
    with op.batch_alter_table('outgoing_sms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_sms_bot_id_timestamp'))

    op.drop_table('outgoing_sms')
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_emails_bot_id_timestamp'))

    op.drop_table('outgoing_emails')

"""initial schema: bots and versions, users' data, conversations and transcripts, the NLP log

Revision ID: a85df2d511b1
Revises:
Create Date: 2026-11-21 23:22:06.512857

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a85df2d511b1'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bots',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('draft_revision', sa.Integer(), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bots'))
    )
    op.create_table('nlp_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dialog_id', sa.String(length=200), nullable=True),
    sa.Column('step_id', sa.String(length=200), nullable=True),
    sa.Column('step_type', sa.String(length=50), nullable=True),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('model_id', sa.String(length=100), nullable=False),
    sa.Column('intent', sa.String(length=200), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('processed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nlp_log'))
    )
    op.create_index(op.f('ix_nlp_log_bot_id_timestamp'), 'nlp_log', ['bot_id', 'timestamp'])

    op.create_table('bot_users',
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_bot_users_bot_id_bots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bot_id', 'user_id', name=op.f('pk_bot_users'))
    )
    op.create_table('bot_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_bot_versions_bot_id_bots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_versions')),
    sa.UniqueConstraint('bot_id', 'number', name=op.f('uq_bot_versions_bot_id_number'))
    )
    op.create_table('conversations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('bot_version', sa.Integer(), nullable=False),
    sa.Column('activity_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bot_id', 'user_id'], ['bot_users.bot_id', 'bot_users.user_id'], name=op.f('fk_conversations_bot_id_user_id_bot_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    op.create_index(op.f('ix_conversations_bot_id_user_id'), 'conversations', ['bot_id', 'user_id'])

    op.create_table('transcript_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('activity', sa.JSON(), nullable=False),
    sa.Column('client_key', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_transcript_entries_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_entries')),
    sa.UniqueConstraint('conversation_id', 'client_key', name=op.f('uq_transcript_entries_conversation_id_client_key')),
    sa.UniqueConstraint('conversation_id', 'seq', name=op.f('uq_transcript_entries_conversation_id_seq'))
    )
    op.create_index(op.f('ix_transcript_entries_created_at'), 'transcript_entries', ['created_at'])


def downgrade():
    op.drop_index(op.f('ix_transcript_entries_created_at'), table_name='transcript_entries')

    op.drop_table('transcript_entries')
    op.drop_index(op.f('ix_conversations_bot_id_user_id'), table_name='conversations')

    op.drop_table('conversations')
    op.drop_table('bot_versions')
    op.drop_table('bot_users')
    op.drop_index(op.f('ix_nlp_log_bot_id_timestamp'), table_name='nlp_log')

    op.drop_table('nlp_log')
    op.drop_table('bots')
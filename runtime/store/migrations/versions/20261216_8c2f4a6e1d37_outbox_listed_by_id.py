"""outgoing_emails and outgoing_sms indexed by (bot_id, id): the designer's Messages sent page reads a bot's
rows newest first by id, a page at a time, without sorting all of them

Revision ID: 8c2f4a6e1d37
Revises: 5b8c1e3f7a29
Create Date: 2026-12-16 06:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '8c2f4a6e1d37'
down_revision = '5b8c1e3f7a29'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f('ix_outgoing_emails_bot_id_id'), 'outgoing_emails', ['bot_id', 'id'], unique=False)
    op.create_index(op.f('ix_outgoing_sms_bot_id_id'), 'outgoing_sms', ['bot_id', 'id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_outgoing_sms_bot_id_id'), table_name='outgoing_sms')
    op.drop_index(op.f('ix_outgoing_emails_bot_id_id'), table_name='outgoing_emails')

"""outgoing_emails and outgoing_sms indexed by status: the messaging sweeper looks for rows still queued

Revision ID: 5b8c1e3f7a29
Revises: 2f6a8d4c0b13
Create Date: 2026-12-15 06:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b8c1e3f7a29'
down_revision = '2f6a8d4c0b13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f('ix_outgoing_emails_status'), 'outgoing_emails', ['status'], unique=False)
    op.create_index(op.f('ix_outgoing_sms_status'), 'outgoing_sms', ['status'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_outgoing_sms_status'), table_name='outgoing_sms')
    op.drop_index(op.f('ix_outgoing_emails_status'), table_name='outgoing_emails')

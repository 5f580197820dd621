"""directline secrets: each bot's Direct Line secret, encrypted, with a digest to find a bot by its secret

Revision ID: ad6b41cc5082
Revises: a85df2d511b1
Create Date: 2026-11-21 23:43:43.783310

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ad6b41cc5082'
down_revision = 'a85df2d511b1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('directline_secrets',
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_directline_secrets_bot_id_bots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bot_id', name=op.f('pk_directline_secrets')),
    sa.UniqueConstraint('digest', name=op.f('uq_directline_secrets_digest'))
    )


def downgrade():
    op.drop_table('directline_secrets')

"""user tokens: the OAuth 2.0 tokens users granted a bot's integrations (sign-in), sealed, per user

Revision ID: 4d7e2b9c1a60
Revises: 9a3e5c7b1f24
Create Date: 2026-12-12 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4d7e2b9c1a60'
down_revision = '9a3e5c7b1f24'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_tokens',
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('integration', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.Column('bound_to', sa.String(length=4000), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_user_tokens_bot_id_bots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bot_id', 'user_id', 'integration', name=op.f('pk_user_tokens'))
    )


def downgrade():
    op.drop_table('user_tokens')

"""bot secrets: the base URL a secret was entered for (a secret goes to that destination only)

Revision ID: 5b1e0c2d7a91
Revises: f3f7ca13d406
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e0c2d7a91'
down_revision = 'f3f7ca13d406'
branch_labels = None
depends_on = None


def upgrade():
    # In place (a nullable column): secrets set before are bound to nothing until they are entered again.
    op.add_column('bot_secrets', sa.Column('bound_to', sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table('bot_secrets', schema=None) as batch_op:
        batch_op.drop_column('bound_to')

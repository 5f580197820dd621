"""users: a session generation, bumped by sign-out and a password change (sessions are revoked server-side)

Revision ID: 8c4f2a1e6d37
Revises: 5b1e0c2d7a91
Create Date: 2026-12-10 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c4f2a1e6d37'
down_revision = '5b1e0c2d7a91'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')

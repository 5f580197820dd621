"""bots: the draft revision that is the live version (the designer's "Published" / "Unpublished changes")

Revision ID: 7e5d3c1b9a42
Revises: 4d7e2b9c1a60
Create Date: 2026-12-13 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e5d3c1b9a42'
down_revision = '4d7e2b9c1a60'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('bots', sa.Column('published_revision', sa.Integer(), nullable=True))


def downgrade():
    # Not a batch operation: on SQLite that copies `bots` and drops the old table, and dropping it deletes every
    # row that refers to a bot (conversations, handover sessions...) through their ON DELETE CASCADE. SQLite
    # drops a plain column in place (3.35 and later).
    op.drop_column('bots', 'published_revision')

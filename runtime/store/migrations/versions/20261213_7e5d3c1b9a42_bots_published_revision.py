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
    with op.batch_alter_table('bots', schema=None) as batch_op:
        batch_op.drop_column('published_revision')

"""join the designer, integrations, QA and background-work branches

Revision ID: 2afbd115fc40
Revises: 0f86238e2e8f, 5c1e9a7b3d20, c3d9e1f27a40, 78b961066fe5
Create Date: 2026-11-22 02:26:26.230286

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2afbd115fc40'
down_revision = ('0f86238e2e8f', '5c1e9a7b3d20', 'c3d9e1f27a40', '78b961066fe5')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""Plan items keep the group they sit under below their section (（一）… above 1. tasks, a table's project
column), so the plan page and the tasks can show 一、… › （一）… (issue 16)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('plan_items', sa.Column('group_label', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
    op.add_column('plan_items', sa.Column('group_title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column('plan_items', 'group_title')
    op.drop_column('plan_items', 'group_label')

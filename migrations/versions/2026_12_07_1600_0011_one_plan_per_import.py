"""One plan per import: plans.import_id names the draft a plan was created from, unique (issue 14, finding 17)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('plans', sa.Column('import_id', sa.Uuid(), nullable=True))
    # The import each existing plan was created from (not the later imports that updated it). A plan made twice
    # by the old race has no import pointing at it (the import names only the last one) and keeps NULL.
    op.execute("""
        UPDATE plans SET import_id = first.id
        FROM (SELECT DISTINCT ON (plan_id) id, plan_id FROM plan_imports
              WHERE status = 'published' AND updates_plan_id IS NULL AND plan_id IS NOT NULL
              ORDER BY plan_id, created_at) AS first
        WHERE plans.id = first.plan_id
    """)
    op.create_unique_constraint(op.f('uq_plans_import_id'), 'plans', ['import_id'])


def downgrade() -> None:
    op.drop_constraint(op.f('uq_plans_import_id'), 'plans', type_='unique')
    op.drop_column('plans', 'import_id')

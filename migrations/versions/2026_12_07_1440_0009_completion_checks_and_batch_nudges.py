"""办结 that checks (what was unfinished and the reason to close anyway) and batch nudges per unit

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('report_reviews', sa.Column('unfinished', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                              server_default='[]'))
    op.add_column('report_reviews', sa.Column('override_reason', sa.Text(), nullable=False, server_default=''))
    op.add_column('nudges', sa.Column('unit_id', sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f('fk_nudges_unit_id_units'), 'nudges', 'units', ['unit_id'], ['id'])


def downgrade() -> None:
    op.drop_constraint(op.f('fk_nudges_unit_id_units'), 'nudges', type_='foreignkey')
    op.drop_column('nudges', 'unit_id')
    op.drop_column('report_reviews', 'override_reason')
    op.drop_column('report_reviews', 'unfinished')

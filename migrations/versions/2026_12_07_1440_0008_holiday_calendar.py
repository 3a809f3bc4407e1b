"""holiday calendar: the official days off and make-up working days per year, as the operator enters them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('holiday_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('notice', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('days_off', postgresql.ARRAY(sa.Date()), nullable=False),
    sa.Column('workdays', postgresql.ARRAY(sa.Date()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_holiday_years_updated_by_users')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_holiday_years'))
    )


def downgrade() -> None:
    op.drop_table('holiday_years')

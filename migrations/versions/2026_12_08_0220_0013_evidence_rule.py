"""Evidence only where it earns its place (issue 17, 减负): tasks.evidence_rule (none / optional / required,
optional for every existing task, as before) and tasks.evidence_reason, the supervisor's reason when required

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('tasks', sa.Column('evidence_rule', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                     server_default=sa.text("'optional'")))
    op.add_column('tasks', sa.Column('evidence_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                     server_default=sa.text("''")))
    # "Required" is never without the reason the units read.
    op.create_check_constraint(op.f('ck_tasks_evidence_rule'), 'tasks',
                               "evidence_rule IN ('none', 'optional', 'required')"
                               " AND (evidence_rule <> 'required' OR evidence_reason <> '')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_tasks_evidence_rule'), 'tasks', type_='check')
    op.drop_column('tasks', 'evidence_reason')
    op.drop_column('tasks', 'evidence_rule')

"""One plan per import: plans.import_id names the draft a plan was created from, unique (issue 14, finding 17);
form_submissions: the key of each creating form or API request, claimed once (finding 18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from backend.core.rls import enable_tenant_rls_sql

revision: str = '0011'
down_revision: str | None = '0010'
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
    op.create_table(
        'form_submissions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('key', sa.Uuid(), nullable=False),
        sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_form_submissions_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_submissions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_submissions')),
        sa.UniqueConstraint('tenant_id', 'user_id', 'key', name=op.f('uq_form_submissions_tenant_id_user_id_key')),
    )
    op.create_index(op.f('ix_form_submissions_tenant_id'), 'form_submissions', ['tenant_id'], unique=False)
    for statement in enable_tenant_rls_sql('form_submissions'):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f('ix_form_submissions_tenant_id'), table_name='form_submissions')
    op.drop_table('form_submissions')
    op.drop_constraint(op.f('uq_plans_import_id'), 'plans', type_='unique')
    op.drop_column('plans', 'import_id')

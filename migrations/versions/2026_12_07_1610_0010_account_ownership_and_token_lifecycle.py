"""Accounts (issue 14): whether an account has ever served another bureau; API tokens expire

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# RLS hides other bureaus' memberships from the app role, so "does this account serve (or has it served) another
# bureau?" runs as the owner and answers only yes or no. Any membership counts: active or not, in a bureau that is
# active or suspended, because either can come back.
SERVES_ELSEWHERE = """
CREATE FUNCTION luoshi_user_serves_other_tenant(p_user uuid, p_tenant uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = p_user AND m.tenant_id <> p_tenant)
$$;
"""


def upgrade() -> None:
    op.execute(SERVES_ELSEWHERE)
    # Tokens made before expiry existed get the default lifetime from when they were made.
    op.add_column('api_tokens', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE api_tokens SET expires_at = created_at + interval '180 days'")
    op.alter_column('api_tokens', 'expires_at', nullable=False)


def downgrade() -> None:
    op.drop_column('api_tokens', 'expires_at')
    op.execute("DROP FUNCTION IF EXISTS luoshi_user_serves_other_tenant(uuid, uuid);")

"""evidence: when a photo was taken (EXIF DateTimeOriginal)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The camera's own clock, without a zone (EXIF DateTimeOriginal has none): shown as the camera wrote it.
    op.add_column('evidence', sa.Column('taken_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('evidence', 'taken_at')

"""longer scorer versions (fast + semantic tier checksums)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.alter_column("scorer_version", existing_type=sa.String(length=32), type_=sa.String(length=64))


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.alter_column("scorer_version", existing_type=sa.String(length=64), type_=sa.String(length=32))

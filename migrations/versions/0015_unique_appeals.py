"""one appeal per appellant and decision (a unique index, so concurrent filings cannot both be stored)

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07 12:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("uq_appeals_action_account", "appeals", ["action_id", "account_id"], unique=True)
    op.create_index("uq_appeals_report_account", "appeals", ["report_id", "account_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_appeals_report_account", table_name="appeals")
    op.drop_index("uq_appeals_action_account", table_name="appeals")

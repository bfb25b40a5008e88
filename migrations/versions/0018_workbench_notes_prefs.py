"""workbench: case notes, reviewer wellbeing settings, queue indexes

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-07 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import townsquare.db

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A queue page sorts one queue's cases by priority or by age.
    op.create_index("ix_cases_queue_priority", "cases", ["queue", "priority"], unique=False)
    op.create_index("ix_cases_queue_opened", "cases", ["queue", "opened_at"], unique=False)
    op.create_table(
        "case_notes",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("case_id", BIG, nullable=False),
        sa.Column("author_id", BIG, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", townsquare.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_notes_case_id"), "case_notes", ["case_id"], unique=False)
    op.create_table(
        "reviewer_prefs",
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("blur_from", sa.String(length=16), nullable=False),
        sa.Column("grayscale", sa.Boolean(), nullable=False),
        sa.Column("break_after", sa.Integer(), nullable=False),
        sa.Column("updated_at", townsquare.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_queue_opened", table_name="cases")
    op.drop_index("ix_cases_queue_priority", table_name="cases")
    op.drop_table("reviewer_prefs")
    op.drop_index(op.f("ix_case_notes_case_id"), table_name="case_notes")
    op.drop_table("case_notes")

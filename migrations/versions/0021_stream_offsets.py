"""stream offsets: the messages the stream workers applied

Revision ID: 0021
Revises: 0013
Create Date: 2026-12-07 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import townsquare.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stream_offsets",
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("appended_at", townsquare.db.UTCDateTime(), nullable=False),
        sa.Column("processed_at", townsquare.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_key"),
    )
    op.create_index("ix_stream_offsets_processed_at", "stream_offsets", ["processed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_stream_offsets_processed_at", table_name="stream_offsets")
    op.drop_table("stream_offsets")

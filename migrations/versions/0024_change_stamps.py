"""change stamps: counters the database bumps when decision or access state changes

Revision ID: 0024
Revises: 0017
Create Date: 2026-12-07 15:00:00

Hot paths (every decision, every authenticated request) read one tiny row instead of reloading policy
states, automation pauses, tokens, roles and freezes: triggers bump a named counter in the same
transaction as any change to those tables, whichever process or tool makes it, so a cache keyed by
the counter is never stale. Columns written on every use (a token's last_used_at, a user's login
bookkeeping) do not bump it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (stamp, columns whose UPDATE bumps it; None = any column)
WATCHED: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "policy_versions": ("decision", None),
    "automation_pauses": ("decision", None),
    "api_tokens": ("access", ("user_id", "token_hash", "scopes", "expires_at", "revoked_at")),
    "staff_users": ("access", ("username", "kind", "status", "must_change_password")),
    "role_grants": ("access", None),
    "freezes": ("access", None),
}


def _bump_sql(stamp: str, random: str) -> str:
    # Insert-if-missing then increment: the row may be gone (a test harness truncates every table).
    # The random nonce tells a committed bump from one a reader saw inside a transaction that then
    # rolled back: the counter alone would repeat that value for the next, different change.
    return (
        f"INSERT INTO change_stamps (name, counter, nonce) VALUES ('{stamp}', 0, 0) "
        "ON CONFLICT (name) DO NOTHING; "
        f"UPDATE change_stamps SET counter = counter + 1, nonce = {random} WHERE name = '{stamp}';"
    )


PG_RANDOM = "floor(random() * 9007199254740991)::bigint"
SQLITE_RANDOM = "random()"


def _postgres() -> None:
    for stamp in sorted({s for s, _ in WATCHED.values()}):
        op.execute(
            f"CREATE OR REPLACE FUNCTION townsquare_bump_{stamp}() RETURNS trigger AS $$ "
            f"BEGIN {_bump_sql(stamp, PG_RANDOM)} RETURN NULL; END; $$ LANGUAGE plpgsql"
        )
    for table, (stamp, cols) in WATCHED.items():
        update = f"UPDATE OF {', '.join(cols)}" if cols else "UPDATE"
        op.execute(
            f"CREATE TRIGGER {table}_stamp AFTER INSERT OR DELETE OR {update} ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION townsquare_bump_{stamp}()"
        )


def _sqlite() -> None:
    for table, (stamp, cols) in WATCHED.items():
        for verb in ("INSERT", "DELETE", "UPDATE"):
            on = f"UPDATE OF {', '.join(cols)}" if verb == "UPDATE" and cols else verb
            op.execute(
                f"CREATE TRIGGER {table}_stamp_{verb.lower()} AFTER {on} ON {table} "
                f"BEGIN {_bump_sql(stamp, SQLITE_RANDOM)} END"
            )


def upgrade() -> None:
    op.create_table(
        "change_stamps",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(
        sa.table(
            "change_stamps",
            sa.column("name", sa.String),
            sa.column("counter", sa.BigInteger),
            sa.column("nonce", sa.BigInteger),
        ),
        [{"name": "decision", "counter": 0, "nonce": 0}, {"name": "access", "counter": 0, "nonce": 0}],
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres()
    else:
        _sqlite()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}")
        else:
            for verb in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_stamp_{verb}")
    if postgres:
        for stamp in sorted({s for s, _ in WATCHED.values()}):
            op.execute(f"DROP FUNCTION IF EXISTS townsquare_bump_{stamp}()")
    op.drop_table("change_stamps")

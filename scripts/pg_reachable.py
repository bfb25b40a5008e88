"""Exit 0 when the PostgreSQL named by TOWNSQUARE_TEST_POSTGRES_URL answers, else 1 (used by `make test`)."""

from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine, text


def main() -> int:
    """Try one connection with a short timeout."""
    url = os.environ.get("TOWNSQUARE_TEST_POSTGRES_URL", "")
    if not url:
        return 1
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "not reachable"
        print(f"PostgreSQL check failed: {type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

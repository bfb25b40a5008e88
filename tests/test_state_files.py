"""State files hold secrets: the SQLite database and the key files are created 0600, and the demo's
logins go beside the configured state, not into the project's var/ (issue 11)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKEND
from townsquare.appeals.links import load_or_create_key
from townsquare.cli.db import upgrade
from townsquare.cli.serve import demo_credentials, logins_path
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.db import make_engine
from townsquare.eventlog.audit import load_or_create_key as load_or_create_signing_key
from townsquare.runtime import Runtime


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def open_umask() -> Iterator[int]:
    """A permissive umask (022 is common): files must be 0600 despite it."""
    old = os.umask(0o022)
    yield old
    os.umask(old)


def test_a_new_sqlite_database_is_created_0600(tmp_path: Path, open_umask: int) -> None:
    path = tmp_path / "state" / "townsquare.db"

    upgrade(f"sqlite:///{path}")

    assert _mode(path) == 0o600
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if side.exists():
            assert _mode(side) & 0o077 == 0, oct(_mode(side))


def test_an_engine_on_a_new_sqlite_file_creates_it_0600(tmp_path: Path, open_umask: int) -> None:
    path = tmp_path / "fresh.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert _mode(path) == 0o600


def test_key_files_are_created_0600(tmp_path: Path, open_umask: int) -> None:
    link, signing = tmp_path / "keys" / "links.key", tmp_path / "keys" / "checkpoint.ed25519"

    load_or_create_key(link)
    load_or_create_signing_key(signing)

    assert (_mode(link), _mode(signing)) == (0o600, 0o600)


def test_demo_logins_are_written_beside_the_configured_state(rt: Runtime, settings: Settings) -> None:
    if BACKEND == "sqlite":  # beside the database file
        expected = Path(settings.database_url.removeprefix("sqlite:///")).resolve().parent / "demo_logins.txt"
    else:  # beside the key folder
        expected = settings.signing_key_path.resolve().parent.parent / "demo_logins.txt"

    demo_credentials(rt)

    assert logins_path(settings) == expected
    assert expected.is_file()
    assert _mode(expected) == 0o600
    assert not str(expected).startswith(str(PROJECT_ROOT / "var"))


def test_demo_logins_without_a_sqlite_file_go_beside_the_key_folder(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql+psycopg://u@127.0.0.1/db", signing_key_path=tmp_path / "st" / "keys" / "k"
    )

    assert logins_path(settings) == (tmp_path / "st" / "demo_logins.txt").resolve()


def test_rewriting_an_old_world_readable_logins_file_makes_it_0600(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "logins.txt"
    path.write_text("old")
    path.chmod(0o644)

    demo_credentials(rt, path)

    assert _mode(path) == 0o600

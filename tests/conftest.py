"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL), runtime, HTTP client."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from townsquare.access import service as access
from townsquare.access.models import StaffUser
from townsquare.app import create_app
from townsquare.cli.db import upgrade
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.eventlog.events import APPEND_ONLY_TABLES
from townsquare.runtime import Runtime, build_runtime

TOKEN = "test-admin-token"
PG_URL = os.environ.get("TOWNSQUARE_TEST_POSTGRES_URL", "")
BACKEND = os.environ.get("TOWNSQUARE_TEST_BACKEND", "sqlite")


class Clock:
    """A settable clock for tests."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        """Move time forward."""
        self.now += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def _text_banks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI runs read the environment: keep them on text banks too, like the `settings` fixture."""
    monkeypatch.setenv("TOWNSQUARE_MODELS_ENABLED", "false")


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database to copy (SQLite) or truncate (PostgreSQL) for each test."""
    if BACKEND == "postgres":
        if not PG_URL:
            pytest.fail("TOWNSQUARE_TEST_BACKEND=postgres needs TOWNSQUARE_TEST_POSTGRES_URL")
        url = make_url(PG_URL)
        name = f"ts_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        test_url = url.set(database=name).render_as_string(hide_password=False)
        upgrade(test_url)
        return test_url
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


def _fresh_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))
        ]
        tables = [t for t in tables if t != "alembic_version"]
        # Triggers forbid TRUNCATE on the event log; the test harness (a superuser) bypasses them.
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("SET session_replication_role = origin"))
        # Tamper tests disable the append-only triggers; every test starts with them on again.
        for table in APPEND_ONLY_TABLES:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    engine.dispose()


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> str:
    """A fresh, migrated database for one test."""
    if BACKEND == "postgres":
        _fresh_postgres(_template)
        return _template
    target = tmp_path / "townsquare.db"
    shutil.copyfile(_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings isolated to this test."""
    return Settings(
        database_url=database_url,
        signing_key_path=tmp_path / "keys" / "checkpoint.ed25519",
        checkpoint_log_path=tmp_path / "keys" / "checkpoints.jsonl",
        link_key_path=tmp_path / "keys" / "links.key",
        webhook_secret_path=tmp_path / "keys" / "webhook.secret",
        data_dir=tmp_path / "no-datasets",
        public_url="http://testserver",
        # The core suites decide on text banks alone, so their expectations do not move when the
        # models are retrained; tests/detection turns the models on.
        models_enabled=False,
    )


@pytest.fixture
def clock() -> Clock:
    """Test time, starting outside any configured election period."""
    return Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))


@pytest.fixture
def rt(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """A runtime on the test database with the test clock."""
    runtime = build_runtime(settings, clock=clock)
    yield runtime
    runtime.dispose()


def seed_user(rt: Runtime, username: str, roles: list[str], token: str | None = None) -> str:
    """A staff user holding `roles`, with an API token (a given plaintext, or a fresh one); returns it."""
    with transaction(rt.sessions) as session:
        now = rt.now()
        kind = "service" if roles == ["platform"] else "person"
        user = access.create_user(session, username=username, actor="test", now=now, kind=kind)
        for role in roles:
            access.grant_role(session, None, user, role, actor="test", now=now)
        plain, row = access.create_token(
            session, user, name="test", scopes=None, days=30, actor="test", now=now
        )
        if token is not None:
            row.token_hash, row.prefix, plain = access.digest(token), token[:10], token
        row.expires_at = now + timedelta(days=3650)  # tests move the clock by months
        return plain


def seed_admin(rt: Runtime) -> str:
    """The test admin (holds every permission) with the well-known TOKEN; created once per database."""
    with transaction(rt.sessions) as session:
        if session.scalar(select(StaffUser.id).where(StaffUser.username == "test-admin")) is not None:
            return TOKEN
    return seed_user(rt, "test-admin", ["admin"], TOKEN)


@pytest.fixture
def admin_token(rt: Runtime) -> str:
    """TOKEN, now belonging to an admin user in this test's database."""
    return seed_admin(rt)


@pytest.fixture
def client(rt: Runtime, admin_token: str) -> Iterator[TestClient]:
    """An HTTP client authenticated as an admin (every permission)."""
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


@pytest.fixture
def ingest(client: TestClient) -> TestClient:
    """The platform's side of a workbench or browser test: `client` putting accounts and posts in."""
    return client


@pytest.fixture
def anon(rt: Runtime) -> Iterator[TestClient]:
    """An HTTP client with no credentials."""
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Run `townsquare ...` against this test's database and key files (the CLI reads the environment)."""
    from townsquare.cli.main import app as cli_app
    from townsquare.config import get_settings

    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TOWNSQUARE_SIGNING_KEY_PATH", str(settings.signing_key_path))
    monkeypatch.setenv("TOWNSQUARE_CHECKPOINT_LOG_PATH", str(settings.checkpoint_log_path))
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_LINK_KEY_PATH", str(settings.link_key_path))
    monkeypatch.setenv("TOWNSQUARE_WEBHOOK_SECRET_PATH", str(settings.webhook_secret_path))
    monkeypatch.setenv("COLUMNS", "200")
    from townsquare.cli import common

    # The consoles were built at import, before COLUMNS was set: give them a wide, fixed width.
    monkeypatch.setattr(common.console, "width", 200)
    monkeypatch.setattr(common.err, "width", 200)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli_app, list(args))

    yield invoke
    get_settings.cache_clear()


def _touches_the_database(item: pytest.Item) -> bool:
    """Whether a test can behave differently on PostgreSQL: it uses the per-test database (directly
    or through any fixture built on it), or its module picks a backend itself."""
    if "database_url" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    if module is None:
        return True
    return "BACKEND" in vars(module) or "PG_URL" in vars(module) or "POSTGRES_URL" in _source(module)


def _source(module: object) -> str:
    path = getattr(module, "__file__", None)
    return Path(path).read_text(encoding="utf-8") if path else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each test where it can differ. The PostgreSQL run leaves out the tests that never touch a
    database (model training, metrics, text normalisation, benchmarks on their own SQLite files): they
    ran on the SQLite run and would run identically again. The SQLite run leaves out the tests marked
    `postgres_always` (the stream fault tests), which use PostgreSQL on either run. Deselected, not
    skipped; pytest counts them in its summary."""
    if os.environ.get("TOWNSQUARE_TEST_EVERYTHING_TWICE") == "1":
        return
    if BACKEND == "postgres":
        keep = _touches_the_database
    else:  # tests that use PostgreSQL whatever the backend run once, on the PostgreSQL run
        keep = lambda item: item.get_closest_marker("postgres_always") is None  # noqa: E731
    kept = [item for item in items if keep(item)]
    left = [item for item in items if not keep(item)]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"backend: {BACKEND} (database-free tests run on the SQLite run, postgres_always ones on PostgreSQL)"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped test is a failure, so no suite can silently not run."""
    if os.environ.get("CI", "").lower() != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"CI=true: {skipped} skipped test(s) count as failures", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

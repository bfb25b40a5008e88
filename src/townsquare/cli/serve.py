"""`townsquare serve` and `townsquare demo`: run the service (the demo first loads demo data)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer
import uvicorn
from rich.panel import Panel
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from townsquare.access.bootstrap import DemoLogin, demo_users, service_token
from townsquare.app import create_app
from townsquare.cli.common import clean_errors, console
from townsquare.cli.db import upgrade
from townsquare.cli.ingest import print_summary
from townsquare.config import Settings, get_settings
from townsquare.content import bulk
from townsquare.content.models import Post
from townsquare.db import transaction
from townsquare.demo.build import build_demo
from townsquare.eventlog import chain
from townsquare.logging_setup import configure_logging
from townsquare.pipeline.warm import warm
from townsquare.policy.service import sync_versions
from townsquare.runtime import Runtime, build_runtime, settle_heap

LOGINS_NAME = "demo_logins.txt"
LOG_LEVEL = typer.Option(
    "warning",
    help="Log level (debug, info, warning, error); info adds the access log, without query strings.",
)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def logins_path(settings: Settings) -> Path:
    """Where the demo logins go: beside the SQLite database, else beside the signing key's folder.

    Never the project's var/ whatever the configuration: two demos with their own state paths must
    not overwrite each other's logins.
    """
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / LOGINS_NAME
    return settings.signing_key_path.resolve().parent.parent / LOGINS_NAME


def demo_credentials(rt: Runtime, logins_file: Path | None = None) -> tuple[list[DemoLogin], str]:
    """One demo user per role (passwords reset each start) and a platform service token."""
    logins_file = logins_file or logins_path(rt.settings)
    with transaction(rt.sessions) as session:
        logins = demo_users(session, rt)
        token = service_token(session, rt, "demo-platform", days=30)
    lines = [f"{d.role:20} {d.username:28} {d.password}" for d in logins]
    write_private(
        logins_file, "\n".join(["# role, username, password", *lines, f"platform-token {token}", ""])
    )
    return logins, token


def _banner(
    host: str, port: int, rt: Runtime, logins: list[DemoLogin] | None = None, token: str = ""
) -> None:
    url = f"http://{host}:{port}"
    lines = [
        f"Townsquare is starting at [bold]{url}[/bold]   (log in at {url}/login)",
        f"OpenAPI: {url}/openapi.json   Database: {rt.settings.database_url}",
    ]
    if logins:
        lines.append(f"Demo logins (role, username, password), also in {logins_path(rt.settings)}:")
        lines += [f"  {d.role:20} {d.username:28} {d.password}" for d in logins]
    if token:
        lines.append(f"Platform service token (ingest API): {token}")
        lines.append(f"Try: curl -H 'Authorization: Bearer {token}' {url}/v1/posts/post-000001")
    console.print(Panel.fit("\n".join(lines), title="Townsquare"))
    console.print(f"Listening on {url}", highlight=False)


def _run(rt: Runtime, host: str, port: int, log_level: str = "warning") -> None:
    # Redacting filters on every logger and handler; access lines carry no query string or header.
    log_config = configure_logging(log_level)
    app = create_app(runtime=rt)
    warm(rt)  # the first requests should not pay for compiling the models' indexes
    settle_heap()
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from 127.0.0.1 as the client's
    # address; Townsquare reads it itself, only from TOWNSQUARE_TRUSTED_PROXIES (access/ratelimit.py).
    uvicorn.run(app, host=host, port=port, log_config=log_config, log_level=log_level, proxy_headers=False)


@clean_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_level: str = LOG_LEVEL,
) -> None:
    """Run the HTTP service (migrations must be applied: `townsquare db upgrade`)."""
    rt = build_runtime(get_settings())
    _banner(host, port, rt)
    _run(rt, host, port, log_level)


def load_demo(rt: Runtime, posts: int) -> None:
    """Load demo data built from the shared datasets unless the database already holds posts."""
    with transaction(rt.sessions) as session:
        sync_versions(session, rt)
        existing = session.scalar(select(func.count(Post.id))) or 0
    if existing:
        console.print(f"demo data already loaded ({existing} posts); starting the service")
        return
    data = build_demo(rt.settings.data_dir, n_posts=posts, now=rt.now())
    if data.source == "builtin":
        console.print(
            f"[yellow]{rt.settings.data_dir} not found: using the built-in sample posts instead[/yellow]"
        )
    else:
        console.print(f"building demo data from {rt.settings.data_dir}: {data.counts}")
    start = time.perf_counter()
    records = ((n, dict(r), None) for n, r in enumerate(data.records, start=1))
    with chain.keeping(rt) as step:
        summary = bulk.load(rt, records, actor="service:demo-loader", progress=step)
    print_summary(summary, time.perf_counter() - start)


@clean_errors
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    posts: int = typer.Option(3000, help="How many demo posts to load into an empty database."),
    log_level: str = LOG_LEVEL,
) -> None:
    """Migrate, load demo data (once) and run the service on the embedded SQLite database."""
    settings = get_settings()
    upgrade(settings.database_url)
    rt = build_runtime(settings)
    load_demo(rt, posts)
    logins, token = demo_credentials(rt)
    _banner(host, port, rt, logins, token)
    _run(rt, host, port, log_level)

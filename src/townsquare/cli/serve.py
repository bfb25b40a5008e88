"""`townsquare serve` and `townsquare demo`: run the service (the demo first loads demo data)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import typer
import uvicorn
from rich.panel import Panel
from sqlalchemy import func, select

from townsquare import chain
from townsquare.app import create_app
from townsquare.cli.common import clean_errors, console
from townsquare.cli.db import upgrade
from townsquare.cli.ingest import print_summary
from townsquare.config import PROJECT_ROOT, Settings, get_settings
from townsquare.content import bulk
from townsquare.content.models import Post
from townsquare.db import transaction
from townsquare.demo.build import build_demo
from townsquare.policy.service import sync_versions
from townsquare.runtime import Runtime, build_runtime

TOKEN_FILE = PROJECT_ROOT / "var" / "admin_token"


def admin_token(settings: Settings, token_file: Path = TOKEN_FILE) -> str:
    """The configured admin token, else the one kept in var/admin_token (created once, mode 0600)."""
    if settings.admin_token:
        return settings.admin_token
    if token_file.exists():
        return token_file.read_text(encoding="utf-8").strip()
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


def _banner(host: str, port: int, token: str, rt: Runtime) -> None:
    url = f"http://{host}:{port}"
    console.print(
        Panel.fit(
            f"Townsquare is starting at [bold]{url}[/bold]\n"
            f"API docs: {url}/docs   OpenAPI: {url}/openapi.json\n"
            f"Credentials: bearer token [bold]{token}[/bold] (Authorization: Bearer <token>)\n"
            f"Try: curl -H 'Authorization: Bearer {token}' {url}/v1/policies\n"
            f"Database: {rt.settings.database_url}",
            title="Townsquare",
        )
    )
    console.print(f"Listening on {url}", highlight=False)


def _run(rt: Runtime, host: str, port: int) -> None:
    app = create_app(runtime=rt)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@clean_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run the HTTP service (migrations must be applied: `townsquare db upgrade`)."""
    settings = get_settings()
    token = admin_token(settings)
    rt = build_runtime(settings.model_copy(update={"admin_token": token}))
    _banner(host, port, token, rt)
    _run(rt, host, port)


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
    summary = bulk.load(rt, records, actor="service:demo-loader")
    chain.checkpoint(rt)
    print_summary(summary, time.perf_counter() - start)


@clean_errors
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    posts: int = typer.Option(3000, help="How many demo posts to load into an empty database."),
) -> None:
    """Migrate, load demo data (once) and run the service on the embedded SQLite database."""
    settings = get_settings()
    upgrade(settings.database_url)
    token = admin_token(settings)
    rt = build_runtime(settings.model_copy(update={"admin_token": token}))
    load_demo(rt, posts)
    _banner(host, port, token, rt)
    _run(rt, host, port)

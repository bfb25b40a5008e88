"""`townsquare db`: schema migrations."""

from __future__ import annotations

import typer
from alembic import command
from alembic.config import Config

from townsquare.cli.common import clean_errors, console
from townsquare.config import PROJECT_ROOT, get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


def alembic_config(url: str) -> Config:
    """Alembic config pointing at the project's migrations and the given database."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str) -> None:
    """Apply every migration to `url`."""
    command.upgrade(alembic_config(url), "head")


@app.command("upgrade")
@clean_errors
def upgrade_cmd() -> None:
    """Apply all migrations (creates the SQLite file if needed)."""
    url = get_settings().database_url
    upgrade(url)
    console.print(f"database at head: {url.split('@')[-1]}")

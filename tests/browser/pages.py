"""Helpers the browser tests share."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures import factories as f
from tests.fixtures.staff import PASSWORD


def log_in_page(page: Any, base: str, username: str) -> None:
    """Log in through the form, as a person does, and wait for the home page."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def post_text(ingest: TestClient, text: str) -> str:
    """A new account posts `text`; the post's platform id."""
    author = f.account()
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], text)
    assert ingest.post("/v1/posts", json=body).status_code == 201
    return str(body["platform_id"])

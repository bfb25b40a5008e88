"""HTTP tests for ingest and read of accounts, posts, batches, edits, deletes, metrics and reports."""

from __future__ import annotations

from typing import Any

import httpx

# Text-bank texts with a known outcome (see textbanks/*.yaml and policies/*.yaml).
BENIGN = "Lovely weather at the lake today."
SCAM = "send 1 btc get 2 back"  # scams_fraud term, weight 1.0 >= auto 0.95: automated removal
# spam term "click here" weighs 0.4: under review (0.6), over the reports score_floor (0.3, 5 reports)
SPAM_LOW = "New photos from the garden, click here for the album."


def fields_of(detail: Any) -> list[str]:
    """Every field an error's detail names, whatever its shape (a dict or a list of dicts)."""
    items = detail if isinstance(detail, list) else [detail]
    return [str(d.get("field")) for d in items if isinstance(d, dict) and "field" in d]


def assert_error(resp: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is the one JSON error shape with this status, naming `field` in its detail."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    assert set(body) == {"error", "message", "detail"}, body
    assert "Traceback" not in resp.text
    if field is not None:
        assert any(f == field or f.endswith("." + field) for f in fields_of(body["detail"])), body
    return body

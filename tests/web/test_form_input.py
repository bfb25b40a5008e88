"""Form posts take the API's limits and refuse odd numbers with a 422 page, never a 500 (issue 11).

The forms are posted with the admin's bearer token (a bearer token needs no CSRF token); the `client`
fixture re-raises any exception the app lets escape.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.fixtures import factories as f
from tests.web.test_review_pages import THREAT, _case_id
from townsquare.db import transaction
from townsquare.eventlog.events import Event
from townsquare.runtime import Runtime


@pytest.fixture
def case_id(client: TestClient) -> int:
    """An open case on a threatening post."""
    author = f.account()
    assert client.post("/v1/accounts", json=author).status_code == 201
    post = f.post(author["platform_id"], THREAT)
    assert client.post("/v1/posts", json=post).status_code == 201
    return _case_id(client, post["platform_id"])


def _decide(revision: str, duration_days: str = "") -> dict[str, str]:
    return {
        "outcome": "violation",
        "policy": "harassment_threats",
        "action": "suspend",
        "reason": "credible threat",
        "duration_days": duration_days,
        "revision": revision,
    }


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (_decide("²"), "revision"),
        (_decide("0", "³"), "duration_days"),
        (_decide("٣"), "revision"),  # Arabic-Indic three: a digit to Python, not to the form
        (_decide("99999999999999999999"), "revision"),
        (_decide("0", "99999999999999999999"), "duration_days"),
    ],
    ids=["superscript-revision", "superscript-days", "arabic-indic", "huge-revision", "huge-days"],
)
def test_the_case_form_refuses_odd_numbers_with_a_422_page(
    client: TestClient, case_id: int, form: dict[str, str], field: str
) -> None:
    assert client.post(f"/review/cases/{case_id}/take", data={}).status_code in (200, 303)

    resp = client.post(f"/review/cases/{case_id}/decide", data=form)

    assert resp.status_code == 422, resp.text[:300]
    assert resp.headers["content-type"].startswith("text/html")
    assert f"check the {field.replace('_', ' ')}" in resp.text
    assert client.get(f"/v1/cases/{case_id}").json()["state"] != "decided"


def test_the_escalate_form_refuses_a_reason_longer_than_the_api_allows(
    client: TestClient, case_id: int, rt: Runtime
) -> None:
    with transaction(rt.sessions) as session:
        before = session.scalar(select(func.count()).select_from(Event))

    resp = client.post(f"/review/cases/{case_id}/escalate", data={"reason": "x" * 100_000})

    assert resp.status_code == 422
    assert "longer than 2000 characters" in resp.text
    assert client.get(f"/v1/cases/{case_id}").json()["state"] != "escalated"
    with transaction(rt.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == before
    api = client.post(f"/v1/cases/{case_id}/escalate", json={"reason": "x" * 100_000})
    assert api.status_code == 422  # the same limit through the API
    ok = client.post(f"/review/cases/{case_id}/escalate", data={"reason": "x" * 2_000})
    assert ok.status_code in (200, 303)


def test_the_war_room_form_ignores_superscript_post_ids(client: TestClient) -> None:
    form = {
        "text": "The polls close a day later this year",
        "source": "https://elections.example.org/dates",
        "topic": "election_results",
        "verdict": "false",
        "post_ids": "²,³,12345678901234567890123,7",
    }

    resp = client.post("/warroom/claims", data=form)

    assert resp.status_code < 500

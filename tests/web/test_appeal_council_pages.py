"""The appeals and council screens through people's sessions: take, decide, vote, with errors inline."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.fixtures import factories as f
from tests.fixtures.staff import signed_in
from townsquare.runtime import Runtime


def test_an_appeals_reviewer_decides_an_appeal_on_the_page(client: TestClient, rt: Runtime) -> None:
    author = f.account()
    client.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], "send 1 btc get 2 back <i>now</i>")
    client.post("/v1/posts", json=body)
    puid = client.get(f"/v1/posts/{body['platform_id']}").json()["actions"][0]["puid"]
    filed = client.post(
        "/v1/appeals",
        json={
            "kind": "action",
            "action": puid,
            "account": author["platform_id"],
            "statement": "<script>x()</script> it was a quote",
        },
    )
    assert filed.status_code == 201, filed.text
    aid = filed.json()["id"]
    c, token = signed_in(rt, "rita", "appeals_reviewer")
    listing = c.get("/review/appeals")
    assert f'href="/review/appeals/{aid}"' in listing.text
    page = c.get(f"/review/appeals/{aid}").text
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<i>now</i>" not in page
    c.post(f"/review/appeals/{aid}/take", data={"csrf_token": token})
    bad = c.post(
        f"/review/appeals/{aid}/decide", data={"csrf_token": token, "outcome": "overturned", "reason": ""}
    )
    assert bad.status_code == 422
    assert 'id="a-reason" rows="4" maxlength="2000" aria-invalid="true"' in bad.text
    done = c.post(
        f"/review/appeals/{aid}/decide",
        follow_redirects=True,
        data={"csrf_token": token, "outcome": "overturned", "reason": "quoting a scam to warn others"},
    )
    assert done.status_code == 200
    assert re.search(r'id="appeal-outcome">overturned', done.text)
    assert client.get(f"/v1/posts/{body['platform_id']}").json()["status"] == "visible"


def test_a_member_votes_on_the_page(client: TestClient, rt: Runtime) -> None:
    c, token = signed_in(rt, "carl", "council_member")
    assert (
        client.post(
            "/v1/council/members", json={"username": "carl", "display_name": "Carl", "affiliation": "univ"}
        ).status_code
        == 201
    )
    rid = client.post(
        "/v1/council/referrals", json={"area": "hate_speech", "version": 2, "question": "Promote v2?"}
    ).json()["id"]
    page = c.get(f"/council/referrals/{rid}")
    assert 'id="packet"' in page.text
    missing = c.post(f"/council/referrals/{rid}/vote", data={"csrf_token": token, "rationale": "why not"})
    assert missing.status_code == 422
    ok = c.post(
        f"/council/referrals/{rid}/vote",
        follow_redirects=True,
        data={"csrf_token": token, "vote": "support", "rationale": "consistent", "tags": ["consistency"]},
    )
    assert ok.status_code == 200
    assert 'id="voted"' in ok.text
    assert c.get("/council").status_code == 200

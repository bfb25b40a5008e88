"""The case page marks the phrases that drove the score in the post's text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures import factories as f
from tests.fixtures.staff import https_client, log_in, person
from townsquare.runtime import Runtime


def test_the_case_page_highlights_the_evidence(rt: Runtime, ingest: TestClient) -> None:
    author = f.account()
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], "Hey <you>: I will kill you, just wait")
    assert ingest.post("/v1/posts", json=body).status_code == 201
    case_id = next(
        case["id"]
        for q in ingest.get("/v1/queues").json()
        for case in ingest.get(f"/v1/queues/{q['queue']}/cases").json()
        if case["subject"] == body["platform_id"]
    )
    person(rt, "maria", ("moderator",))
    with https_client(rt) as c:
        assert log_in(c, "maria").status_code == 200
        html = c.get(f"/review/cases/{case_id}").text
    text = html.split('id="post-text"', 1)[1].split("</div>", 1)[0]
    assert '<mark class="evidence" title="textbank.harassment_threats' in text
    assert ">I will kill you</mark>" in text
    assert "Hey &lt;you&gt;:" in text

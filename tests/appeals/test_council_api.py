"""The council over HTTP: who may vote, on what, and what they see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.content import assert_error
from tests.fixtures.clients import Staff


def test_only_seated_members_vote_once_on_open_referrals(admin: TestClient, staff: Staff) -> None:
    member = staff("m1", ["council_member"])
    outsider = staff("m2", ["council_member"])
    assert_error(
        admin.post(
            "/v1/council/members", json={"username": "nobody", "display_name": "N", "affiliation": "x"}
        ),
        404,
    )
    plain = staff("plain", ["moderator"])
    assert_error(
        admin.post(
            "/v1/council/members", json={"username": "plain", "display_name": "P", "affiliation": "x"}
        ),
        422,
    )
    assert (
        admin.post(
            "/v1/council/members",
            json={"username": "m1", "display_name": "Ana", "affiliation": "Free Press Org"},
        ).status_code
        == 201
    )
    publisher = staff("pub", ["policy_publisher"])
    ref = publisher.post(
        "/v1/council/referrals", json={"area": "hate_speech", "version": 2, "question": "Promote v2?"}
    )
    assert ref.status_code == 201, ref.text
    rid = ref.json()["id"]
    assert ref.json()["packet"]["definition"]
    vote = {
        "vote": "oppose",
        "rationale": "thresholds too low for counter-speech",
        "tags": ["free_expression"],
    }
    assert_error(outsider.post(f"/v1/council/referrals/{rid}/votes", json=vote), 403)
    assert_error(plain.post(f"/v1/council/referrals/{rid}/votes", json=vote), 403)
    assert_error(
        member.post(f"/v1/council/referrals/{rid}/votes", json={**vote, "tags": ["vibes"]}), 422, "tags"
    )
    assert member.post(f"/v1/council/referrals/{rid}/votes", json=vote).status_code == 201
    assert_error(member.post(f"/v1/council/referrals/{rid}/votes", json=vote), 409)
    closed = publisher.post(f"/v1/council/referrals/{rid}/close").json()
    assert closed["recommendation"]["outcome"] == "no consensus"  # one vote is not a consensus
    assert closed["votes"][0]["affiliation"] == "Free Press Org"
    assert_error(member.post(f"/v1/council/referrals/{rid}/votes", json=vote), 409)
    assert_error(publisher.post(f"/v1/council/referrals/{rid}/close"), 409)
    public = publisher.get("/v1/public/council").json()
    assert public == [
        {"id": 1, "display_name": "Ana", "affiliation": "Free Press Org", "since": public[0]["since"]}
    ]

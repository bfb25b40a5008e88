"""Two independent people: an insider admin's sock puppets cannot be the second person, for any approval.

Each test plays the issue's finding: the admin (test-admin, the requester) creates a user through the
API, so it knows the one-time password, gives it the approving role, logs in as it, and tries to approve
its own request. Every kind of approval the code has is covered; so are the chains (a user made by a
user the admin made, a role granted by someone the admin empowered, a grant through an approval the
admin asked for), the reverse direction (a sock puppet asks, its maker approves) and break-glass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOKEN, Clock, seed_admin, seed_user
from tests.fixtures.staff import csrf, https_client, log_in
from tests.fixtures.two_person import account, approve, bearer, events, post
from townsquare.access import service as access
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.runtime import Runtime, build_runtime

ADMIN = "user:test-admin"
BIG = 3_100_000  # the 3.1M-follower account
THREAT = "I will kill you and everyone like you, this is your final warning from all of us here"


@pytest.fixture
def rt(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """Small bulk sizes, so a bulk approval needs only a few posts or cases."""
    update = {"bulk_approval_size": 2, "second_review_rate": 0.0, "automation_qa_rate": 0.0}
    runtime = build_runtime(settings.model_copy(update=update), clock=clock)
    yield runtime
    runtime.dispose()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    """The insider: an admin (every permission), who will be the requester."""
    seed_admin(rt)
    with TestClient(create_app(runtime=rt, keep_chain=False), headers=bearer(TOKEN)) as c:
        yield c


def sock_puppet(client: TestClient, rt: Runtime, username: str, *roles: str, by: str = TOKEN) -> str:
    """What an insider does: create a user (its one-time password comes back), grant it roles, log in as
    it, set a password and mint a token. Returns the token."""
    made = client.post("/v1/users", json={"username": username}, headers=bearer(by))
    assert made.status_code == 201, made.text
    for role in roles:
        r = client.post(
            f"/v1/users/{username}/roles", json={"role": role, "reason": "helps"}, headers=bearer(by)
        )
        assert r.status_code == 201, r.text
    with https_client(rt) as c:
        session = log_in(c, username, made.json()["one_time_password"])
        change = {
            "current_password": made.json()["one_time_password"],
            "new_password": "sock puppet theatre 7",
        }
        assert c.post("/v1/auth/password", json=change, headers=csrf(session)).status_code == 200
        token = c.post("/v1/auth/tokens", json={"name": "sock"}, headers=csrf(session))
        assert token.status_code == 201, token.text
        return str(token.json()["token"])


def _refused(client: TestClient, token: str, approval_id: int, *chain: str) -> dict[str, Any]:
    r = approve(client, token, approval_id)
    assert r.status_code == 403, r.text
    body: dict[str, Any] = r.json()
    assert "not two independent people" in body["message"]
    assert body["detail"]["reason"] == "not_independent"
    assert body["detail"]["chain"] == list(chain)
    assert client.get(f"/v1/approvals/{approval_id}").json()["status"] == "pending"
    return body


def _pending(r: Any, kind: str) -> int:
    assert r.status_code == 202, r.text
    body = r.json().get("approval", r.json())  # a role grant wraps the approval
    assert body["kind"] == kind
    return int(body["id"])


def _ban(client: TestClient, target: str, token: str = TOKEN) -> Any:
    body = {"action": "ban", "policy": "scams_fraud", "account": target, "reason": "fraud ring"}
    return client.post("/v1/actions", json=body, headers=bearer(token))


def test_a_user_the_admin_created_and_made_senior_cannot_approve_the_admins_ban(
    client: TestClient, rt: Runtime
) -> None:
    """Finding: a user the admin created and made senior moderator approved its ban of a 3.1M account."""
    sock = sock_puppet(client, rt, "sock", "senior_moderator")
    target = account(client, followers=BIG)
    ban = _pending(_ban(client, target), "ban")
    _refused(client, sock, ban, f"user:sock was created by {ADMIN}")
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "good"
    refused = events(rt, "approval.refused")
    assert [(e["actor"], e["subject"]["id"]) for e in refused] == [("user:sock", str(ban))]
    auditor = seed_user(rt, "auditor", ["auditor"])
    alerts = client.get("/v1/alerts", headers=bearer(auditor)).json()
    assert [a["kind"] for a in alerts] == ["approval_refused"]
    independent = seed_user(rt, "senior", ["senior_moderator"])  # made by the operator, not the admin
    assert approve(client, independent, ban).json()["status"] == "approved"
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "banned"


def test_a_sock_puppet_cannot_approve_a_reinstatement(client: TestClient, rt: Runtime) -> None:
    sock = sock_puppet(client, rt, "sock", "senior_moderator")
    independent = seed_user(rt, "senior", ["senior_moderator"])
    target = account(client, followers=BIG)
    action_id = approve(client, independent, _pending(_ban(client, target), "ban")).json()["result"][
        "action_id"
    ]
    back = client.post(f"/v1/actions/{action_id}/reverse", json={"reason": "appeal upheld"})
    reinstate = _pending(back, "reinstate")
    _refused(client, sock, reinstate, f"user:sock was created by {ADMIN}")
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "banned"


def test_a_sock_puppet_cannot_approve_a_bulk_decision(client: TestClient, rt: Runtime) -> None:
    sock = sock_puppet(client, rt, "sock", "senior_moderator")
    author = account(client)
    posts = [post(client, author, f"Buy now number {i}") for i in range(3)]
    body = {"posts": posts, "action": "remove", "policy": "spam", "reason": "spam wave"}
    bulk = _pending(client.post("/v1/actions/bulk", json=body), "bulk")
    _refused(client, sock, bulk, f"user:sock was created by {ADMIN}")
    assert client.get(f"/v1/posts/{posts[0]}").json()["status"] == "visible"


def test_a_sock_puppet_cannot_approve_a_bulk_case_decision(client: TestClient, rt: Runtime) -> None:
    sock = sock_puppet(client, rt, "sock", "election_integrity")
    for i in range(3):
        post(client, account(client), f"{THREAT} #{i}")
    body = {"filter": {"contains": "final warning"}, "outcome": "no_violation", "reason": "song lyrics"}
    bulk = _pending(client.post("/v1/cases/bulk", json=body), "case_bulk")
    _refused(client, sock, bulk, f"user:sock was created by {ADMIN}")


def test_a_sock_puppet_cannot_approve_a_policy_publication(client: TestClient, rt: Runtime) -> None:
    sock = sock_puppet(client, rt, "sock", "policy_publisher")
    url = "/v1/policies/hate_speech/versions/2/publish"
    publish = _pending(client.post(url, json={"state": "live", "reason": "looks good"}), "policy_publish")
    _refused(client, sock, publish, f"user:sock was created by {ADMIN}")
    assert client.get("/v1/policies/hate_speech/versions/2").json()["state"] == "shadow"


def test_a_sock_puppet_cannot_approve_a_text_bank_publication(client: TestClient, rt: Runtime) -> None:
    sock = sock_puppet(client, rt, "sock", "policy_publisher")
    live = next(
        v for v in client.get("/v1/textbanks").json() if v["policy"] == "spam" and v["state"] == "live"
    )
    bank = client.get(f"/v1/textbanks/spam/versions/{live['version']}").json()["bank"]
    bank = {
        **bank,
        "version": live["version"] + 1,
        "terms": [*bank["terms"], {"term": "quokka", "weight": 0.9}],
    }
    r = client.post("/v1/textbanks/spam/versions", json={"bank": bank, "reason": "new wave"})
    _refused(client, sock, _pending(r, "textbank"), f"user:sock was created by {ADMIN}")


def test_break_glass_to_admin_is_refused_and_an_admin_by_the_admins_request_cannot_approve(
    client: TestClient, rt: Runtime
) -> None:
    """Finding: the admin break-glassed a user it created to admin, and it approved a permanent admin
    grant for a second user the same admin asked for."""
    sock_puppet(client, rt, "sock")
    seed_user(rt, "newcomer", ["moderator"])
    glass = {"username": "sock", "role": "admin", "minutes": 60, "reason": "incident"}
    refused = client.post("/v1/breakglass", json=glass)
    assert (refused.status_code, refused.json()["detail"]["field"]) == (403, "role")
    # The longer way round: the admin asks for the puppet to be made admin, an independent admin agrees.
    admin2 = seed_user(rt, "admin2", ["admin"])
    made = _pending(
        client.post("/v1/users/sock/roles", json={"role": "admin", "reason": "on call"}), "grant_admin"
    )
    assert approve(client, admin2, made).json()["status"] == "approved"
    sock = _fresh_token(rt, "sock")
    grant = _pending(
        client.post("/v1/users/newcomer/roles", json={"role": "admin", "reason": "x"}), "grant_admin"
    )
    _refused(client, sock, grant, f"user:sock was created by {ADMIN}")
    with transaction(rt.sessions) as session:
        assert "admin" not in access.active_roles(
            session, access.user_by_name(session, "newcomer").id, rt.now()
        )


def test_a_role_obtained_through_the_requesters_own_approval_cannot_approve_a_freeze(
    client: TestClient, rt: Runtime
) -> None:
    """`ally` was made by the operator, but holds admin through an admin grant test-admin asked for."""
    ally = seed_user(rt, "ally", ["moderator"])
    admin2 = seed_user(rt, "admin2", ["admin"])
    made = _pending(
        client.post("/v1/users/ally/roles", json={"role": "admin", "reason": "on call"}), "grant_admin"
    )
    assert approve(client, admin2, made).status_code == 200
    ally = _fresh_token(rt, "ally")
    freeze = _pending(client.post("/v1/freezes", json={"scope": "all", "reason": "takeover"}), "freeze")
    _refused(client, ally, freeze, f"user:ally holds admin by a grant from {ADMIN}")
    assert client.get("/v1/freezes").json() == []
    assert approve(client, admin2, freeze).json()["status"] == "approved"


def test_the_chain_is_followed_through_people_the_requester_made_or_empowered(
    client: TestClient, rt: Runtime
) -> None:
    ally = seed_user(rt, "ally", ["moderator"])  # made by the operator
    seed_user(rt, "carol", ["moderator"])  # made by the operator
    admin2 = seed_user(rt, "admin2", ["admin"])
    made = _pending(client.post("/v1/users/ally/roles", json={"role": "admin", "reason": "x"}), "grant_admin")
    approve(client, admin2, made)
    ally = _fresh_token(rt, "ally")
    # ally, empowered by test-admin, makes carol a senior moderator and creates a user of its own.
    r = client.post(
        "/v1/users/carol/roles", json={"role": "senior_moderator", "reason": "x"}, headers=bearer(ally)
    )
    assert r.status_code == 201, r.text
    carol = _fresh_token(rt, "carol")
    grandchild = sock_puppet(client, rt, "grandchild", "senior_moderator", by=ally)
    ban = _pending(_ban(client, account(client, followers=BIG)), "ban")
    empowered = f"user:ally holds admin by a grant from {ADMIN}"
    _refused(client, carol, ban, "user:carol holds senior_moderator by a grant from user:ally", empowered)
    _refused(client, grandchild, ban, "user:grandchild was created by user:ally", empowered)


def test_the_admin_cannot_approve_what_its_sock_puppet_asked_for(client: TestClient, rt: Runtime) -> None:
    """The other way round: the puppet asks, its maker approves; still one person."""
    sock = sock_puppet(client, rt, "sock", "senior_moderator")
    ban = _pending(_ban(client, account(client, followers=BIG), token=sock), "ban")
    _refused(client, TOKEN, ban, f"user:sock was created by {ADMIN}")


def test_a_break_glass_grant_never_approves_even_one_made_before_the_rule(
    client: TestClient, rt: Runtime
) -> None:
    temp = seed_user(rt, "temp", ["moderator"])
    with transaction(rt.sessions) as session:  # as an older version allowed, by the operator
        user = access.user_by_name(session, "temp")
        access.grant_role(session, None, user, "senior_moderator", actor="cli:operator", now=rt.now(),
                          expires_at=rt.now().replace(year=2027), break_glass=True)  # fmt: skip
    temp = _fresh_token(rt, "temp")
    ban = _pending(_ban(client, account(client, followers=BIG)), "ban")
    _refused(client, temp, ban, "user:temp holds action:ban only through break-glass, which never approves")


def _fresh_token(rt: Runtime, username: str) -> str:
    """A token carrying the roles held now (a token keeps the scopes held when it was issued)."""
    with transaction(rt.sessions) as session:
        user = access.user_by_name(session, username)
        plain, _ = access.create_token(
            session, user, name="t", scopes=None, days=30, actor="test", now=rt.now()
        )
        return plain


def test_two_sock_puppets_of_one_admin_cannot_approve_each_other(client: TestClient, rt: Runtime) -> None:
    """The admin need not ask itself: one puppet asks, the other approves; the maker is both."""
    asker = sock_puppet(client, rt, "sock1", "senior_moderator")
    approver = sock_puppet(client, rt, "sock2", "senior_moderator")
    ban = _pending(_ban(client, account(client, followers=BIG), token=asker), "ban")
    _refused(
        client, approver, ban, f"user:sock2 and user:sock1 were both created, directly or in turn, by {ADMIN}"
    )
    independent = seed_user(rt, "senior", ["senior_moderator"])
    assert approve(client, independent, ban).json()["status"] == "approved"

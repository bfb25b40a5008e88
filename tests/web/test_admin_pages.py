"""The admin and approvals screens through people's sessions: the API's rules, errors inline, fields kept."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.fixtures.staff import https_client, log_in, person
from townsquare.runtime import Runtime

HTML = {"Accept": "text/html"}


def _in(c: TestClient, name: str) -> str:
    resp = log_in(c, name)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["csrf_token"])


def test_an_admin_creates_a_person_and_a_bad_name_keeps_the_form(rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    with https_client(rt) as c:
        token = _in(c, "ada")
        bad = c.post(
            "/admin/users", data={"csrf_token": token, "username": "no spaces!", "display_name": "Kim"}
        )
        assert bad.status_code == 422
        assert 'value="no spaces!"' in bad.text
        assert 'value="Kim"' in bad.text
        assert 'aria-invalid="true"' in bad.text
        good = c.post("/admin/users", data={"csrf_token": token, "username": "kim", "display_name": "Kim"})
        assert good.status_code == 201
        assert re.search(r'id="one-time-password">[^<]{8,}<', good.text)
        assert 'href="/admin/users/kim"' in good.text


def test_roles_are_granted_and_revoked_under_the_api_rules(rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "sam", ("senior_moderator",))
    person(rt, "kim", ())
    with https_client(rt) as c:
        token = _in(c, "ada")
        missing = c.post(
            "/admin/users/kim/roles", data={"csrf_token": token, "role": "moderator", "reason": ""}
        )
        assert missing.status_code == 422
        assert 'value="moderator" selected' in missing.text  # kept
        done = c.post(
            "/admin/users/kim/roles", data={"csrf_token": token, "role": "moderator", "reason": "new hire"}
        )
        assert done.status_code == 200
        assert "Granted moderator." in done.text
        assert "new hire" in done.text
        gone = c.post("/admin/users/kim/roles/moderator/revoke", data={"csrf_token": token, "reason": "left"})
        assert "Revoked moderator." in gone.text
    with https_client(rt) as c:  # a role grant never exceeds what the granter holds: no roles:grant at all
        token = _in(c, "sam")
        refused = c.post(
            "/admin/users/kim/roles", data={"csrf_token": token, "role": "moderator", "reason": "x"}
        )
        assert refused.status_code == 403
        assert c.get("/admin/users", headers=HTML).status_code == 403


def test_granting_admin_waits_for_a_second_admin_who_approves_on_the_page(rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "bob", ("admin",))
    person(rt, "kim", ())
    with https_client(rt) as c:
        token = _in(c, "ada")
        asked = c.post(
            "/admin/users/kim/roles", data={"csrf_token": token, "role": "admin", "reason": "on call"}
        )
        approval_id = int(re.search(r"approval #(\d+) is waiting", asked.text).group(1))  # type: ignore[union-attr]
        own = c.get(f"/approvals/{approval_id}")
        assert 'id="withdraw"' in own.text
        assert 'id="approve"' not in own.text
        forced = c.post(f"/approvals/{approval_id}/approve", data={"csrf_token": token, "reason": "me"})
        assert forced.status_code == 403
        assert "a second person must approve it" in forced.text
        assert 'value="me"' in forced.text or ">me<" in forced.text  # the reason is kept
    with https_client(rt) as c:
        token = _in(c, "bob")
        assert f'href="/approvals/{approval_id}"' in c.get("/approvals").text
        assert f'href="/approvals/{approval_id}"' in c.get("/", headers=HTML).text  # on bob's home page
        done = c.post(f"/approvals/{approval_id}/approve", data={"csrf_token": token, "reason": "checked"})
        assert f"Approval #{approval_id} approved and carried out." in done.text
        assert "admin" in c.get("/admin/users/kim").text


def test_a_rejection_needs_a_reason(rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "bob", ("admin",))
    person(rt, "kim", ())
    with https_client(rt) as c:
        token = _in(c, "ada")
        c.post("/admin/users/kim/roles", data={"csrf_token": token, "role": "admin", "reason": "x"})
    with https_client(rt) as c:
        token = _in(c, "bob")
        approval_id = int(re.search(r'href="/approvals/(\d+)"', c.get("/approvals").text).group(1))  # type: ignore[union-attr]
        bad = c.post(f"/approvals/{approval_id}/reject", data={"csrf_token": token, "reason": " "})
        assert bad.status_code == 422
        assert "a rejection needs a reason" in bad.text
        ok = c.post(f"/approvals/{approval_id}/reject", data={"csrf_token": token, "reason": "not needed"})
        assert f"Approval #{approval_id} rejected." in ok.text


def test_disable_keeps_the_reason_on_error_and_ends_access(rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "kim", ("moderator",))
    with https_client(rt) as c:
        token = _in(c, "ada")
        bad = c.post("/admin/users/kim/disable", data={"csrf_token": token, "reason": ""})
        assert bad.status_code == 422
        done = c.post("/admin/users/kim/disable", data={"csrf_token": token, "reason": "left the team"})
        assert "Disabled" in done.text
        again = c.post("/admin/users/kim/disable", data={"csrf_token": token, "reason": "again"})
        assert again.status_code == 409
        assert "already disabled" in again.text
    with https_client(rt) as c:
        assert log_in(c, "kim").status_code >= 400


def test_freeze_a_user_then_lift_it(rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "kim", ("moderator",))
    with https_client(rt) as c:
        token = _in(c, "ada")
        bad = c.post(
            "/admin/freezes",
            data={"csrf_token": token, "scope": "user", "target": "kim", "reason": "x", "hours": "soon"},
        )
        assert bad.status_code == 422
        assert 'value="soon"' in bad.text
        done = c.post(
            "/admin/freezes",
            data={"csrf_token": token, "scope": "user", "target": "kim", "reason": "odd logins"},
        )
        assert "is in force" in done.text
        freeze_id = int(re.search(r'id="lift-(\d+)"', done.text).group(1))  # type: ignore[union-attr]
        with https_client(rt) as k:
            _in(k, "kim")
            assert k.get("/review", headers=HTML).status_code == 200  # read-only by default
        lifted = c.post(f"/admin/freezes/{freeze_id}/lift", data={"csrf_token": token, "reason": "cleared"})
        assert f"Freeze #{freeze_id} lifted." in lifted.text


def test_break_glass_grants_for_minutes_and_never_an_approving_role(rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "kim", ())
    with https_client(rt) as c:
        token = _in(c, "ada")
        page = c.get("/admin/breakglass")
        assert '<option value="admin"' not in page.text
        refused = c.post(
            "/admin/breakglass",
            data={
                "csrf_token": token,
                "username": "kim",
                "role": "admin",
                "minutes": "30",
                "reason": "outage",
            },
        )
        assert refused.status_code == 403
        assert "break-glass cannot grant admin" in refused.text
        assert 'value="outage"' in refused.text or ">outage<" in refused.text
        done = c.post(
            "/admin/breakglass",
            data={
                "csrf_token": token,
                "username": "kim",
                "role": "triage",
                "minutes": "30",
                "reason": "outage",
            },
        )
        assert "the auditors were alerted" in done.text
        assert 'href="/admin/users/kim"' in done.text


def test_a_person_makes_and_revokes_their_own_token(rt: Runtime) -> None:
    person(rt, "kim", ("moderator",))
    with https_client(rt) as c:
        token = _in(c, "kim")
        bad = c.post(
            "/tokens", data={"csrf_token": token, "name": "", "days": "9999", "scopes": ["posts:read"]}
        )
        assert bad.status_code == 422
        assert 'value="posts:read" checked' in bad.text
        assert 'value="9999"' in bad.text
        made = c.post(
            "/tokens", data={"csrf_token": token, "name": "script", "days": "7", "scopes": ["posts:read"]}
        )
        assert made.status_code == 201
        secret = re.search(r'id="new-token">(ts_[^<]+)<', made.text).group(1)  # type: ignore[union-attr]
        with TestClient(c.app, base_url="https://testserver") as api:
            assert api.get("/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        token_id = int(re.search(r'id="revoke-(\d+)"', made.text).group(1))  # type: ignore[union-attr]
        gone = c.post(f"/tokens/{token_id}/revoke", data={"csrf_token": token})
        assert f"Token {token_id} revoked." in gone.text

"""A council member sees only the redacted packets: no search of posts or handles, no account pages;
the packet reads as a page with headings, not a key/value dump."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import seed_admin
from tests.fixtures.staff import https_client, log_in, person
from townsquare.access.roles import ROLES
from townsquare.app import create_app
from townsquare.review.wellbeing import Prefs
from townsquare.runtime import Runtime
from townsquare.web.render import templates

HTML = {"Accept": "text/html"}


def test_a_council_member_cannot_search_or_read_posts_accounts_or_actions(rt: Runtime) -> None:
    assert not ROLES["council_member"] & {"posts:read", "accounts:read", "actions:read"}
    person(rt, "carl", ("council_member",))
    with https_client(rt) as c:
        assert log_in(c, "carl").status_code == 200
        home = c.get("/", headers=HTML)
        assert 'href="/review/search"' not in home.text
        assert 'href="/council"' in home.text
        search = c.get("/review/search?q=alice", headers=HTML)
        assert search.status_code == 403
        assert "You do not have access to this" in search.text
        for path in ("/v1/posts/p-1", "/v1/accounts/a-1", "/v1/actions/1"):
            assert c.get(path).status_code == 403, path


def test_a_policy_packet_reads_as_a_page(rt: Runtime) -> None:
    person(rt, "carl", ("council_member",))
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, headers={"Authorization": f"Bearer {seed_admin(rt)}"}) as admin:
        admin.post(
            "/v1/council/members", json={"username": "carl", "display_name": "Carl", "affiliation": "u"}
        )
        rid = admin.post(
            "/v1/council/referrals", json={"area": "hate_speech", "version": 2, "question": "Promote v2?"}
        ).json()["id"]
    with TestClient(app, base_url="https://testserver") as c:
        log_in(c, "carl")
        page = c.get(f"/council/referrals/{rid}").text
    assert "<h3>The proposed policy: hate speech, version 2" in page
    assert 'id="packet-definition"' in page
    assert "<dt>live definition</dt>" not in page


def test_a_reinstatement_packet_reads_as_a_page() -> None:
    ref = {
        "kind": "reinstatement",
        "packet": {
            "policy": "spam",
            "tier": "waiting",
            "banned_on": "2026-01-02",
            "ban_reason": "mass posting of [link]",
            "decision_facts": "120 identical posts",
            "statement": "I will stop",
            "prior_actions_by_policy": {"spam": 3},
            "followers": "1k-10k",
            "staff_views": [{"vote": "reinstate", "reason": "waited long enough"}],
        },
    }
    html = templates.env.get_template("_council_packet.html").render(ref=ref)
    assert "Banned on <strong>2026-01-02</strong> under the <strong>spam</strong> policy" in html
    assert "<li>spam: 3 actions</li>" in html
    assert "<strong>reinstate</strong>: waited long enough" in html
    assert "about <strong>1k-10k</strong> followers" in html


def test_a_packets_quoted_harm_is_blurred_by_the_readers_settings() -> None:
    ref = {
        "kind": "reinstatement",
        "packet": {
            "policy": "hate_speech",
            "banned_on": "2026-01-02",
            "ban_reason": "slurs against a group",
            "decision_facts": "evidence: phrase 'go back to'",
            "statement": "I will stop",
        },
    }
    packet = templates.env.get_template("_council_packet.html")
    harm = {"hate_speech": "high"}
    blurred = packet.render(ref=ref, harm=harm, wellbeing=Prefs(blur_from="high", grayscale=True))
    assert 'class="harmful blurred gray" id="packet-facts"' in blurred
    assert 'class="harmful blurred gray quote"' in blurred
    clear = packet.render(ref=ref, harm=harm, wellbeing=Prefs(blur_from="critical"))
    assert 'class="harmful" id="packet-facts"' in clear
    assert "evidence: phrase &#39;go back to&#39;" in clear

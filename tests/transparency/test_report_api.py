"""GET /v1/reports/transparency, publication by two people, the public pages, Part 11 texts, orders and
recipients, and the no-personal-data check over every output."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.content import assert_error
from tests.fixtures.two_person import events
from tests.transparency.conftest import HANDLE, SCAM, THREAT, Staff
from townsquare.runtime import Runtime
from townsquare.transparency.templates_dsa import PART_FILES

PERIOD = {"from": "2026-03-01", "to": "2026-03-05"}


@pytest.fixture
def anon(app: Any) -> Iterator[TestClient]:
    """No credentials."""
    with TestClient(app) as c:
        yield c


def test_json_and_csv_carry_the_same_report(
    platform: TestClient, scenario: dict[str, Any], staff: Staff
) -> None:
    auditor = staff("aud", ["auditor"])
    rep = auditor.get("/v1/reports/transparency", params=PERIOD)
    assert rep.status_code == 200, rep.text
    body = rep.json()
    assert list(body["parts"]) == list(PART_FILES)
    assert body["figures"]["notices"]["received"] == 2
    one = auditor.get(
        "/v1/reports/transparency", params={**PERIOD, "format": "csv", "part": "Part_4_notices.csv"}
    )
    assert one.headers["content-type"].startswith("text/csv")
    assert one.text.splitlines()[0].split(",")[:4] == [
        "Applicability",
        "Service",
        "Reporting period",
        "Category of illegal content",
    ]
    zipped = auditor.get("/v1/reports/transparency", params={**PERIOD, "format": "csv"})
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert sorted(names) == sorted(PART_FILES)
    assert_error(staff("mod", ["moderator"]).get("/v1/reports/transparency", params=PERIOD), 403)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({**PERIOD, "format": "xml"}, "format"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01", "to": "2099-01-01"}, "to"),
        ({"to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01", "to": "yesterday"}, "to"),
        ({**PERIOD, "format": "csv", "part": "Part_99.csv"}, "part"),
    ],
)
def test_bad_requests_name_the_field(platform: TestClient, params: dict[str, str], field: str) -> None:
    assert_error(platform.get("/v1/reports/transparency", params=params), 422, field)


def test_publishing_takes_two_people_and_the_hash_is_in_the_log(
    platform: TestClient, scenario: dict[str, Any], staff: Staff, anon: TestClient, trt: Runtime
) -> None:
    auditor, publisher = staff("aud", ["auditor"]), staff("pub", ["policy_publisher"])
    assert_error(publisher.post("/v1/reports/transparency/publish", json={**PERIOD, "reason": "q1"}), 403)
    resp = auditor.post("/v1/reports/transparency/publish", json={**PERIOD, "reason": "first quarter"})
    assert resp.status_code == 202, resp.text
    approval = resp.json()["approval"]["id"]
    assert anon.get("/transparency").status_code == 200
    assert "No report has been published yet" in anon.get("/transparency").text
    assert_error(auditor.post(f"/v1/approvals/{approval}/approve", json={"reason": "self"}), 403)
    ok = publisher.post(f"/v1/approvals/{approval}/approve", json={"reason": "checked"})
    assert ok.status_code == 200, ok.text
    logged = events(trt, "transparency.report_published")
    assert len(logged) == 1
    report_id = int(logged[0]["subject"]["id"])
    page = anon.get("/transparency")
    assert logged[0]["payload"]["sha256"] in page.text
    public_json = anon.get(f"/transparency/reports/{report_id}/report.json")
    assert hashlib.sha256(public_json.content).hexdigest() == logged[0]["payload"]["sha256"]
    csv = anon.get(f"/transparency/reports/{report_id}/Part_4_notices.csv")
    assert csv.status_code == 200
    assert csv.text.startswith("Applicability,Service,Reporting period")
    html = anon.get(f"/transparency/reports/{report_id}")
    assert "<svg" in html.text
    assert "Part_6_own_initiative_TC.csv" in html.text
    again = auditor.post("/v1/reports/transparency/publish", json={**PERIOD, "reason": "again"})
    assert_error(again, 409, "from")
    assert anon.get(f"/transparency/reports/{report_id}/nope.csv").status_code == 404


def test_part_11_is_prefilled_and_the_operator_edits_it(
    platform: TestClient, staff: Staff, clock: Clock
) -> None:
    clock.advance(days=8)
    auditor = staff("aud", ["auditor"])
    texts = auditor.get("/v1/reports/transparency/texts").json()["texts"]
    key = "Qualitative description of the automated means"
    assert "text banks" in texts[key]["text"] or "Models in use" in texts[key]["text"]
    assert "precision" in texts["Safeguards applied to the use of automated means"]["text"]
    edited = auditor.put("/v1/reports/transparency/texts", json={"texts": {key: "Our own words."}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["texts"][key] == {
        "text": "Our own words.",
        "edited": True,
        "edited_at": edited.json()["texts"][key]["edited_at"],
    }
    rep = auditor.get("/v1/reports/transparency", params=PERIOD).json()
    row = next(r for r in rep["parts"]["Part_11_qualitative.csv"] if r[3] == key)
    assert row[4] == "Our own words."
    assert_error(auditor.put("/v1/reports/transparency/texts", json={"texts": {"Nope": "x"}}), 422, "texts")
    assert_error(
        staff("pl", ["platform"]).put("/v1/reports/transparency/texts", json={"texts": {key: "x"}}), 403
    )


def test_orders_and_recipients_feed_parts_3_and_10(platform: TestClient, staff: Staff, clock: Clock) -> None:
    clock.advance(days=8)
    senior = staff("senior", ["senior_moderator"])
    order = {
        "reference": "DE-2026-17",
        "order_type": "act",
        "member_state": "DE",
        "authority": "Landeskriminalamt",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "keywords": ["KEYWORD_HATE_SPEECH"],
        "items": 3,
        "received_at": "2026-03-02T08:00:00Z",
        "acknowledged_at": "2026-03-02T09:30:00Z",
    }
    assert senior.post("/v1/orders", json=order).status_code == 201
    assert_error(senior.post("/v1/orders", json=order), 409, "reference")
    assert_error(
        senior.post("/v1/orders", json={**order, "reference": "x2", "member_state": "US"}),
        422,
        "member_state",
    )
    assert_error(
        senior.post("/v1/orders", json={**order, "reference": "x3", "received_at": "2099-01-01T00:00:00Z"}),
        422,
        "received_at",
    )
    done = senior.patch("/v1/orders/DE-2026-17", json={"effected_at": "2026-03-02T12:00:00Z"})
    assert done.status_code == 200, done.text
    plat = staff("acme", ["platform"])
    for month, n in (("2026-02", 1000), ("2026-03", 3000)):
        assert plat.post("/v1/recipients", json={"month": month, "recipients": n}).status_code == 201
    assert (
        plat.post("/v1/recipients", json={"month": "2026-03", "scope": "DE", "recipients": 800}).status_code
        == 201
    )
    assert_error(plat.post("/v1/recipients", json={"month": "2099-01", "recipients": 5}), 422, "month")
    assert_error(
        plat.post("/v1/recipients", json={"month": "2026-03", "scope": "XX", "recipients": 5}), 422, "scope"
    )
    rep = platform.get("/v1/reports/transparency", params=PERIOD).json()
    p3 = rep["parts"]["Part_3_member_states_orders.csv"]
    header = p3[0]
    total = dict(zip(header, p3[1], strict=True))
    assert total["Number of orders to act against illegal content received"] == "1"
    assert (
        total[
            "Number of specific items of information included in the total number of orders to act against "
            "illegal content"
        ]
        == "3"
    )
    assert (
        total[
            "Median time to inform the authority of the receipt of the order to act against illegal content"
        ]
        == "1.5"
    )
    assert total["Median time to give effect to the order to act against illegal content"] == "4"
    de = next(r for r in p3 if r[3] == "KEYWORD_HATE_SPEECH" and r[5] == "DE")
    assert (
        dict(zip(header, de, strict=True))["Number of orders to act against illegal content received"] == "1"
    )
    fr = next(r for r in p3 if r[3] == "KEYWORD_HATE_SPEECH" and r[5] == "FR")
    assert (
        dict(zip(header, fr, strict=True))["Number of orders to act against illegal content received"] == "0"
    )
    assert rep["figures"]["recipients"] == {"TOTAL": 3000, "DE": 800}  # March only
    two = platform.get("/v1/reports/transparency", params={"from": "2026-02-01", "to": "2026-03-05"}).json()
    assert two["figures"]["recipients"]["TOTAL"] == 2000  # the average of February and March


def test_users_see_their_actions_and_reporters_their_reports(
    platform: TestClient, scenario: dict[str, Any], staff: Staff
) -> None:
    plat = staff("acme", ["platform"])
    mine = plat.get(f"/v1/accounts/{scenario['alice']}/actions")
    assert mine.status_code == 200, mine.text
    actions = mine.json()["actions"]
    assert {a["action"] for a in actions} == {"remove"}
    assert all(a["appeal_url"].startswith("http://testserver/appeal/") for a in actions)
    assert all(a["statement"]["puid"] for a in actions)
    assert "mod_private_name" not in mine.text
    reports = plat.get("/v1/reports", params={"reporter": scenario["reporter"]})
    assert reports.status_code == 200, reports.text
    assert [r["outcome"] for r in reports.json()["reports"]] == ["action_taken"]
    assert_error(plat.get("/v1/reports"), 422, "reporter")
    assert_error(plat.get("/v1/reports", params={"reporter": "acct-nope"}), 404, "reporter")
    assert_error(plat.get("/v1/accounts/acct-nope/actions"), 404, "platform_id")
    assert_error(
        staff("adv", ["advertiser"]).get("/v1/reports", params={"reporter": scenario["reporter"]}), 403
    )


def test_no_output_carries_personal_data_or_staff_identity(
    platform: TestClient, scenario: dict[str, Any], staff: Staff, anon: TestClient, cli: Any, tmp_path: Any
) -> None:
    auditor, publisher = (
        staff("aud_private_name", ["auditor"]),
        staff("pub_private_name", ["policy_publisher"]),
    )
    approval = auditor.post("/v1/reports/transparency/publish", json={**PERIOD, "reason": "q"}).json()[
        "approval"
    ]["id"]
    assert publisher.post(f"/v1/approvals/{approval}/approve", json={"reason": "ok"}).status_code == 200
    outputs = [
        auditor.get("/v1/reports/transparency", params=PERIOD).text,
        auditor.get("/v1/reports/transparency", params={**PERIOD, "format": "csv"}).content.decode("latin-1"),
        auditor.get("/v1/dsa/statements").text,
        anon.get("/transparency").text,
        anon.get("/transparency/reports/1").text,
        anon.get("/transparency/reports/1/report.json").text,
        *(anon.get(f"/transparency/reports/1/{n}").text for n in PART_FILES),
    ]
    out = tmp_path / "cli"
    assert (
        cli(
            "report", "transparency", "--from", PERIOD["from"], "--to", PERIOD["to"], "--output", str(out)
        ).exit_code
        == 0
    )
    outputs += [p.read_text() for p in out.iterdir()]
    assert cli("export", "dsa", "--output", str(tmp_path / "sor.json")).exit_code == 0
    outputs.append((tmp_path / "sor.json").read_text())
    posts = [platform.get(f"/v1/posts/{p}").json() for p in scenario["posts"]]
    private = [
        HANDLE,
        "Alice Private",
        "reporter_private_handle",
        "mod_private_name",
        "reviewer_private_name",
        "aud_private_name",
        "pub_private_name",
        "test-admin",
        SCAM,
        THREAT,
        "it was a joke",
        scenario["alice"],
        scenario["bob"],
        scenario["reporter"],
        *scenario["posts"],
        *(a["puid"] for p in posts for a in p["actions"]),
    ]
    for text in outputs:
        for needle in private:
            assert needle not in text, needle
    assert json.loads(outputs[2])["statements"]

"""The advertiser report: where its impressions ran, as labelled when served and as known now.

For a date range [since, until) of serving times, every figure is a count of the advertiser's
impressions and its share of all of them:

* per (category, risk): impressions whose placement carried that category at that risk;
* per post status and author standing;
* the brand-safety rate: the share of impressions whose placement was above the floor, i.e. carried no
  floor label, was not demonetised, removed or deleted, and whose author was not banned or suspended.

"Served" uses what the placement carried at serving time (stored with the impression); "now" uses the
index as it is now (posts actioned later count against the floor now). The export lists every
impression with both states, so anyone can recompute every figure (see `figures`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from townsquare.access.service import Principal
from townsquare.api_types import as_utc
from townsquare.brandsafety import repository as repo
from townsquare.brandsafety import service
from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.index import cache_for
from townsquare.errors import Invalid
from townsquare.runtime import Runtime

EXPORT_FIELDS = (
    "impression", "ad", "advertiser", "post", "served_at", "profile", "served_status", "served_standing",
    "served_labels", "label_seq", "label_version", "now_status", "now_standing", "now_labels",
)  # fmt: skip


def is_safe(state: dict[str, Any]) -> bool:
    """Above the floor: no floor label, a monetisable status and an author in standing."""
    return (
        state["status"] not in tx.FLOOR_STATUS
        and state["standing"] not in tx.NEVER_ALLOWED_STANDING
        and all(x["risk"] != tx.FLOOR for x in state["labels"])
    )


def figures(states: list[dict[str, Any]]) -> dict[str, Any]:
    """Every figure of one basis (served or now) from the placements' states, one per impression."""
    total = len(states)
    pairs: Counter[tuple[str, str]] = Counter()
    for s in states:
        for x in s["labels"]:
            pairs[(x["category"], x["risk"])] += 1
    share = (lambda n: round(n / total, 6)) if total else (lambda n: 0.0)
    safe = sum(1 for s in states if is_safe(s))
    return {
        "impressions": total,
        "brand_safety_rate": share(safe) if total else None,
        "below_floor": total - safe,
        "categories": [
            {"category": c, "name": tx.category_name(c), "risk": r, "impressions": n, "share": share(n)}
            for (c, r), n in sorted(pairs.items(), key=lambda kv: (tx.CATEGORY_IDS.index(kv[0][0]), kv[0][1]))
        ],
        "status": dict(sorted(Counter(s["status"] for s in states).items())),
        "standing": dict(sorted(Counter(s["standing"] for s in states).items())),
    }


def parse_range(since: str, until: str) -> tuple[datetime, datetime]:
    """The report's [since, until) from ISO 8601 strings; 422 naming the field when malformed."""
    out = []
    for name, raw in (("since", since), ("until", until)):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"{name} is not an ISO 8601 date or time", {"field": name}) from None
        try:
            value = as_utc(value)
        except ValueError as exc:
            raise Invalid(f"{name} is {exc}", {"field": name}) from None
        out.append(value)
    if out[1] <= out[0]:
        raise Invalid("until must be after since", {"field": "until"})
    return out[0], out[1]


def export_rows(
    session: Session, rt: Runtime, who: Principal, key: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Every impression of the advertiser in the range, with its state when served and now."""
    adv = service._visible(session, who, repo.advertiser_by_key(session, key), "advertiser", key)
    cache = cache_for(session)
    now = rt.now()
    out = []
    for imp, pid in repo.impressions(session, adv.id, since, until):
        e = cache.by_pid.get(pid)
        acct = cache.accounts.get(e.account_id) if e is not None else None
        served = imp.served
        out.append(
            {
                "impression": imp.impression_id,
                "ad": imp.ad_id,
                "advertiser": key,
                "post": pid,
                "served_at": imp.served_at.isoformat(),
                "profile": imp.profile_id,
                "served_status": served["status"],
                "served_standing": served["standing"],
                "served_labels": served["labels"],
                "label_seq": served.get("label_seq"),
                "label_version": served.get("label_version"),
                "now_status": e.status if e is not None else served["status"],
                "now_standing": acct.current_standing(now) if acct is not None else "good",
                "now_labels": [{"category": x["category"], "risk": x["risk"]} for x in e.labels]
                if e
                else served["labels"],
            }
        )
    return out


def _state(row: dict[str, Any], basis: str) -> dict[str, Any]:
    return {
        "status": row[f"{basis}_status"],
        "standing": row[f"{basis}_standing"],
        "labels": row[f"{basis}_labels"],
    }


def build(
    session: Session, rt: Runtime, who: Principal, key: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """The report: both bases' figures for the range."""
    rows = export_rows(session, rt, who, key, since, until)
    return {
        "advertiser": key,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "served": figures([_state(r, "served") for r in rows]),
        "now": figures([_state(r, "now") for r in rows]),
        "definition": "brand_safety_rate: share of impressions next to no floor (bsr001) label, "
        "was not demonetised, removed or deleted, and whose author was not banned or suspended",
    }


def report_csv(rep: dict[str, Any]) -> str:
    """The report as CSV: one row per basis and (category, risk), then the rates."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["advertiser", "since", "until", "basis", "category", "name", "risk", "impressions", "share"])
    head = [rep["advertiser"], rep["since"], rep["until"]]
    for basis in ("served", "now"):
        fig = rep[basis]
        for c in fig["categories"]:
            w.writerow([*head, basis, c["category"], c["name"], c["risk"], c["impressions"], c["share"]])
        w.writerow([*head, basis, "brand_safety_rate", "", "", fig["impressions"], fig["brand_safety_rate"]])
    return buf.getvalue()


def _labels_text(labels: list[dict[str, Any]]) -> str:
    return ";".join(f"{x['category']}:{x['risk']}" for x in labels)


def export_csv(rows: list[dict[str, Any]]) -> str:
    """The export as CSV (labels written as category:risk pairs joined by ';')."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(
            {
                **r,
                "served_labels": _labels_text(r["served_labels"]),
                "now_labels": _labels_text(r["now_labels"]),
            }
        )
    return buf.getvalue()

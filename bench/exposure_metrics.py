"""Queue precision for bench/exposure.py: which posts the cases are on, and how many of them violate.

`label_posts` reads, for every case, the post whose label decides it (a post case's post; an account
case's triggering post, through its verdict). `sample_queues` takes, every simulated hour, each queue's
open cases in the order the reviewer would take them (priority, then id) and keeps the label posts of
the first 50. The shares are computed afterwards from the stream's labels, so the same samples give
the figures under the policy-matched definition and under the old any-label one.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from townsquare.content.models import Post
from townsquare.policy.models import Verdict
from townsquare.review.models import OPEN_STATES, Case

TOP = 50
MIN_OPEN = 50  # a queue is judged on its top 50 only at hours when it holds at least this many open cases
TARGET_CASES_SHARE = 0.10
TARGET_TOP50_MEDIAN = 0.6
TARGET_VIEWS_WITH_CASE = 0.85


def _label_query(open_only: bool) -> Any:
    vpost = aliased(Post)
    q = (
        select(Case.id, Case.kind, Case.queue, Case.priority, Post.platform_id, vpost.platform_id)
        .outerjoin(Post, Post.id == Case.post_id)
        .outerjoin(Verdict, Verdict.id == Case.verdict_id)
        .outerjoin(vpost, vpost.id == Verdict.post_id)
    )
    return q.where(Case.state.in_(OPEN_STATES)) if open_only else q


def label_posts(session: Session, index: Callable[[str], int]) -> list[tuple[str, int]]:
    """(kind, index of the label post, -1 when none) for every case ever opened."""
    rows = session.execute(_label_query(False)).all()
    return [(r[1], index(r[4] or r[5]) if (r[4] or r[5]) else -1) for r in rows]


def rule_posts(session: Session, index: Callable[[str], int]) -> list[tuple[str, int]]:
    """("policy|scorer", index of the post) for every review case on a post: which rule opened it."""
    rows = session.execute(
        select(Case.policy, Case.scorer, Post.platform_id)
        .join(Post, Post.id == Case.post_id)
        .where(Case.kind == "review")
    ).all()
    return [(f"{r[0]}|{r[1]}", index(r[2])) for r in rows]


def cases_by_rule(rules: list[tuple[str, int]], violating: np.ndarray, posts: int) -> dict[str, Any]:
    """Per rule that opened review cases: how many, their share of posts, and how many violate."""
    per: dict[str, list[int]] = defaultdict(list)
    for rule, i in rules:
        per[rule].append(i)
    return {
        rule: {
            "cases": len(ix),
            "share_of_posts": _share(len(ix), posts),
            "precision": _share(sum(bool(violating[i]) for i in ix if i >= 0), len(ix)),
        }
        for rule, ix in sorted(per.items(), key=lambda kv: -len(kv[1]))
    }


def sample_queues(session: Session, index: Callable[[str], int]) -> dict[str, tuple[int, list[int]]]:
    """Per queue: its open cases, and the label posts of the top 50 in the reviewer's order."""
    rows = session.execute(_label_query(True)).all()
    by_queue: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for r in rows:
        pid = r[4] or r[5]
        by_queue[r[2]].append((-float(r[3] or 0.0), int(r[0]), index(pid) if pid else -1))
    out = {}
    for queue, cases in by_queue.items():
        cases.sort()
        out[queue] = (len(cases), [c[2] for c in cases[:TOP]])
    return out


def _share(num: float, den: float) -> float:
    return round(float(num / den), 6) if den > 0 else 0.0


def case_precision(cases: list[tuple[str, int]], violating: np.ndarray) -> dict[str, Any]:
    """Share of cases opened (all kinds, and review cases alone) whose label post violates."""
    labelled = [(k, i) for k, i in cases if i >= 0]
    review = [i for k, i in labelled if k == "review"]
    return {
        "cases_precision": _share(sum(bool(violating[i]) for _, i in labelled), len(labelled)),
        "review_cases_precision": _share(sum(bool(violating[i]) for i in review), len(review)),
        "review_cases_on_violating_posts": int(sum(bool(violating[i]) for i in review)),
    }


def queue_precision(
    samples: list[tuple[int, dict[str, tuple[int, list[int]]]]], violating: np.ndarray
) -> dict:
    """Per queue: top-50 precision at every hourly sample (median and minimum), judged where ≥ 50 open."""
    per: dict[str, dict[str, list[Any]]] = defaultdict(lambda: {"hours": [], "open": [], "precision": []})
    for hour, queues in samples:
        for queue, (n_open, top) in queues.items():
            known = [i for i in top if i >= 0]
            per[queue]["hours"].append(hour)
            per[queue]["open"].append(n_open)
            per[queue]["precision"].append(_share(sum(bool(violating[i]) for i in known), len(known)))
    out: dict[str, Any] = {}
    for queue, d in sorted(per.items()):
        judged = [p for p, n in zip(d["precision"], d["open"], strict=True) if n >= MIN_OPEN]
        out[queue] = {
            "samples": len(d["hours"]),
            "max_open": max(d["open"]),
            "median_open": statistics.median(d["open"]),
            "top50_precision_median": round(statistics.median(d["precision"]), 4),
            "top50_precision_min": round(min(d["precision"]), 4),
            "judged_samples": len(judged),
            "judged_top50_precision_median": round(statistics.median(judged), 4) if judged else None,
            "judged_top50_precision_min": round(min(judged), 4) if judged else None,
            "hourly": [
                {"hour": h, "open": n, "top50_precision": p}
                for h, n, p in zip(d["hours"], d["open"], d["precision"], strict=True)
            ],
        }
    return out


def precision_targets(posts: int, cases_opened: int, views_with_case: float, queues: dict) -> dict[str, Any]:
    """The issue's targets on case volume, top-50 precision and coverage, with `met` flags."""
    judged = {q: v["judged_top50_precision_median"] for q, v in queues.items() if v["judged_samples"]}
    return {
        "cases_opened_share": _share(cases_opened, posts),
        "cases_opened_share_max": TARGET_CASES_SHARE,
        "top50_median_min": TARGET_TOP50_MEDIAN,
        "judged_queues": judged,
        "violating_views_with_case_min": TARGET_VIEWS_WITH_CASE,
        "met": {
            "cases_opened_share": cases_opened <= TARGET_CASES_SHARE * posts,
            "top50_precision": all(v is not None and v >= TARGET_TOP50_MEDIAN for v in judged.values()),
            "violating_views_with_case": views_with_case >= TARGET_VIEWS_WITH_CASE,
        },
    }

"""Prevalence: views of violating content per 10,000 views, per policy, with a 95% confidence interval.

Each day, `draws` views are drawn with replacement, a view of post i with probability proportional to
v_i * w(s_i): its views that day times a weight of its highest model score, w(s) = FLOOR + s. The
floor keeps every view drawable (a post the models miss can still be found) and bounds the weights;
the score leans the sample towards likely violations. Drawn posts go to a labelling queue in the
workbench. The estimate
reweights them back (Hansen-Hurwitz): each draw k contributes z_k = y_k * S / (V * w_k), where S is the
day's sum of v*w and V its views; the day's share is the mean of z, its variance var(z)/n; days combine
weighted by their views. The 95% interval is Wilson's score interval taken at the effective sample size
n_eff = p(1-p)/var: asymmetric like the binomial it generalises, so a rare violation the model missed,
drawn or not, does not make the interval collapse below the truth as a symmetric normal one would.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.content.models import ViewSnapshot
from townsquare.detection.models import SignalRecord
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.runtime import Runtime
from townsquare.taxonomy import AREA_IDS
from townsquare.transparency.models import PrevalenceSample

FLOOR = 0.05
Z95 = 1.959963984540054
NONE = "none"


def weight(score: np.ndarray | float) -> Any:
    """The sampling weight of a view whose post's highest score is `score`."""
    return FLOOR + np.asarray(score, dtype=np.float64)


def hansen_hurwitz(y: np.ndarray, w: np.ndarray, total_vw: float, total_v: float) -> tuple[float, float]:
    """(share of views that violate, its variance) from one day's draws: y in {0,1}, w their weights."""
    n = len(y)
    if n == 0 or total_v <= 0:
        return 0.0, 0.0
    z = y * total_vw / (total_v * w)
    var = float(z.var(ddof=1)) / n if n > 1 else 0.0
    return float(z.mean()), var


def combine(days: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Days' (share, variance, views) -> (share, low, high) over all of them, per 10,000 views."""
    total = sum(v for _, _, v in days)
    if total <= 0:
        return 0.0, 0.0, 0.0
    share = sum(p * v for p, _, v in days) / total
    var = sum(var * (v / total) ** 2 for _, var, v in days)
    low, high = wilson_effective(share, var)
    return share * 10_000, low * 10_000, high * 10_000


def wilson_effective(p: float, var: float) -> tuple[float, float]:
    """Wilson's 95% interval for a share p estimated with variance var (n_eff = p(1-p)/var)."""
    if var <= 0 or p <= 0:
        return p, p
    n = p * (1 - p) / var
    z2 = Z95 * Z95
    den = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / den
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den
    return max(centre - half, 0.0), min(centre + half, 1.0)


def day_population(
    session: Session, day: date
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
    """(post ids, views that day, highest score, the scorer behind it) for posts viewed on `day`."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    today = (
        select(ViewSnapshot.post_id, func.max(ViewSnapshot.views).label("v"))
        .where(ViewSnapshot.observed_at >= start, ViewSnapshot.observed_at < end)
        .group_by(ViewSnapshot.post_id)
        .subquery()
    )
    before = (
        select(ViewSnapshot.post_id, func.max(ViewSnapshot.views).label("v"))
        .where(ViewSnapshot.observed_at < start, ViewSnapshot.post_id.in_(select(today.c.post_id)))
        .group_by(ViewSnapshot.post_id)
        .subquery()
    )
    scores = (
        select(SignalRecord.post_id, func.max(SignalRecord.score).label("s"))
        .where(SignalRecord.post_id.in_(select(today.c.post_id)))
        .group_by(SignalRecord.post_id)
        .subquery()
    )
    rows = session.execute(
        select(today.c.post_id, today.c.v - func.coalesce(before.c.v, 0), func.coalesce(scores.c.s, 0.0))
        .outerjoin(before, before.c.post_id == today.c.post_id)
        .outerjoin(scores, scores.c.post_id == today.c.post_id)
        .order_by(today.c.post_id)
    ).all()
    rows = [r for r in rows if r[1] and r[1] > 0]
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    views = np.array([r[1] for r in rows], dtype=np.float64)
    score = np.clip(np.array([float(r[2]) for r in rows], dtype=np.float64), 0.0, 1.0)
    return ids, views, score, [None] * len(rows)


def draw(session: Session, rt: Runtime, day: date, draws: int, actor: str) -> int:
    """Draw the day's sample (once per day) and queue it for labelling; returns the number of draws."""
    if day >= rt.now().date():
        raise Invalid("day must have ended (before today, UTC)", {"field": "day"})
    if session.scalar(select(func.count()).where(PrevalenceSample.day == day)):
        raise Conflict(f"the sample for {day} is already drawn", {"field": "day"})
    ids, views, score, _ = day_population(session, day)
    if len(ids) == 0:
        raise NotFound(f"no views were recorded on {day}", {"field": "day"})
    w = weight(score)
    vw = views * w
    prob = vw / vw.sum()
    rng = np.random.default_rng(int(day.strftime("%Y%m%d")))
    picks = rng.choice(len(ids), size=draws, replace=True, p=prob)
    total_v = float(views.sum())
    session.add_all(
        PrevalenceSample(
            day=day,
            post_id=int(ids[i]),
            score=float(score[i]),
            weight=float(w[i]),
            probability=float(prob[i]),
            day_views=int(total_v),
            post_views=int(views[i]),
            draws=draws,
            details={"sum_vw": float(vw.sum())},
        )  # fmt: skip
        for i in picks
    )
    payload = {"draws": draws, "posts_viewed": len(ids), "views": int(total_v), "weight": f"{FLOOR} + score"}
    events.record(
        session, "prevalence.sampled", actor=actor, subject_type="prevalence", subject_id=day.isoformat(),
        at=rt.now(), payload=payload,
    )  # fmt: skip
    return draws


def label(session: Session, rt: Runtime, sample_id: int, value: str, user_id: int | None, actor: str) -> int:
    """Label a sampled post (every draw of it that day): a policy it violates, or 'none'."""
    if value != NONE and value not in AREA_IDS:
        raise Invalid(f"label must be 'none' or a policy ({', '.join(AREA_IDS)})", {"field": "label"})
    sample = session.get(PrevalenceSample, sample_id)
    if sample is None:
        raise NotFound(f"no sample {sample_id}", {"field": "sample_id"})
    rows = session.scalars(
        select(PrevalenceSample).where(
            PrevalenceSample.day == sample.day, PrevalenceSample.post_id == sample.post_id
        )
    ).all()
    now = rt.now()
    for r in rows:
        r.label, r.labelled_by, r.labelled_at = value, user_id, now
    events.record(session, "prevalence.labelled", actor=actor, subject_type="prevalence_sample",
                  subject_id=sample_id, at=now, payload={"label": value, "draws": len(rows)})  # fmt: skip
    return len(rows)


def queue(session: Session, day: date | None = None, limit: int = 50) -> list[PrevalenceSample]:
    """Unlabelled sampled posts, one row per (day, post), oldest day first."""
    first = (
        select(func.min(PrevalenceSample.id))
        .where(PrevalenceSample.label.is_(None))
        .group_by(PrevalenceSample.day, PrevalenceSample.post_id)
    )
    query = select(PrevalenceSample).where(PrevalenceSample.id.in_(first))
    if day is not None:
        query = query.where(PrevalenceSample.day == day)
    return list(session.scalars(query.order_by(PrevalenceSample.day, PrevalenceSample.id).limit(limit)))


def estimates(session: Session, first: date, last: date) -> dict[str, Any]:
    """Per policy: views of violating content per 10,000 views with a 95% interval, over labelled days."""
    rows = session.execute(
        select(PrevalenceSample.day, PrevalenceSample.label, PrevalenceSample.weight,
               PrevalenceSample.details, PrevalenceSample.day_views)
        .where(PrevalenceSample.day >= first, PrevalenceSample.day <= last)
    ).all()  # fmt: skip
    by_day: dict[date, list[tuple[str | None, float]]] = defaultdict(list)
    meta: dict[date, tuple[float, float]] = {}
    for day, lab, w, details, views in rows:
        by_day[day].append((lab, w))
        meta[day] = (float(details.get("sum_vw", 0.0)), float(views))
    complete = {d: draws for d, draws in by_day.items() if all(lab is not None for lab, _ in draws)}
    out: dict[str, Any] = {
        "days_sampled": len(by_day),
        "days_labelled": len(complete),
        "policies": {},
        "daily": {},
    }
    for policy in AREA_IDS:
        per_day = []
        for d, draws in sorted(complete.items()):
            y = np.array([1.0 if lab == policy else 0.0 for lab, _ in draws])
            w = np.array([x for _, x in draws])
            share, var = hansen_hurwitz(y, w, *meta[d])
            per_day.append((share, var, meta[d][1]))
            out["daily"].setdefault(d.isoformat(), {})[policy] = round(share * 10_000, 3)
        rate, low, high = combine(per_day)
        labels = sum(1 for draws in complete.values() for lab, _ in draws if lab == policy)
        out["policies"][policy] = {"per_10k": round(rate, 3), "low": round(low, 3), "high": round(high, 3),
                                   "positive_draws": labels}  # fmt: skip
    out["method"] = __doc__.split("\n\n", 1)[1].strip() if __doc__ else ""
    return out

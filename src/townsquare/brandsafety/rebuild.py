"""Rebuild the label index from what is stored (after installing brand safety, or a new rule version)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from townsquare.brandsafety import hooks, learned
from townsquare.brandsafety.scorers import action_labels, merge
from townsquare.content.models import Account, Post
from townsquare.db import transaction
from townsquare.detection.base import Signal
from townsquare.detection.models import SignalRecord
from townsquare.detection.normalize import normalize
from townsquare.enforcement.models import Action
from townsquare.runtime import Runtime
from townsquare.taxonomy import ACCOUNT_ACTIONS

BATCH = 500


def _signals(session: Session, posts: list[Post]) -> dict[int, list[Signal]]:
    versions = {p.id: p.version for p in posts}
    out: dict[int, list[Signal]] = {p.id: [] for p in posts}
    for r in session.scalars(select(SignalRecord).where(SignalRecord.post_id.in_(list(versions)))):
        if r.post_version == versions[r.post_id]:
            out[r.post_id].append(
                Signal(r.scorer, r.scorer_version, r.policy, r.score, r.label, tuple(r.evidence or ()))
            )
    return out


def _posts(session: Session, rt: Runtime, posts: list[Post]) -> None:
    sigs = _signals(session, posts)
    acted = hooks._active_post_actions(session, [p.id for p in posts])
    thresholds, now = rt.scorer_thresholds(), rt.now()
    rows = []
    norms = ["" if p.author.erased_at is not None else normalize(p.text) for p in posts]
    model = learned.for_settings(rt.settings)
    found = hooks.content_labels_batch(thresholds, norms, [sigs[p.id] for p in posts], model)
    version = hooks.label_version(model)
    for p, norm, content in zip(posts, norms, found, strict=True):
        labels = merge(content, action_labels(acted.get(p.id, [])))
        rows.append(hooks._row(p, hooks._dump(labels), hooks.words(norm), "reindex", now, version))
    session.execute(hooks._INSERT_POST, rows)


def _accounts(session: Session, rt: Runtime) -> int:
    accounts = list(session.scalars(select(Account).where(Account.standing != "good")))
    for account in accounts:
        rows = session.execute(
            select(Action.action_type, Action.policy).where(
                Action.account_id == account.id, Action.status == "active",
                Action.target_type == "account", Action.action_type.in_(ACCOUNT_ACTIONS),
            )
        ).all()  # fmt: skip
        session.execute(
            hooks._INSERT_ACCOUNT,
            [
                {
                    "account_id": account.id,
                    "account_pid": account.platform_id,
                    "standing": account.standing,
                    "standing_until": account.standing_until,
                    "labels": hooks._dump(merge(action_labels([(k, p) for k, p in rows]))),
                    "recorded_at": rt.now(),
                }
            ],
        )
    return len(accounts)


def reindex(rt: Runtime, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Label every stored post again (one transaction per batch) and restate non-good accounts."""
    done, last = 0, 0
    while True:
        with transaction(rt.sessions) as session:
            posts = list(
                session.scalars(
                    select(Post)
                    .options(selectinload(Post.author))
                    .where(Post.id > last)
                    .order_by(Post.id)
                    .limit(BATCH)
                )
            )
            if not posts:
                break
            _posts(session, rt, posts)
            last = posts[-1].id
        done += len(posts)
        if progress is not None:
            progress(len(posts))
    with transaction(rt.sessions) as session:
        accounts = _accounts(session, rt)
    return {"posts": done, "accounts": accounts}

"""Stage 4, route: what follows a decision, for everything that reads decisions.

- review cases for what needs a person (`review.intake`), and their priority when reach changes;
- ban-evasion milestones of the authors (`bans.service`);
- brand-safety labels (`brandsafety.hooks`);
- election signals and labels, and coordinated-campaign detection (`elections.hooks`).

A later reader of decisions plugs in here, once for the single-post and once for the batch path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from townsquare.bans import service as bans
from townsquare.brandsafety import hooks as brandsafety
from townsquare.content import repository as content_repo
from townsquare.content.models import Post
from townsquare.elections import hooks as integrity
from townsquare.enforcement.models import Action
from townsquare.policy.models import Verdict
from townsquare.review import intake
from townsquare.runtime import Runtime

if TYPE_CHECKING:
    from townsquare.pipeline.decide import Plan
    from townsquare.pipeline.ingest import NewPost


def after_post(
    session: Session, rt: Runtime, post: Post, verdict: Verdict, p: Plan, action: Action | None, trigger: str
) -> None:
    """Route one decided post version (ingest of a single re-decision, edit, report, re-score)."""
    if p.live.outcome != "no_violation":
        session.flush()
        intake.from_decision(session, rt, post, verdict.id, p.live, action.id if action else None)
    integrity.after_post(session, rt, post, p)  # election signals and labels; campaign detection
    brandsafety.post_decided(session, rt, post, p.signals, trigger)


def after_batch(
    session: Session,
    rt: Runtime,
    items: Sequence[NewPost],
    post_ids: list[int],
    verdict_ids: list[int],
    actions: dict[int, Action],
) -> None:
    """Route a batch of new posts, stored under `post_ids` with live verdicts `verdict_ids`."""
    brandsafety.posts_written(session, rt, items, post_ids, actions.values())
    _open_cases(session, rt, items, post_ids, verdict_ids, actions)
    integrity.after_batch(session, rt, items, post_ids)  # election signals and labels; campaign detection
    bans.check_milestones(session, rt, {i.author.id for i in items})


def post_deleted(session: Session, post: Post, now: datetime) -> None:
    """The platform deleted a post: what reads its decisions forgets it (brand-safety labels)."""
    brandsafety.post_deleted(session, post, now)


def reach_changed(session: Session, rt: Runtime, post_ids: Iterable[int]) -> None:
    """New view counts: the open cases of these posts are re-prioritised."""
    intake.reprioritise_posts(session, rt, set(post_ids))


def _open_cases(
    session: Session,
    rt: Runtime,
    items: Sequence[NewPost],
    post_ids: list[int],
    verdict_ids: list[int],
    actions: dict[int, Action],
) -> None:
    """Review cases for the posts that need a person (most posts need none, and cost nothing here)."""
    todo = [
        (i, pid, vid)
        for i, pid, vid in zip(items, post_ids, verdict_ids, strict=True)
        if i.plan and i.plan.live.outcome != "no_violation"
    ]
    if not todo:
        return
    posts = content_repo.posts_by_id(session, [t[1] for t in todo])
    openings = []
    for item, pid, vid in todo:
        assert item.plan is not None
        action = actions.get(vid)
        openings += intake.openings_for(
            rt, posts[pid], vid, item.plan.live, action.id if action else None, new_post=True
        )
    intake.open_cases(session, rt, openings)

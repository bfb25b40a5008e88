"""Changes to stored posts: edits (decided again), deletions (tombstones) and view counts (re-routed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from townsquare.content import repository as repo
from townsquare.content.models import Post, PostVersion, ViewSnapshot
from townsquare.content.schemas import MetricsBatch, PostDelete, PostEdit
from townsquare.db import expire_loaded
from townsquare.enforcement import service as enforcement
from townsquare.errors import Conflict
from townsquare.eventlog import events
from townsquare.pipeline import route
from townsquare.pipeline.decide import decide_post
from townsquare.pipeline.ingest import check_length
from townsquare.pipeline.refresh import refresh_states
from townsquare.pipeline.score import Reach
from townsquare.pipeline.views import current_decision, decision_view
from townsquare.runtime import Runtime


def _editable(session: Session, pid: str) -> Post:
    post = repo.post(session, pid, for_update=True)
    if post.status == "deleted":
        raise Conflict(f"post {pid} was deleted; a deleted post cannot be edited", {"field": "post"})
    return post


def edit_post(
    session: Session, rt: Runtime, pid: str, data: PostEdit, actor: str
) -> tuple[Post, dict[str, Any]]:
    """Record an edit as a new version and score and decide it again."""
    check_length(rt, data.text)
    post = _editable(session, pid)
    if data.text == post.text and (data.language or post.language) == post.language:
        # A repeated edit is idempotent: it answers with the decision on the current version.
        return post, current_decision(session, post)
    refresh_states(session, rt)
    now = rt.now()
    post.version += 1
    post.text = data.text
    post.language = data.language or post.language
    session.add(
        PostVersion(post=post, version=post.version, text=data.text, language=post.language, recorded_at=now)
    )
    events.record(
        session,
        "post.edited",
        actor=actor,
        subject_type="post",
        subject_id=pid,
        at=now,
        payload={"version": post.version, "edited_at": events.iso(data.edited_at or now)},
        personal={"text": data.text},
        owner=post.author_id,
    )
    views, velocity = repo.reach(session, post.id, now)
    by_reason = repo.report_counts(session, "post", post.id)
    strikes = enforcement.active_strikes(session, {post.author_id}, now)[post.author_id]
    reach = Reach(views=views, velocity=velocity, reports_by_reason=by_reason)
    decided = decide_post(session, rt, post, strikes, reach, trigger="edit")
    session.flush()
    return post, decision_view(*decided)


def delete_post(session: Session, rt: Runtime, pid: str, data: PostDelete, actor: str) -> Post:
    """The platform deleted the post: keep a tombstone, never drop it."""
    post = _editable(session, pid)
    now = rt.now()
    post.status = "deleted"
    post.deleted_at = data.deleted_at or now
    events.record(
        session,
        "post.deleted",
        actor=actor,
        subject_type="post",
        subject_id=pid,
        at=now,
        reason=data.reason,
        payload={"deleted_at": events.iso(post.deleted_at)},
    )
    route.post_deleted(session, post, now)
    return post


def record_metrics(session: Session, rt: Runtime, batch: MetricsBatch, actor: str) -> dict[str, Any]:
    """Store view-count snapshots; unknown posts are reported per item, repeats of a snapshot are skipped.

    Platforms send this for every live post every few minutes, so it runs as bulk statements: the posts
    are looked up by column (not loaded), snapshots go in as one INSERT, raised view counts as one
    UPDATE, and the open cases of these posts are re-prioritised in bulk.
    """
    posts = repo.post_views(session, [m.post for m in batch.items])
    seen = repo.snapshot_keys(
        session, [post_id for post_id, _ in posts.values()], {m.observed_at for m in batch.items}
    )
    rejected: list[dict[str, Any]] = []
    stored: list[list[Any]] = []
    rows: list[dict[str, Any]] = []
    raised: dict[int, int] = {}
    repeated = 0
    for i, item in enumerate(batch.items):
        found = posts.get(item.post)
        if found is None:
            rejected.append({"index": i, "field": "post", "message": f"unknown post {item.post}"})
            continue
        post_id, views = found
        key = (post_id, item.observed_at)
        if key in seen:  # a platform retrying the same metrics call
            repeated += 1
            continue
        seen.add(key)
        rows.append({"post_id": post_id, "views": item.views, "observed_at": item.observed_at})
        if item.views > max(views, raised.get(post_id, 0)):
            raised[post_id] = item.views
        stored.append([item.post, item.views])
    if stored:
        session.execute(insert(ViewSnapshot), rows)
        if raised:
            session.execute(update(Post), [{"id": k, "views": v} for k, v in raised.items()])
            expire_loaded(session, Post, raised, ["views"])
        events.record(
            session,
            "post.metrics_recorded",
            actor=actor,
            subject_type="posts",
            subject_id=f"{len(stored)}",
            at=rt.now(),
            payload={"snapshots": stored[:1000], "count": len(stored)},
        )
        route.reach_changed(session, rt, {row["post_id"] for row in rows})
    return {"stored": len(stored), "repeated": repeated, "rejected": rejected}

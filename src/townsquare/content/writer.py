"""The bulk write path for new posts: score and decide each, then store them with a few bulk INSERTs.

The ORM unit of work costs more per row than the SQL itself; ingest is the hot path (thousands of
posts per second), so new posts, their versions, signals and verdicts go in as ORM bulk INSERTs with
RETURNING. The few posts whose verdict applies an action are then loaded and enforced through the
ordinary ORM path, so enforcement has one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from townsquare import flows
from townsquare.bans import service as bans
from townsquare.brandsafety import hooks as brandsafety
from townsquare.content.models import Account, Post, PostVersion
from townsquare.content.schemas import PostCreate
from townsquare.detection.models import SignalRecord
from townsquare.elections import hooks as integrity
from townsquare.enforcement.models import Action
from townsquare.eventlog import events
from townsquare.policy.models import Verdict
from townsquare.review import intake
from townsquare.runtime import Runtime


@dataclass
class NewPost:
    """A validated new post with its author, and what was decided about it."""

    data: PostCreate
    author: Account
    plan: flows.Plan | None = None
    language: str | None = None  # as sent, or detected when the platform sent none


def _post_row(item: NewPost, parents: dict[str, Post], now: datetime) -> dict[str, Any]:
    d = item.data
    parent, quoted = parents.get(d.reply_to or ""), parents.get(d.quote_of or "")
    return {
        "platform_id": d.platform_id,
        "author_id": item.author.id,
        "text": d.text,
        "language": item.language or d.language,
        "created_at": d.created_at,
        "reply_to_id": parent.id if parent is not None else None,
        "quote_of_id": quoted.id if quoted is not None else None,
        "reply_to_ref": d.reply_to,
        "quote_of_ref": d.quote_of,
        "status": "visible",
        "version": 1,
        "views": 0,
        "ingested_at": now,
    }


def _created_event(session: Session, item: NewPost, actor: str, now: datetime) -> None:
    d = item.data
    events.record(
        session,
        "post.created",
        actor=actor,
        subject_type="post",
        subject_id=d.platform_id,
        at=now,
        payload={
            "author": item.author.platform_id,
            "language": item.language or d.language,
            "created_at": events.iso(d.created_at),
            "reply_to": d.reply_to,
            "quote_of": d.quote_of,
        },
        personal={"text": d.text},
        owner=item.author.id,
    )


def _plan_all(
    session: Session,
    rt: Runtime,
    items: list[NewPost],
    strikes: dict[int, dict[str, int]],
    actor: str,
    now: datetime,
) -> None:
    found = flows.detect(
        rt,
        [i.data.text for i in items],
        [i.data.language for i in items],
        [i.author.follower_count >= 50_000 for i in items],
    )
    for item, det in zip(items, found, strict=True):
        own = strikes.setdefault(item.author.id, {})
        item.language = det.language
        ctx = flows.context(rt, item.author, det.language, own, flows.Reach())
        item.plan = p = flows.plan(rt, item.data.text, ctx, det.signals)
        # A strike issued by this post counts for the author's next post in the same batch.
        area = flows.strike_issued(p)
        if area:
            own[area] = own.get(area, 0) + 1
        _created_event(session, item, actor, now)
        flows.record_decided(session, rt, item.data.platform_id, 1, p.live, p, "ingest")
        if p.shadow is not None:
            flows.record_decided(session, rt, item.data.platform_id, 1, p.shadow, p, "ingest")


def _insert_returning_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    # render_nulls keeps every row's column set identical, so the rows go out as one batched statement.
    stmt = (
        insert(model).returning(model.id, sort_by_parameter_order=True).execution_options(render_nulls=True)
    )
    return list(session.scalars(stmt, rows).all())


def _link_in_batch(session: Session, rows: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """Replies and quotes whose parent arrived earlier in the same batch (its id exists only now)."""
    links = []
    for row in rows:
        reply, quote = ids.get(row["reply_to_ref"] or ""), ids.get(row["quote_of_ref"] or "")
        if (reply and not row["reply_to_id"]) or (quote and not row["quote_of_id"]):
            links.append(
                {
                    "id": ids[row["platform_id"]],
                    "reply_to_id": row["reply_to_id"] or reply,
                    "quote_of_id": row["quote_of_id"] or quote,
                }
            )
    if links:
        session.execute(update(Post), links)


def write(
    session: Session,
    rt: Runtime,
    items: list[NewPost],
    parents: dict[str, Post],
    strikes: dict[int, dict[str, int]],
    actor: str,
) -> list[dict[str, Any]]:
    """Store, decide and enforce new posts; returns each post's decision view, in order."""
    if not items:
        return []
    now = rt.now()
    _plan_all(session, rt, items, strikes, actor, now)
    post_rows = [_post_row(i, parents, now) for i in items]
    post_ids = _insert_returning_ids(session, Post, post_rows)
    ids = {i.data.platform_id: pid for i, pid in zip(items, post_ids, strict=True)}
    _link_in_batch(session, post_rows, ids)
    session.execute(
        insert(PostVersion).execution_options(render_nulls=True),
        [
            {
                "post_id": pid,
                "version": 1,
                "text": i.data.text,
                "language": i.language or i.data.language,
                "recorded_at": now,
            }
            for i, pid in zip(items, post_ids, strict=True)
        ],
    )
    signal_rows = [
        {"post_id": pid, **row}
        for i, pid in zip(items, post_ids, strict=True)
        for row in flows.signal_rows(i.plan.signals if i.plan else [], 1, now)
    ]
    if signal_rows:
        session.execute(insert(SignalRecord).execution_options(render_nulls=True), signal_rows)
    live_rows = [
        {"post_id": pid, **flows.verdict_row(rt, i.plan.live, 1, "ingest")}
        for i, pid in zip(items, post_ids, strict=True)
        if i.plan
    ]
    live_ids = _insert_returning_ids(session, Verdict, live_rows)
    shadow_rows = [
        {"post_id": pid, **flows.verdict_row(rt, i.plan.shadow, 1, "ingest")}
        for i, pid in zip(items, post_ids, strict=True)
        if i.plan and i.plan.shadow
    ]
    if shadow_rows:
        session.execute(insert(Verdict).execution_options(render_nulls=True), shadow_rows)
    actions = _enforce(session, rt, items, post_ids, live_ids)
    brandsafety.posts_written(session, rt, items, post_ids, actions.values())
    _open_cases(session, rt, items, post_ids, live_ids, actions)
    integrity.after_batch(session, rt, items, post_ids)  # election signals and labels; campaign detection
    bans.check_milestones(session, rt, {i.author.id for i in items})
    return [
        flows.decision_view({**row, "id": vid}, actions.get(vid))
        for row, vid in zip(live_rows, live_ids, strict=True)
    ]


def _open_cases(
    session: Session,
    rt: Runtime,
    items: list[NewPost],
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
    posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_([t[1] for t in todo])))}
    openings = []
    for item, pid, vid in todo:
        assert item.plan is not None
        action = actions.get(vid)
        openings += intake.openings_for(
            rt, posts[pid], vid, item.plan.live, action.id if action else None, new_post=True
        )
    intake.open_cases(session, rt, openings)


def _enforce(
    session: Session, rt: Runtime, items: list[NewPost], post_ids: list[int], verdict_ids: list[int]
) -> dict[int, Action]:
    todo = [
        (i, pid, vid)
        for i, pid, vid in zip(items, post_ids, verdict_ids, strict=True)
        if i.plan and i.plan.live.outcome == "action" and i.plan.live.primary is not None
    ]
    if not todo:
        return {}
    posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_([t[1] for t in todo])))}
    verdicts = {v.id: v for v in session.scalars(select(Verdict).where(Verdict.id.in_([t[2] for t in todo])))}
    out: dict[int, Action] = {}
    for item, pid, vid in todo:
        primary = item.plan.live.primary if item.plan else None
        if primary is None:
            continue
        action = flows.enforce(session, rt, posts[pid], verdicts[vid], primary, flows.Reach())
        if action is not None:
            out[vid] = action
    session.flush()
    return out

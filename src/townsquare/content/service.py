"""Posts: ingest (single and batch, idempotent), edit, delete (tombstone) and view metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from townsquare import crypto, events, flows
from townsquare.brandsafety import hooks as brandsafety
from townsquare.content import repository as repo
from townsquare.content import writer
from townsquare.content.models import Account, Post, PostVersion, ViewSnapshot
from townsquare.content.schemas import BatchResult, ItemResult, MetricsBatch, PostCreate, PostDelete, PostEdit
from townsquare.db import expire_loaded
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.errors import Conflict, Invalid
from townsquare.policy.models import Verdict
from townsquare.policy.service import refresh_states
from townsquare.review import intake
from townsquare.runtime import Runtime


@dataclass
class Ingested:
    """One post's ingest result: created or a duplicate, with its (first) decision."""

    platform_id: str
    created: bool
    decision: dict[str, Any]


def _check_length(rt: Runtime, text: str, field: str = "text") -> None:
    limit = rt.settings.max_text_chars
    if len(text) > limit:
        raise Invalid(f"{field} is longer than {limit} characters", {"field": field, "limit": limit})


def _decision_of(session: Session, verdict: Verdict | None, base_url: str = "") -> dict[str, Any]:
    if verdict is None:
        return {"outcome": "pending"}
    action = session.scalar(select(Action).where(Action.verdict_id == verdict.id).limit(1))
    return flows.decision_view(verdict, action, base_url)


def first_decision(session: Session, post: Post, base_url: str = "") -> dict[str, Any]:
    """The first live decision made on a post (what a repeated send gets back)."""
    verdict = session.scalar(
        select(Verdict)
        .where(Verdict.post_id == post.id, Verdict.mode == "live")
        .order_by(Verdict.id)
        .limit(1)
    )
    return _decision_of(session, verdict, base_url)


def current_decision(session: Session, post: Post) -> dict[str, Any]:
    """The latest live decision on a post (what an edit that changes nothing gets back)."""
    return _decision_of(session, repo.latest_verdict(session, post.id))


def _duplicate(session: Session, existing: Post, data: PostCreate) -> Ingested:
    first = session.scalar(
        select(PostVersion.text).where(PostVersion.post_id == existing.id, PostVersion.version == 1)
    )
    if first is not None and first != data.text and existing.text != crypto.ERASED:
        raise Conflict(
            f"post {data.platform_id} exists with a different text; send a PATCH to edit it",
            {"field": "platform_id"},
        )
    if existing.author.platform_id != data.author:
        raise Conflict(f"post {data.platform_id} exists with a different author", {"field": "author"})
    return Ingested(existing.platform_id, False, first_decision(session, existing))


def ingest_post(session: Session, rt: Runtime, data: PostCreate, actor: str) -> Ingested:
    """Store, score, decide and enforce one post; a repeat of the same post returns its first decision."""
    _check_length(rt, data.text)
    existing = repo.posts_by_pid(session, [data.platform_id]).get(data.platform_id)
    if existing is not None:
        return _duplicate(session, existing, data)
    author = repo.accounts_by_pid(session, [data.author]).get(data.author)
    if author is None:
        raise Invalid(f"unknown author {data.author}; send the account first", {"field": "author"})
    refresh_states(session, rt)
    refs = [p for p in (data.reply_to, data.quote_of) if p]
    parents = repo.posts_by_pid(session, refs) if refs else {}
    strikes = enforcement.active_strikes(session, {author.id}, rt.now())
    [decision] = writer.write(session, rt, [writer.NewPost(data, author)], parents, strikes, actor)
    return Ingested(data.platform_id, True, decision)


def _printable(value: str) -> str:
    """`value` with lone surrogates replaced: they cannot be encoded into the JSON response."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _raw_pid(raw: Any) -> str | None:
    """The platform id of a raw batch item, if it has a usable one (to label a rejected item)."""
    pid = raw.get("platform_id") if isinstance(raw, dict) else None
    return _printable(pid)[:200] if isinstance(pid, str) else None


def _validate_items(rt: Runtime, items: list[Any]) -> tuple[list[tuple[int, PostCreate]], dict[int, Any]]:
    valid: list[tuple[int, PostCreate]] = []
    errors: dict[int, Any] = {}
    for i, raw in enumerate(items):
        try:
            data = PostCreate.model_validate(raw)
            _check_length(rt, data.text)
            valid.append((i, data))
        except ValidationError as exc:
            fields = [
                {"field": _printable(".".join(str(p) for p in e["loc"])) or "item", "message": e["msg"]}
                for e in exc.errors()
            ]
            errors[i] = {"error": "invalid", "detail": fields}
        except Invalid as exc:
            errors[i] = {"error": "invalid", "detail": [{"field": "text", "message": exc.message}]}
    return valid, errors


def ingest_batch(session: Session, rt: Runtime, items: list[Any], actor: str) -> BatchResult:
    """Ingest many posts in one transaction; a rejected item stores nothing and does not stop the others."""
    if len(items) > rt.settings.max_batch:
        raise Invalid(f"at most {rt.settings.max_batch} posts per batch", {"field": "posts"})
    valid, errors = _validate_items(rt, items)
    refresh_states(session, rt)
    existing = repo.posts_by_pid(session, [d.platform_id for _, d in valid])
    authors = repo.accounts_by_pid(session, [d.author for _, d in valid])
    parents = repo.posts_by_pid(session, [p for _, d in valid for p in (d.reply_to, d.quote_of) if p])
    crypto.preload_keys(session, {a.id for a in authors.values()})
    strikes = enforcement.active_strikes(session, {a.id for a in authors.values()}, rt.now())
    results: dict[int, ItemResult] = {
        i: ItemResult(index=i, platform_id=_raw_pid(items[i]), status="rejected", error=err)
        for i, err in errors.items()
    }
    new: dict[str, writer.NewPost] = {}
    for i, data in valid:
        results[i] = _batch_item(session, i, data, existing, authors, new)
    decisions = dict(
        zip(new, writer.write(session, rt, list(new.values()), parents, strikes, actor), strict=True)
    )
    for item in results.values():
        if item.status != "rejected" and item.decision is None and item.platform_id in decisions:
            item.decision = decisions[item.platform_id]
    ordered = [results[i] for i in range(len(items))]
    return BatchResult(
        created=sum(r.status == "created" for r in ordered),
        duplicates=sum(r.status == "duplicate" for r in ordered),
        rejected=sum(r.status == "rejected" for r in ordered),
        results=ordered,
    )


def _batch_item(
    session: Session,
    i: int,
    data: PostCreate,
    existing: dict[str, Post],
    authors: dict[str, Account],
    new: dict[str, writer.NewPost],
) -> ItemResult:
    """Classify one valid batch item: a duplicate (of a stored or an earlier item), rejected, or new."""
    pid = data.platform_id
    try:
        if pid in existing:
            decision = _duplicate(session, existing[pid], data).decision
            return ItemResult(index=i, platform_id=pid, status="duplicate", decision=decision)
        if pid in new:
            first = new[pid].data
            if first.text != data.text or first.author != data.author:
                raise Conflict(
                    f"post {pid} appears twice in this batch with different contents",
                    {"field": "platform_id"},
                )
            return ItemResult(index=i, platform_id=pid, status="duplicate")
        author = authors.get(data.author)
        if author is None:
            raise Invalid(f"unknown author {data.author}; send the account first", {"field": "author"})
    except (Invalid, Conflict) as exc:
        field = (exc.detail or {}).get("field", "item")
        return ItemResult(
            index=i,
            platform_id=pid,
            status="rejected",
            error={"error": exc.error, "detail": [{"field": field, "message": exc.message}]},
        )
    new[pid] = writer.NewPost(data, author)
    return ItemResult(index=i, platform_id=pid, status="created")


def _editable(session: Session, pid: str) -> Post:
    post = repo.post(session, pid, for_update=True)
    if post.status == "deleted":
        raise Conflict(f"post {pid} was deleted; a deleted post cannot be edited", {"field": "post"})
    return post


def edit_post(
    session: Session, rt: Runtime, pid: str, data: PostEdit, actor: str
) -> tuple[Post, dict[str, Any]]:
    """Record an edit as a new version and score and decide it again."""
    _check_length(rt, data.text)
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
    count, reasons = repo.report_summary(session, "post", post.id)
    strikes = enforcement.active_strikes(session, {post.author_id}, now)[post.author_id]
    reach = flows.Reach(views=views, velocity=velocity, report_count=count, report_reasons=reasons)
    decided = flows.decide_post(session, rt, post, strikes, reach, trigger="edit")
    session.flush()
    return post, flows.decision_view(*decided)


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
    brandsafety.post_deleted(session, post, now)
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
        intake.reprioritise_posts(session, rt, {row["post_id"] for row in rows})
    return {"stored": len(stored), "repeated": repeated, "rejected": rejected}

"""The entry for new posts: validate, then score -> decide -> store -> enforce -> route.

`ingest_posts` (behind `ingest_post`, `ingest_batch` and `ingest_post_together`, which the HTTP API, the
bulk CLI and the stream workers call) validates and sorts out duplicates; `write` runs the stages for
the new posts of a batch:
`score.detect` and `decide.plan` for each, bulk INSERTs here, `enforce.enforce` for the few verdicts that
act, then `route.after_batch` (review cases, ban-evasion milestones, brand safety, elections).

The ORM unit of work costs more per row than the SQL itself; ingest is the hot path (thousands of
posts per second), so new posts, their versions, signals and verdicts go in as bulk rows
(`townsquare.bulkrows`: COPY on PostgreSQL, a batched INSERT elsewhere). The few posts whose verdict
applies an action are then loaded and enforced through the ordinary ORM path, so enforcement has one
implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare import bulkrows
from townsquare.content import repository as repo
from townsquare.content.models import Account, Post, PostVersion
from townsquare.content.schemas import BatchResult, ItemResult, PostCreate
from townsquare.db import idempotent
from townsquare.detection.models import SignalRecord
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.errors import Conflict, Invalid
from townsquare.eventlog import crypto, events
from townsquare.pipeline import decide, route, score, views
from townsquare.pipeline.enforce import enforce
from townsquare.pipeline.refresh import refresh_states
from townsquare.pipeline.views import first_decision
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime


@dataclass
class NewPost:
    """A validated new post with its author, and what was decided about it."""

    data: PostCreate
    author: Account
    plan: decide.Plan | None = None
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
    found = score.detect(
        rt,
        [i.data.text for i in items],
        [i.data.language for i in items],
        [i.author.follower_count >= 50_000 for i in items],
    )
    for item, det in zip(items, found, strict=True):
        own = strikes.setdefault(item.author.id, {})
        item.language = det.language
        ctx = decide.context(rt, item.author, det.language, own, score.Reach())
        item.plan = p = decide.plan(rt, item.data.text, ctx, det.signals)
        # A strike issued by this post counts for the author's next post in the same batch.
        area = decide.strike_issued(p)
        if area:
            own[area] = own.get(area, 0) + 1
        _created_event(session, item, actor, now)
        decide.record_decided(session, rt, item.data.platform_id, 1, p.live, p, "ingest")
        if p.shadow is not None:
            decide.record_decided(session, rt, item.data.platform_id, 1, p.shadow, p, "ingest")


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
    post_ids = bulkrows.insert_rows_returning_ids(session, Post, post_rows)
    ids = {i.data.platform_id: pid for i, pid in zip(items, post_ids, strict=True)}
    _link_in_batch(session, post_rows, ids)
    bulkrows.insert_rows(
        session,
        PostVersion,
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
        for row in decide.signal_rows(i.plan.signals if i.plan else [], 1, now)
    ]
    bulkrows.insert_rows(session, SignalRecord, signal_rows)
    live_rows = [
        {"post_id": pid, **decide.verdict_row(rt, i.plan.live, 1, "ingest")}
        for i, pid in zip(items, post_ids, strict=True)
        if i.plan
    ]
    live_ids = bulkrows.insert_rows_returning_ids(session, Verdict, live_rows)
    shadow_rows = [
        {"post_id": pid, **decide.verdict_row(rt, i.plan.shadow, 1, "ingest")}
        for i, pid in zip(items, post_ids, strict=True)
        if i.plan and i.plan.shadow
    ]
    bulkrows.insert_rows(session, Verdict, shadow_rows)
    actions = _enforce(session, rt, items, post_ids, live_ids)
    route.after_batch(session, rt, items, post_ids, live_ids, actions)
    return [
        views.decision_view({**row, "id": vid}, actions.get(vid))
        for row, vid in zip(live_rows, live_ids, strict=True)
    ]


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
    posts = repo.posts_by_id(session, [t[1] for t in todo])
    verdicts = {v.id: v for v in session.scalars(select(Verdict).where(Verdict.id.in_([t[2] for t in todo])))}
    out: dict[int, Action] = {}
    for item, pid, vid in todo:
        primary = item.plan.live.primary if item.plan else None
        if primary is None:
            continue
        action = enforce(session, rt, posts[pid], verdicts[vid], primary, score.Reach())
        if action is not None:
            out[vid] = action
    session.flush()
    return out


@dataclass
class Ingested:
    """One post's ingest result: created or a duplicate, with its (first) decision."""

    platform_id: str
    created: bool
    decision: dict[str, Any]


Outcome = Ingested | Invalid | Conflict  # a rejected post's error is returned, not raised


def check_length(rt: Runtime, text: str, field: str = "text") -> None:
    limit = rt.settings.max_text_chars
    if len(text) > limit:
        raise Invalid(f"{field} is longer than {limit} characters", {"field": field, "limit": limit})


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


def ingest_posts(session: Session, rt: Runtime, posts: list[PostCreate], actor: str) -> list[Outcome]:
    """Store, score, decide and enforce posts in one transaction, in order; one outcome per post.

    A repeat of a stored post (or of an earlier one in the list) returns the first decision; a post
    that cannot be stored (too long, unknown author, a conflicting repeat) gets its error and stores
    nothing, without stopping the others.
    """
    refresh_states(session, rt)
    existing = repo.posts_by_pid(session, [d.platform_id for d in posts])
    authors = repo.accounts_by_pid(session, [d.author for d in posts])
    parents = repo.posts_by_pid(session, [p for d in posts for p in (d.reply_to, d.quote_of) if p])
    crypto.preload_keys(session, {a.id for a in authors.values()})
    strikes = enforcement.active_strikes(session, {a.id for a in authors.values()}, rt.now())
    new: dict[str, NewPost] = {}
    out: list[Outcome] = []
    undecided: list[Ingested] = []  # new posts and repeats of them: decided once the list is written
    for data in posts:
        try:
            found = _sort_out(session, rt, data, existing, authors, new)
        except (Invalid, Conflict) as exc:
            out.append(exc)
            continue
        out.append(found)
        if data.platform_id in new:
            undecided.append(found)
    decisions = dict(zip(new, write(session, rt, list(new.values()), parents, strikes, actor), strict=True))
    for found in undecided:
        found.decision = decisions[found.platform_id]
    return out


def _sort_out(
    session: Session,
    rt: Runtime,
    data: PostCreate,
    existing: dict[str, Post],
    authors: dict[str, Account],
    new: dict[str, NewPost],
) -> Ingested:
    """A duplicate (of a stored post or an earlier one in the list) or a new post; raises when neither.

    A new post (or a repeat of one) has no decision yet: the caller fills it in once the list is written.
    """
    pid = data.platform_id
    check_length(rt, data.text)
    if pid in existing:
        return _duplicate(session, existing[pid], data)
    if pid in new:
        first = new[pid].data
        if first.text != data.text or first.author != data.author:
            raise Conflict(
                f"post {pid} was sent twice at once with different contents", {"field": "platform_id"}
            )
        return Ingested(pid, False, {})
    author = authors.get(data.author)
    if author is None:
        raise Invalid(f"unknown author {data.author}; send the account first", {"field": "author"})
    new[pid] = NewPost(data, author)
    return Ingested(pid, True, {})


def ingest_post(session: Session, rt: Runtime, data: PostCreate, actor: str) -> Ingested:
    """Store, score, decide and enforce one post; a repeat of the same post returns its first decision."""
    [outcome] = ingest_posts(session, rt, [data], actor)
    if isinstance(outcome, Ingested):
        return outcome
    raise outcome


def ingest_post_together(rt: Runtime, data: PostCreate, actor: str) -> Ingested:
    """`ingest_post` in a transaction of its own, shared with the single posts of the same actor that
    arrive while another is being decided (group commit: `runtime.post_group`).

    Concurrent clients sending one post each then share a transaction's fixed costs, as a batch does;
    a client alone waits for nothing. Each post keeps its own outcome: a rejected one raises here only.
    """

    def run(posts: list[PostCreate]) -> list[Outcome]:
        return idempotent(rt.sessions, lambda session: ingest_posts(session, rt, posts, actor))

    outcome = rt.post_group.submit(actor, data, run)
    if isinstance(outcome, Ingested):
        return outcome
    raise outcome


def _printable(value: str) -> str:
    """`value` with lone surrogates replaced: they cannot be encoded into the JSON response."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _raw_pid(raw: Any) -> str | None:
    """The platform id of a raw batch item, if it has a usable one (to label a rejected item)."""
    pid = raw.get("platform_id") if isinstance(raw, dict) else None
    return _printable(pid)[:200] if isinstance(pid, str) else None


def _validate_items(items: list[Any]) -> tuple[list[tuple[int, PostCreate]], dict[int, Any]]:
    valid: list[tuple[int, PostCreate]] = []
    errors: dict[int, Any] = {}
    for i, raw in enumerate(items):
        try:
            valid.append((i, PostCreate.model_validate(raw)))
        except ValidationError as exc:
            fields = [
                {"field": _printable(".".join(str(p) for p in e["loc"])) or "item", "message": e["msg"]}
                for e in exc.errors()
            ]
            errors[i] = {"error": "invalid", "detail": fields}
    return valid, errors


def _item_result(i: int, pid: str, outcome: Outcome) -> ItemResult:
    if isinstance(outcome, Ingested):
        status = "created" if outcome.created else "duplicate"
        return ItemResult(index=i, platform_id=pid, status=status, decision=outcome.decision)
    field = (outcome.detail or {}).get("field", "item")
    error = {"error": outcome.error, "detail": [{"field": field, "message": outcome.message}]}
    return ItemResult(index=i, platform_id=pid, status="rejected", error=error)


def ingest_batch(session: Session, rt: Runtime, items: list[Any], actor: str) -> BatchResult:
    """Ingest many posts in one transaction; a rejected item stores nothing and does not stop the others."""
    if len(items) > rt.settings.max_batch:
        raise Invalid(f"at most {rt.settings.max_batch} posts per batch", {"field": "posts"})
    valid, errors = _validate_items(items)
    results: dict[int, ItemResult] = {
        i: ItemResult(index=i, platform_id=_raw_pid(items[i]), status="rejected", error=err)
        for i, err in errors.items()
    }
    outcomes = ingest_posts(session, rt, [d for _, d in valid], actor)
    for (i, data), outcome in zip(valid, outcomes, strict=True):
        results[i] = _item_result(i, data.platform_id, outcome)
    ordered = [results[i] for i in range(len(items))]
    return BatchResult(
        created=sum(r.status == "created" for r in ordered),
        duplicates=sum(r.status == "duplicate" for r in ordered),
        rejected=sum(r.status == "rejected" for r in ordered),
        results=ordered,
    )

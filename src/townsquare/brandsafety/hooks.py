"""The index writers, one call from each place that decides, edits or acts (in the caller's transaction).

    pipeline.route.after_post    -> post_decided      (single-post decisions: edits, reports, re-scores)
    pipeline.route.after_batch   -> posts_written     (batch ingest)
    pipeline.route.post_deleted  -> post_deleted
    enforcement.service.apply    -> action_changed    (automated and human actions, bulk, approvals)
    enforcement.service.reverse  -> action_changed    (reversals, appeals, reinstatements)
    content.accounts.erase_account -> account_erased  (blank the stored text)

Rows are appended with INSERT statements, so later reads in the same transaction see them without a
flush, and the memory index (brandsafety/index.py) picks them up once they commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from townsquare import bulkrows
from townsquare.brandsafety import learned
from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.models import AccountState, PostLabels
from townsquare.brandsafety.scorers import Label, action_labels, merge, rule_scorer, signal_labels
from townsquare.content.models import Account, Post
from townsquare.detection.base import Signal
from townsquare.detection.normalize import normalize, tokens
from townsquare.enforcement.models import Action
from townsquare.taxonomy import ACCOUNT_ACTIONS

if TYPE_CHECKING:
    from townsquare.pipeline.ingest import NewPost
    from townsquare.runtime import Runtime


# Core INSERTs on the tables: the rows are plain dicts, and the ORM's bulk path would only add per-row work.
_INSERT_POST = insert(PostLabels.__table__)  # type: ignore[arg-type]
_INSERT_ACCOUNT = insert(AccountState.__table__)  # type: ignore[arg-type]


def label_version(model: learned.LearnedModel | None = None) -> str:
    """The version of everything that makes a label: the rules, the taxonomy mapping, the learned check."""
    extra = learned.version(model)
    return f"{rule_scorer().label}/taxonomy@{tx.VERSION}" + (f"/{extra}" if extra else "")


def content_labels(
    thresholds: Mapping[str, float | None],
    norm: str,
    signals: Iterable[Signal],
    model: learned.LearnedModel | None = None,
) -> list[Label]:
    """Labels of a post version: its normalised text (rules), its signals, and the learned check."""
    return content_labels_batch(thresholds, [norm], [signals], model)[0]


def content_labels_batch(
    thresholds: Mapping[str, float | None],
    norms: Sequence[str],
    signals: Sequence[Iterable[Signal]],
    model: learned.LearnedModel | None = None,
) -> list[list[Label]]:
    """`content_labels` for many posts at once (the learned check scores the batch together)."""
    rules = rule_scorer()
    base = [
        merge(rules.score(norm, normalized=True), signal_labels(sigs, thresholds))
        for norm, sigs in zip(norms, signals, strict=True)
    ]
    return learned.refine(model, norms, base)


def words(norm: str) -> str:
    """The words of a normalised text joined by single spaces: what advertisers' keywords are matched on."""
    return " ".join(tokens(norm))


def _dump(labels: Iterable[Label]) -> list[dict[str, Any]]:
    return [{"category": x.category, "risk": x.risk, "evidence": list(x.evidence)} for x in labels]


def _load(rows: Iterable[dict[str, Any]]) -> list[Label]:
    return [Label(r["category"], r["risk"], tuple(r.get("evidence", ()))) for r in rows]


def _row(
    post: Post,
    labels: list[dict[str, Any]],
    text: str,
    trigger: str,
    now: datetime,
    version: str | None = None,
) -> dict[str, Any]:
    return {
        "post_id": post.id,
        "post_pid": post.platform_id,
        "account_id": post.author_id,
        "account_pid": post.author.platform_id,
        "post_version": post.version,
        "status": post.status,
        "labels": labels,
        "text": text,
        "label_version": version or label_version(),
        "trigger": trigger,
        "recorded_at": now,
    }


def _active_post_actions(session: Session, post_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    if not post_ids:
        return out
    rows = session.execute(
        select(Action.post_id, Action.action_type, Action.policy).where(
            Action.post_id.in_(post_ids), Action.status == "active", Action.target_type == "post"
        )
    )
    for post_id, kind, policy in rows:
        out.setdefault(post_id, []).append((kind, policy))
    return out


def post_decided(session: Session, rt: Runtime, post: Post, signals: list[Signal], trigger: str) -> None:
    """A post version was scored and decided (and perhaps acted on): index its labels."""
    if any(isinstance(o, Action) for o in session.new):
        session.flush()  # the action just applied must be visible to the query below
    norm = normalize(post.text)
    actions = _active_post_actions(session, [post.id]).get(post.id, [])
    model = learned.for_settings(rt.settings)
    labels = merge(content_labels(rt.scorer_thresholds(), norm, signals, model), action_labels(actions))
    row = _row(post, _dump(labels), words(norm), trigger, rt.now(), label_version(model))
    session.execute(_INSERT_POST, [row])


def posts_written(
    session: Session,
    rt: Runtime,
    items: Sequence[NewPost],
    post_ids: Sequence[int],
    actions: Iterable[Action],
) -> None:
    """A batch of new posts was stored, decided and enforced: index them with one INSERT."""
    acted: dict[int, list[tuple[str, str]]] = {}
    for a in actions:
        if a.post_id is not None and a.status == "active":
            acted.setdefault(a.post_id, []).append((a.action_type, a.policy))
    statuses: dict[int, str] = {}
    if acted:
        found = session.execute(select(Post.id, Post.status).where(Post.id.in_(list(acted))))
        statuses = {post_id: status for post_id, status in found.tuples()}
    model = learned.for_settings(rt.settings)
    now, version, thresholds = rt.now(), label_version(model), rt.scorer_thresholds()
    rows: list[dict[str, Any]] = []
    norms = [normalize(item.data.text) for item in items]
    content_found = content_labels_batch(
        thresholds, norms, [item.plan.signals if item.plan is not None else [] for item in items], model
    )
    for item, post_id, norm, content in zip(items, post_ids, norms, content_found, strict=True):
        labels = merge(content, action_labels(acted.get(post_id, [])))
        rows.append(
            {
                "post_id": post_id,
                "post_pid": item.data.platform_id,
                "account_id": item.author.id,
                "account_pid": item.author.platform_id,
                "post_version": 1,
                "status": statuses.get(post_id, "visible"),
                "labels": _dump(labels),
                "text": words(norm),
                "label_version": version,
                "trigger": "ingest",
                "recorded_at": now,
            }
        )
    bulkrows.insert_rows(session, PostLabels, rows)


def _latest(session: Session, post_id: int) -> PostLabels | None:
    return session.scalar(
        select(PostLabels).where(PostLabels.post_id == post_id).order_by(PostLabels.seq.desc()).limit(1)
    )


def _restate(session: Session, post: Post, trigger: str, now: datetime) -> None:
    """A new row for a post whose status or actions changed; its text labels are those last computed."""
    last = _latest(session, post.id)
    kept = [
        x for x in _load(last.labels if last else []) if all(e.get("kind") != "action" for e in x.evidence)
    ]
    actions = _active_post_actions(session, [post.id]).get(post.id, [])
    labels = merge(kept, action_labels(actions))
    text = (
        last.text if last is not None and last.post_version == post.version else words(normalize(post.text))
    )
    version = last.label_version if last is not None else None
    session.execute(_INSERT_POST, [_row(post, _dump(labels), text, trigger, now, version)])


def action_changed(session: Session, action: Action, now: datetime) -> None:
    """An action was applied or reversed: restate the post, or the account's standing."""
    session.flush()  # the action (or its reversal) and the projected status must be queryable
    if action.target_type == "post" and action.post is not None:
        _restate(session, action.post, f"action.{action.status}", now)
        return
    account = action.account
    rows = session.execute(
        select(Action.action_type, Action.policy).where(
            Action.account_id == account.id,
            Action.target_type == "account",
            Action.status == "active",
            Action.action_type.in_(ACCOUNT_ACTIONS),
        )
    ).all()
    labels = action_labels([(kind, policy) for kind, policy in rows])
    session.execute(
        _INSERT_ACCOUNT,
        [
            {
                "account_id": account.id,
                "account_pid": account.platform_id,
                "standing": account.standing,
                "standing_until": account.standing_until,
                "labels": _dump(merge(labels)),
                "recorded_at": now,
            }
        ],
    )


def post_deleted(session: Session, post: Post, now: datetime) -> None:
    """The platform deleted a post: it is never a placement again."""
    _restate(session, post, "deleted", now)


def account_erased(session: Session, account: Account, now: datetime) -> None:
    """An account was erased: blank its posts' stored text in every row, and restate them."""
    session.execute(update(PostLabels).where(PostLabels.account_id == account.id).values(text=""))
    for post in session.scalars(select(Post).where(Post.author_id == account.id)):
        last = _latest(session, post.id)
        if last is not None:
            row = _row(post, list(last.labels), "", "erased", now, last.label_version)
            session.execute(_INSERT_POST, [row])

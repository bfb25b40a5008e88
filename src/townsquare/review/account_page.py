"""What a reviewer sees about an account: profile history, posts, actions, strikes, cases, and the
ban-evasion links to and from it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.access.protect import is_protected, tags_of
from townsquare.content import repository as repo
from townsquare.content.models import Account, Post
from townsquare.content.views import account_view
from townsquare.eventlog import events
from townsquare.review.models import Case
from townsquare.runtime import Runtime

POSTS_SHOWN = 50
EVASION_SCAN = 2_000


def _evasion(session: Session, account: Account) -> list[dict[str, Any]]:
    """Ban-evasion cases: this account suspected of evading another's ban, or another suspected of
    evading this one's."""
    rows = session.scalars(
        select(Case).where(Case.policy == "ban_evasion").order_by(Case.id.desc()).limit(EVASION_SCAN)
    ).all()
    out: list[dict[str, Any]] = []
    for c in rows:
        banned = (c.details or {}).get("banned_account")
        other: Account | None = None
        if c.account_id == account.id and banned:
            other = session.scalar(select(Account).where(Account.platform_id == banned))
            relation = "suspected of evading the ban of"
        elif banned == account.platform_id:
            other, relation = c.account, "banned; suspected new account:"
        else:
            continue
        out.append(
            {
                "case_id": c.id,
                "relation": relation,
                "other_handle": other.handle if other else str(banned),
                "other_id": other.platform_id if other else "",
                "score": (c.details or {}).get("score"),
                "state": c.state,
            }
        )
    return out


def account_page(session: Session, rt: Runtime, platform_id: str) -> dict[str, Any]:
    """The account page's data."""
    account = repo.account(session, platform_id)
    view = account_view(session, rt, platform_id)
    posts = session.scalars(
        select(Post).where(Post.author_id == account.id).order_by(Post.id.desc()).limit(POSTS_SHOWN)
    ).all()
    post_cases: dict[int, Case] = {}
    if posts:
        for c in session.scalars(
            select(Case).where(Case.post_id.in_([p.id for p in posts])).order_by(Case.id)
        ):
            post_cases[c.post_id or 0] = c
    total_posts = session.scalar(select(func.count()).where(Post.author_id == account.id)) or 0
    cases = session.scalars(
        select(Case).where(Case.account_id == account.id).order_by(Case.id.desc()).limit(100)
    ).all()
    view.update(
        {
            "protected": is_protected(session, account),
            "tags": tags_of(session, account.id),
            "total_posts": int(total_posts),
            "posts": [
                {
                    "platform_id": p.platform_id,
                    "text": p.text,
                    "status": p.status,
                    "views": p.views,
                    "created_at": events.iso(p.created_at),
                    "policy": post_cases[p.id].policy if p.id in post_cases else None,
                    "case_id": post_cases[p.id].id if p.id in post_cases else None,
                }
                for p in posts
            ],
            "cases": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "queue": c.queue,
                    "state": c.state,
                    "policy": c.policy,
                    "opened_at": events.iso(c.opened_at),
                }
                for c in cases
            ],
            "evasion": _evasion(session, account),
        }
    )
    return view


def post_page(session: Session, platform_id: str) -> dict[str, Any]:
    """A post's cases (for the post page; the rest comes from `post_view`)."""
    post = repo.post(session, platform_id)
    cases = session.scalars(select(Case).where(Case.post_id == post.id).order_by(Case.id)).all()
    return {
        "author_handle": post.author.handle,
        "author_id": post.author.platform_id,
        "cases": [
            {"id": c.id, "kind": c.kind, "queue": c.queue, "state": c.state, "policy": c.policy}
            for c in cases
        ],
        "policy": next((c.policy for c in reversed(cases) if c.policy), None),
    }

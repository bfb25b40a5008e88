"""What a reviewer sees of a campaign: its accounts, posts, timeline and evidence."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.campaigns.detector import hashtags, links
from townsquare.campaigns.models import Campaign, CampaignPost
from townsquare.content.models import Account, Post
from townsquare.eventlog import events
from townsquare.review.models import Case


def summary(c: Campaign) -> dict[str, Any]:
    """One line of the campaigns list."""
    return {
        "id": c.id,
        "key": c.key,
        "state": c.state,
        "kinds": list(c.kinds or []),
        "score": round(c.score, 3),
        "accounts": int((c.evidence or {}).get("accounts", 0)),
        "posts": int((c.evidence or {}).get("posts", 0)),
        "first_post_at": events.iso(c.first_post_at),
        "last_post_at": events.iso(c.last_post_at),
        "detected_at": events.iso(c.detected_at),
        "approval_id": c.approval_id,
        "decision": c.decision,
    }


def listing(session: Session, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Campaigns, newest detection first."""
    q = select(Campaign).order_by(Campaign.detected_at.desc(), Campaign.id.desc()).limit(limit)
    if state:
        q = q.where(Campaign.state == state)
    return [summary(c) for c in session.scalars(q)]


def detail(session: Session, c: Campaign) -> dict[str, Any]:
    """The campaign with its accounts, posts (in time order), timeline per minute and shared evidence."""
    rows = session.execute(
        select(CampaignPost, Post, Account, Case.state)
        .join(Post, Post.id == CampaignPost.post_id)
        .join(Account, Account.id == CampaignPost.account_id)
        .outerjoin(Case, Case.id == CampaignPost.case_id)
        .where(CampaignPost.campaign_id == c.id)
        .order_by(Post.created_at, Post.id)
    ).all()
    accounts: dict[str, dict[str, Any]] = {}
    shared_links: Counter[str] = Counter()
    shared_tags: Counter[str] = Counter()
    timeline: Counter[str] = Counter()
    posts = []
    for member, post, account, case_state in rows:
        a = accounts.setdefault(
            account.platform_id,
            {
                "platform_id": account.platform_id,
                "handle": account.handle,
                "created_at": events.iso(account.created_at),
                "followers": account.follower_count,
                "posts": 0,
            },
        )
        a["posts"] += 1
        shared_links.update(set(links(post.text)))
        shared_tags.update(set(hashtags(post.text)))
        timeline[post.created_at.strftime("%Y-%m-%dT%H:%M")] += 1
        posts.append(
            {
                "platform_id": post.platform_id,
                "author": account.platform_id,
                "text": post.text,
                "created_at": events.iso(post.created_at),
                "status": post.status,
                "case_id": member.case_id,
                "case_state": case_state,
                "reasons": list(member.reasons or []),
            }
        )
    return {
        **summary(c),
        "evidence": {
            **(c.evidence or {}),
            "shared_links": shared_links.most_common(5),
            "shared_hashtags": shared_tags.most_common(5),
        },
        "accounts": sorted(accounts.values(), key=lambda a: -a["posts"]),
        "posts": posts,
        "timeline": [{"minute": k, "posts": v} for k, v in sorted(timeline.items())],
    }

"""Queries of the stream package."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.content.models import Account, Post
from townsquare.stream.models import StreamOffset


def authors_of(session: Session, post_pids: list[str]) -> dict[str, str]:
    """post platform id -> its author's platform id, for the posts stored."""
    if not post_pids:
        return {}
    rows = session.execute(
        select(Post.platform_id, Account.platform_id)
        .join(Account, Account.id == Post.author_id)
        .where(Post.platform_id.in_(post_pids))
    )
    return {post: author for post, author in rows}


def offset(session: Session, message_key: str) -> StreamOffset | None:
    """The applied row of a message, if it was applied."""
    return session.get(StreamOffset, message_key)


def recent(session: Session, limit: int = 20) -> list[StreamOffset]:
    """The messages applied most recently."""
    return list(session.scalars(select(StreamOffset).order_by(StreamOffset.processed_at.desc()).limit(limit)))

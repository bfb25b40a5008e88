"""Every brand-safety query: advertisers, members, profiles, label history and impressions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.brandsafety.models import (
    AccountState,
    Advertiser,
    AdvertiserMember,
    Impression,
    PostLabels,
    Profile,
)
from townsquare.content.models import Account, Post


def advertiser_by_key(session: Session, key: str) -> Advertiser | None:
    """An advertiser by its key."""
    return session.scalar(select(Advertiser).where(Advertiser.key == key))


def advertisers_by_key(session: Session, keys: Iterable[str]) -> dict[str, Advertiser]:
    """Advertisers by key (unknown keys are absent)."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    return {a.key: a for a in session.scalars(select(Advertiser).where(Advertiser.key.in_(wanted)))}


def advertisers(session: Session, ids: set[int] | None) -> list[Advertiser]:
    """All advertisers, or those with these ids."""
    q = select(Advertiser).order_by(Advertiser.key)
    if ids is not None:
        q = q.where(Advertiser.id.in_(ids))
    return list(session.scalars(q))


def member_advertisers(session: Session, user_id: int) -> set[int]:
    """The advertisers a staff user acts for."""
    return set(
        session.scalars(select(AdvertiserMember.advertiser_id).where(AdvertiserMember.user_id == user_id))
    )


def is_member(session: Session, advertiser_id: int, user_id: int) -> bool:
    """Whether the user already acts for the advertiser."""
    q = select(AdvertiserMember.id).where(
        AdvertiserMember.advertiser_id == advertiser_id, AdvertiserMember.user_id == user_id
    )
    return session.scalar(q) is not None


def profile(session: Session, profile_id: int) -> Profile | None:
    """A profile by id."""
    return session.get(Profile, profile_id)


def profiles(session: Session, advertiser_ids: set[int] | None) -> list[Profile]:
    """Profiles of these advertisers (all when None)."""
    q = select(Profile).order_by(Profile.id)
    if advertiser_ids is not None:
        q = q.where(Profile.advertiser_id.in_(advertiser_ids))
    return list(session.scalars(q))


def existing_accounts(session: Session, pids: Sequence[str]) -> set[str]:
    """Which of these account platform ids exist."""
    if not pids:
        return set()
    return set(session.scalars(select(Account.platform_id).where(Account.platform_id.in_(list(set(pids))))))


def existing_posts(session: Session, pids: Sequence[str]) -> set[str]:
    """Which of these post platform ids exist."""
    if not pids:
        return set()
    return set(session.scalars(select(Post.platform_id).where(Post.platform_id.in_(list(set(pids))))))


def post_ids(session: Session, pids: Sequence[str]) -> dict[str, int]:
    """Post platform id -> internal id."""
    if not pids:
        return {}
    rows = session.execute(select(Post.platform_id, Post.id).where(Post.platform_id.in_(list(set(pids)))))
    return dict(rows.tuples().all())


def label_history(session: Session, post_ids: Iterable[int]) -> dict[int, list[PostLabels]]:
    """Every label row of these posts, oldest first."""
    ids = list(set(post_ids))
    out: dict[int, list[PostLabels]] = {}
    if not ids:
        return out
    for row in session.scalars(
        select(PostLabels).where(PostLabels.post_id.in_(ids)).order_by(PostLabels.seq)
    ):
        out.setdefault(row.post_id, []).append(row)
    return out


def standing_history(session: Session, account_ids: Iterable[int]) -> dict[int, list[AccountState]]:
    """Every standing row of these accounts, oldest first."""
    ids = list(set(account_ids))
    out: dict[int, list[AccountState]] = {}
    if not ids:
        return out
    q = select(AccountState).where(AccountState.account_id.in_(ids)).order_by(AccountState.seq)
    for row in session.scalars(q):
        out.setdefault(row.account_id, []).append(row)
    return out


def impression_keys(
    session: Session, advertiser_ids: set[int], ids: Sequence[str]
) -> dict[tuple[int, str], Impression]:
    """Stored impressions with these (advertiser, impression id) keys."""
    if not ids:
        return {}
    q = select(Impression).where(
        Impression.advertiser_id.in_(advertiser_ids), Impression.impression_id.in_(list(set(ids)))
    )
    return {(i.advertiser_id, i.impression_id): i for i in session.scalars(q)}


def impressions(
    session: Session, advertiser_id: int, since: datetime, until: datetime
) -> list[tuple[Impression, str]]:
    """An advertiser's impressions served in [since, until), with each post's platform id, by time."""
    q = (
        select(Impression, Post.platform_id)
        .join(Post, Post.id == Impression.post_id)
        .where(
            Impression.advertiser_id == advertiser_id,
            Impression.served_at >= since,
            Impression.served_at < until,
        )
        .order_by(Impression.served_at, Impression.id)
    )
    return [(imp, pid) for imp, pid in session.execute(q).tuples()]

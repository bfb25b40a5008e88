"""Protected subjects: tagged accounts need a higher permission, and staff may not act on their own accounts.

An account is protected when the platform marks it so (`Account.protected`) or when staff tag it as a
public official, candidate, journalist or staff member. Actions on protected accounts need
action:protected and are flagged (`"protected": true`) in their events, so the audit view can show them.
A staff user linked to a platform account may never act on it, whatever they hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.models import AccountTag, StaffAccountLink
from townsquare.access.roles import ACTION_PROTECTED
from townsquare.access.service import Principal, user_by_name
from townsquare.content import repository as repo
from townsquare.content.models import Account
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events

TAGS = ("public_official", "candidate", "journalist", "staff")


def tags_of(session: Session, account_id: int) -> list[str]:
    """The protected-subject tags on an account, sorted."""
    return sorted(session.scalars(select(AccountTag.tag).where(AccountTag.account_id == account_id)))


def is_protected(session: Session, account: Account) -> bool:
    """Whether the platform marked the account protected or staff tagged it."""
    if account.protected:
        return True
    found = session.scalar(select(AccountTag.id).where(AccountTag.account_id == account.id).limit(1))
    return found is not None


def linked_user_ids(session: Session, account_id: int) -> set[int]:
    """Staff users linked to this platform account."""
    rows = session.scalars(select(StaffAccountLink.user_id).where(StaffAccountLink.account_id == account_id))
    return set(rows)


def check_actor_may_act(session: Session, principal: Principal, account: Account) -> bool:
    """Refuse a principal acting on their own account, or on a protected one without action:protected.

    Returns whether the account is protected, so the caller can flag the action's event.
    """
    if principal.user_id is not None and principal.user_id in linked_user_ids(session, account.id):
        raise Forbidden(
            "you cannot act on your own platform account",
            {"field": "account", "account": account.platform_id},
        )
    protected = is_protected(session, account)
    if protected and not principal.has(ACTION_PROTECTED):
        raise Forbidden(
            f"account {account.platform_id} is a protected subject; acting on it needs {ACTION_PROTECTED}",
            {"field": "account", "permission": ACTION_PROTECTED},
        )
    return protected


def add_tag(
    session: Session, principal: Principal, platform_id: str, tag: str, *, now: datetime
) -> AccountTag:
    """Tag an account as a protected subject (an event)."""
    if tag not in TAGS:
        raise Invalid(f"tag must be one of {', '.join(TAGS)}", {"field": "tag"})
    account = repo.account(session, platform_id)
    if tag in tags_of(session, account.id):
        raise Conflict(f"{platform_id} is already tagged {tag}", {"field": "tag"})
    row = AccountTag(account_id=account.id, tag=tag, added_by=principal.actor, added_at=now)
    session.add(row)
    session.flush([row])
    events.record(
        session,
        "account.tagged",
        actor=principal.actor,
        subject_type="account",
        subject_id=platform_id,
        at=now,
        payload={"tag": tag},
    )
    return row


def remove_tag(session: Session, principal: Principal, platform_id: str, tag: str, *, now: datetime) -> None:
    """Remove a protected-subject tag (an event)."""
    account = repo.account(session, platform_id)
    row = session.scalar(select(AccountTag).where(AccountTag.account_id == account.id, AccountTag.tag == tag))
    if row is None:
        raise NotFound(f"{platform_id} is not tagged {tag}", {"field": "tag"})
    session.delete(row)
    session.flush()
    events.record(
        session,
        "account.untagged",
        actor=principal.actor,
        subject_type="account",
        subject_id=platform_id,
        at=now,
        payload={"tag": tag},
    )


def _link(session: Session, username: str, platform_id: str) -> tuple[Any, Account, StaffAccountLink | None]:
    user = user_by_name(session, username)
    account = repo.account(session, platform_id)
    row = session.scalar(
        select(StaffAccountLink).where(
            StaffAccountLink.user_id == user.id, StaffAccountLink.account_id == account.id
        )
    )
    return user, account, row


def link_account(
    session: Session, principal: Principal, username: str, platform_id: str, *, now: datetime
) -> StaffAccountLink:
    """Record that `platform_id` is `username`'s own account, so they cannot act on it (an event)."""
    user, account, existing = _link(session, username, platform_id)
    if existing is not None:
        raise Conflict(f"{platform_id} is already linked to {username}", {"field": "account"})
    row = StaffAccountLink(user_id=user.id, account_id=account.id, linked_by=principal.actor, linked_at=now)
    session.add(row)
    session.flush([row])
    events.record(
        session,
        "user.account_linked",
        actor=principal.actor,
        subject_type="user",
        subject_id=username,
        at=now,
        payload={"account": platform_id},
    )
    return row


def unlink_account(
    session: Session, principal: Principal, username: str, platform_id: str, *, now: datetime
) -> None:
    """Remove a staff user's link to a platform account (an event)."""
    _, _, row = _link(session, username, platform_id)
    if row is None:
        raise NotFound(f"{platform_id} is not linked to {username}", {"field": "account"})
    session.delete(row)
    session.flush()
    events.record(
        session,
        "user.account_unlinked",
        actor=principal.actor,
        subject_type="user",
        subject_id=username,
        at=now,
        payload={"account": platform_id},
    )


def links_of(session: Session, username: str) -> list[str]:
    """Platform ids of the accounts linked to a staff user."""
    user = user_by_name(session, username)
    rows = session.scalars(
        select(Account.platform_id)
        .join(StaffAccountLink, StaffAccountLink.account_id == Account.id)
        .where(StaffAccountLink.user_id == user.id)
        .order_by(Account.platform_id)
    )
    return list(rows)

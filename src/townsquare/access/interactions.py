"""Queries for the insider-risk interaction rule: which accounts staff members' own accounts dealt with."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from townsquare.content.models import Account, Post, Report

Relations = dict[tuple[int, int], set[str]]


def target_accounts(
    session: Session, subjects: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, str]]:
    """(subject_type, platform id) of posts and accounts -> (account id, account platform id) affected."""
    wanted = set(subjects)
    post_ids = {sid for kind, sid in wanted if kind == "post"}
    account_ids = {sid for kind, sid in wanted if kind == "account"}
    out: dict[tuple[str, str], tuple[int, str]] = {}
    if account_ids:
        for acct_id, pid in session.execute(
            select(Account.id, Account.platform_id).where(Account.platform_id.in_(account_ids))
        ):
            out[("account", pid)] = (int(acct_id), pid)
    if post_ids:
        rows = session.execute(
            select(Post.platform_id, Account.id, Account.platform_id)
            .join(Account, Account.id == Post.author_id)
            .where(Post.platform_id.in_(post_ids))
        )
        for post_pid, acct_id, acct_pid in rows:
            out[("post", post_pid)] = (int(acct_id), acct_pid)
    return out


def _replies(session: Session, linked: set[int], out: Relations) -> None:
    child, parent = aliased(Post), aliased(Post)
    for column, verb in ((child.reply_to_id, "replied"), (child.quote_of_id, "quoted")):
        pairs = session.execute(
            select(child.author_id, parent.author_id)
            .join(parent, parent.id == column)
            .where((child.author_id.in_(linked)) | (parent.author_id.in_(linked)))
        )
        for by, to in pairs:
            if by in linked:
                out[(by, to)].add(f"{verb}_to" if verb == "replied" else "quoted")
            if to in linked:
                out[(to, by)].add(f"{verb}_by")


def _reports(session: Session, linked: set[int], out: Relations) -> None:
    on_accounts = session.execute(
        select(Report.reporter_id, Report.subject_id).where(
            Report.subject_type == "account",
            Report.reporter_id.is_not(None),
            (Report.reporter_id.in_(linked)) | (Report.subject_id.in_(linked)),
        )
    )
    on_posts = session.execute(
        select(Report.reporter_id, Post.author_id)
        .join(Post, Post.id == Report.subject_id)
        .where(
            Report.subject_type == "post",
            Report.reporter_id.is_not(None),
            (Report.reporter_id.in_(linked)) | (Post.author_id.in_(linked)),
        )
    )
    for reporter, reported in [*on_accounts, *on_posts]:
        if reporter in linked:
            out[(reporter, int(reported))].add("reported")
        if reported in linked:
            out[(int(reported), reporter)].add("reported_by")


def interactions_of(session: Session, linked: set[int]) -> Relations:
    """(linked account, other account) -> kinds: replied_to/_by, quoted/_by, reported/_by, own_account."""
    out: Relations = defaultdict(set)
    if not linked:
        return out
    _replies(session, linked, out)
    _reports(session, linked, out)
    for own in linked:
        out[(own, own)].add("own_account")
    return out

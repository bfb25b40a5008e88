"""Statements of reasons for the DSA Transparency Database: export in batches and resumable submission.

Exported statements carry no personal data: the puid is derived from the action id and a hash of the
stored puid (which names the post or account), free-text fields are redacted again, and each statement is
checked against the database's rules before it leaves. A cursor is an HMAC-signed position (the last
action id given out), so a forged or altered cursor is refused; one that points past the newest action
(another installation, a restored database) is stale and refused too.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.appeals.links import load_or_create_key, sign, verify
from townsquare.enforcement.dsa import _redact, validate_statement
from townsquare.enforcement.models import Action
from townsquare.errors import Invalid, TownsquareError
from townsquare.runtime import Runtime
from townsquare.transparency.models import StatementSent

BATCH = 100
_QUOTED = re.compile(r"([\w.-]+) '[^']*'")
PURPOSE = "dsa-export"
CURSOR_DAYS = 3650
_TEXT_FIELDS = (
    "decision_facts",
    "illegal_content_explanation",
    "incompatible_content_explanation",
    "incompatible_content_ground",
    "illegal_content_legal_ground",
    "decision_visibility_other",
    "decision_monetary_other",
    "content_type_other",
    "category_specification_other",
)


def export_puid(platform: str, action_id: int, stored_puid: str) -> str:
    """The puid sent for an action: stable, unique per action, and free of account or post ids."""
    digest = hashlib.sha256(stored_puid.encode("utf-8")).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in platform)[:60]
    return f"{safe}-sor-{action_id}-{digest}"


def public_statement(rt: Runtime, action_id: int, statement: dict[str, Any]) -> dict[str, Any]:
    """The statement as submitted: personal data removed, puid replaced, checked against the rules."""
    out = copy.deepcopy(statement)
    for name in _TEXT_FIELDS:
        if isinstance(out.get(name), str):
            out[name] = _redact(out[name])
    if isinstance(out.get("decision_facts"), str):
        # Evidence quotes matched words of the post, which may be personal (a phone number, a name).
        out["decision_facts"] = _QUOTED.sub(r"\1 (matched words withheld)", out["decision_facts"])
    if out.get("source_type") != "SOURCE_TRUSTED_FLAGGER":
        out.pop("source_identity", None)  # a notifier's identity is personal data
    out["puid"] = export_puid(rt.settings.platform, action_id, str(statement.get("puid", "")))
    validate_statement(out)
    return out


def make_cursor(rt: Runtime, last_action_id: int) -> str:
    """A signed cursor for the position after `last_action_id`."""
    key = load_or_create_key(rt.settings.link_key_path)
    return sign(key, {"for": PURPOSE, "after": int(last_action_id)}, rt.now() + timedelta(days=CURSOR_DAYS))


def read_cursor(session: Session, rt: Runtime, cursor: str | None) -> int:
    """The action id a cursor points after (0 for none); 422 naming `since` if forged, expired or stale."""
    if cursor is None or cursor == "":
        return 0
    key = load_or_create_key(rt.settings.link_key_path)
    try:
        claim = verify(key, cursor.strip(), rt.now(), PURPOSE)
    except TownsquareError:
        raise Invalid("since is not a cursor this installation issued (forged, altered or expired)",
                      {"field": "since"}) from None  # fmt: skip
    after = claim.get("after")
    if not isinstance(after, int) or after < 0:
        raise Invalid("since is not a valid cursor", {"field": "since"})
    newest = int(session.scalar(select(func.max(Action.id))) or 0)
    if after > newest:
        raise Invalid("since is stale: it points past the newest action (a restored or other database)",
                      {"field": "since"})  # fmt: skip
    return after


def export_batch(
    session: Session, rt: Runtime, after: int, limit: int = BATCH
) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` statements of actions after id `after`, in id order, and the last id included."""
    rows = session.execute(
        select(Action.id, Action.statement).where(Action.id > after).order_by(Action.id).limit(limit)
    ).all()
    statements = [public_statement(rt, aid, stmt) for aid, stmt in rows]
    return statements, (rows[-1][0] if rows else after)


def pending_batch(
    session: Session, rt: Runtime, after: int, limit: int = BATCH
) -> list[tuple[int, dict[str, Any]]]:
    """Up to `limit` (action id, statement) after id `after` whose puid the database does not have yet."""
    sent = select(StatementSent.action_id)
    rows = session.execute(
        select(Action.id, Action.statement)
        .where(Action.id > after, Action.id.not_in(sent))
        .order_by(Action.id)
        .limit(limit)
    ).all()
    return [(aid, public_statement(rt, aid, stmt)) for aid, stmt in rows]


def record_sent(
    session: Session, endpoint: str, items: list[tuple[int, str, str, str | None]], now: datetime
) -> None:
    """Remember (action id, puid, outcome, uuid) as held by the database: never sent again."""
    for action_id, puid, outcome, uuid in items:
        session.add(
            StatementSent(
                puid=puid, action_id=action_id, endpoint=endpoint, outcome=outcome, uuid=uuid, sent_at=now
            )  # fmt: skip
        )


def body(statements: list[dict[str, Any]]) -> bytes:
    """The request body the database takes."""
    return json.dumps({"statements": statements}, ensure_ascii=False).encode("utf-8")

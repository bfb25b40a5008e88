"""The two-person rule for what decides: publishing policy versions and putting text-bank versions live.

Thresholds and model versions live inside policy versions, so changing them is publishing a policy
version. A request is checked at once (so a mistake is refused before anyone is asked), waits for a second
holder of policy:publish who is not the requester, and is carried out by the executors below, which record
the approval's id and approver in the `policy.published` / `textbank.published` event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from townsquare.access import approvals
from townsquare.access.models import Approval
from townsquare.access.roles import POLICY_PUBLISH, TEXTBANK_EDIT
from townsquare.access.service import Principal
from townsquare.api_types import MAX_VERSION
from townsquare.detection.textbanks import TextBank
from townsquare.errors import Conflict, Invalid
from townsquare.policy import service
from townsquare.policy import textbank_versions as banks
from townsquare.policy.models import PolicyVersionRecord
from townsquare.runtime import Runtime


def request_publish(
    session: Session, rt: Runtime, who: Principal, area: str, version: int, state: str, reason: str
) -> Approval:
    """Ask for a policy version to move to `state`; a second publisher must approve it."""
    service.check_publish(session, area, version, state)
    key = f"{area}@{version}"
    if approvals.pending_for(session, "policy_publish", "key", key) is not None:
        raise Conflict(f"publishing {key} is already awaiting approval", {"field": "version"})
    payload = {"key": key, "area": area, "version": version, "state": state}
    summary = f"publish policy {area} v{version} as {state}"
    return approvals.request_approval(
        session, rt, who, "policy_publish", payload, summary, POLICY_PUBLISH, reason
    )


def _stamp(approval: Approval) -> dict[str, Any]:
    return {"approval": approval.id, "approved_by": approval.decided_by}


@approvals.executor("policy_publish")
def _execute_publish(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    approvals.requester(session, rt, approval, need=POLICY_PUBLISH)
    p = approval.payload
    area, version, state = str(p["area"]), int(p["version"]), str(p["state"])
    service.publish(
        session, rt, area, version, state, actor=approval.requested_by, reason=approval.reason,
        approval=_stamp(approval),
    )  # fmt: skip
    versions = [v for v in service.list_versions(session) if v["area"] == area]
    return {"area": area, "version": version, "state": state, "versions": versions}


def _parse(policy: str, mapping: Any) -> TextBank:
    try:
        bank = TextBank.from_mapping(mapping, "bank")
    except ValueError as exc:
        raise Invalid(str(exc), {"field": "bank"}) from exc
    if bank.policy != policy:
        raise Invalid(f"the bank is for {bank.policy}, not {policy}", {"field": "bank.policy"})
    if bank.version > MAX_VERSION:
        raise Invalid(f"the version must be at most {MAX_VERSION}", {"field": "bank.version"})
    return bank


def propose_textbank(
    session: Session, rt: Runtime, who: Principal, policy: str, mapping: Any, reason: str
) -> Approval:
    """Record a new bank version as proposed and ask for a second person to put it live."""
    bank = _parse(policy, mapping)
    recorded = banks.rows(session, policy)
    same = next((r for r in recorded if r.version == bank.version), None)
    if same is not None and same.content_hash != bank.content_hash:
        raise Conflict(
            f"text bank {policy} v{bank.version} exists with other content; bump the version",
            {"field": "bank.version"},
        )
    if same is None:
        newest = max((r.version for r in recorded), default=0)
        if bank.version <= newest:
            raise Invalid(f"the version must be above {newest}", {"field": "bank.version"})
        banks.check_thresholds(rt, bank)
        same = banks.record(session, bank, "proposed", actor=who.actor, now=rt.now(), reason=reason)
    return request_textbank(session, rt, who, same, reason)


def request_textbank(
    session: Session, rt: Runtime, who: Principal, row: PolicyVersionRecord, reason: str
) -> Approval:
    """Ask for a proposed bank version (sent through the API or found in files) to go live."""
    if row.state != "proposed":
        raise Conflict(
            f"text bank {row.area} v{row.version} is {row.state}, not proposed", {"field": "version"}
        )
    who.need(TEXTBANK_EDIT)
    key = f"{row.area}@{row.version}"
    if approvals.pending_for(session, "textbank", "key", key) is not None:
        raise Conflict(f"text bank {key} is already awaiting approval", {"field": "version"})
    bank = banks.parse(row.content_hash, row.content)
    banks.check_thresholds(rt, bank)
    live = banks.live_row(session, row.area)
    changes = banks.diff(banks.parse(live.content_hash, live.content) if live else None, bank)
    payload = {"key": key, "policy": row.area, "version": row.version, "content_hash": row.content_hash,
               "changes": changes}  # fmt: skip
    summary = f"put text bank {row.area} v{row.version} live (replacing v{changes['from_version']})"
    return approvals.request_approval(session, rt, who, "textbank", payload, summary, POLICY_PUBLISH, reason)


@approvals.executor("textbank", requester_needs=TEXTBANK_EDIT)
def _execute_textbank(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    approvals.requester(session, rt, approval, need=TEXTBANK_EDIT)
    p = approval.payload
    row = banks.get_row(session, str(p["policy"]), int(p["version"]))
    if row.content_hash != p["content_hash"]:
        raise Conflict("the proposed bank changed after the request", {"field": "content_hash"})
    banks.make_live(
        session, rt, row.area, row.version, actor=approval.requested_by, reason=approval.reason,
        approval=_stamp(approval),
    )  # fmt: skip
    return {"policy": row.area, "version": row.version, "state": row.state, "content_hash": row.content_hash}

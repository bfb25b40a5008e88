"""Signed, expiring links for people outside the staff tools (an appeal page reached from a notice).

A link carries a small JSON claim (what it is for, the decision, the platform account, the expiry) and an
HMAC-SHA256 over it with a key kept outside the database (`TOWNSQUARE_LINK_KEY_PATH`, created mode
0600 on first use). It identifies the user and the decision without a login; it cannot be forged
without the key, and it stops working at its expiry. Rotating the key invalidates every link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from townsquare.errors import Gone, NotFound


def load_or_create_key(path: Path) -> bytes:
    """The link key (32 random bytes), created on first use."""
    if path.exists():
        key = path.read_bytes()
        if len(key) < 32:
            raise ValueError(f"{path} is too short to be a link key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claim: dict[str, Any], expires: datetime) -> str:
    """A token for this claim, valid until `expires`."""
    body = json.dumps(
        {**claim, "exp": int(expires.timestamp())}, sort_keys=True, separators=(",", ":")
    ).encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def verify(key: bytes, token: str, now: datetime, purpose: str) -> dict[str, Any]:
    """The claim of a valid token for `purpose`; NotFound when forged or malformed, Gone when expired."""
    try:
        body_part, mac_part = token.split(".", 1)
        body, mac = _unb64(body_part), _unb64(mac_part)
    except (ValueError, TypeError) as exc:
        raise NotFound("this link is not valid", {"field": "token"}) from exc
    if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), mac):
        raise NotFound("this link is not valid", {"field": "token"})
    claim: dict[str, Any] = json.loads(body)
    if claim.get("for") != purpose:
        raise NotFound("this link is not for this page", {"field": "token"})
    if int(claim.get("exp", 0)) < now.timestamp():
        raise Gone("this link has expired; ask the platform for a new one", {"field": "token"})
    return claim


def appeal_url(public_url: str, key: bytes, kind: str, ref: str, account: str, expires: datetime) -> str:
    """The link in a notice that opens the appeal page for this decision and this user."""
    token = sign(key, {"for": "appeal", "kind": kind, "ref": ref, "account": account}, expires)
    return f"{public_url.rstrip('/')}/appeal/{token}"

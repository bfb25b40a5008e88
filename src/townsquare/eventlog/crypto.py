"""Per-account keys for personal fields in event payloads: erase the key, the text is gone."""

from __future__ import annotations

import base64
import os
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from townsquare.db import Base, BigId, UTCDateTime

ERASED = "[erased]"
_CACHE_KEY = "townsquare.account_keys"


class AccountKey(Base):
    """The AES-256-GCM key that protects one account's personal fields in the event log."""

    __tablename__ = "account_keys"

    account_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _cache(session: Session) -> dict[int, bytes | None]:
    cache: dict[int, bytes | None] = session.info.setdefault(_CACHE_KEY, {})
    return cache


def create_key(session: Session, account_id: int, now: datetime) -> bytes:
    """Generate and store a fresh key for a new account."""
    key = AESGCM.generate_key(bit_length=256)
    session.add(AccountKey(account_id=account_id, key=key, created_at=now))
    _cache(session)[account_id] = key
    return key


_KEYS = select(AccountKey.account_id, AccountKey.key).where(  # built once: read for every new post
    AccountKey.account_id.in_(bindparam("ids", expanding=True))
)


def preload_keys(session: Session, account_ids: set[int]) -> None:
    """Fetch many accounts' keys in one query (the batch path)."""
    cache = _cache(session)
    missing = [a for a in account_ids if a not in cache]
    if not missing:
        return
    rows = session.execute(_KEYS, {"ids": missing})
    found = dict(rows.tuples().all())
    for acct in missing:
        cache[acct] = found.get(acct)


def _key(session: Session, account_id: int) -> bytes | None:
    cache = _cache(session)
    if account_id not in cache:
        preload_keys(session, {account_id})
    return cache.get(account_id)


def encrypt_field(session: Session, account_id: int, value: str) -> dict[str, str]:
    """Encrypt one personal value for the event log (AAD binds it to the account)."""
    key = _key(session, account_id)
    if key is None:
        return {"enc": "erased"}
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, value.encode("utf-8"), f"acct:{account_id}".encode())
    return {"enc": "v1:" + base64.b64encode(nonce + ct).decode("ascii")}


def decrypt_field(session: Session, account_id: int, sealed: object) -> str:
    """The plaintext of a sealed field, or ERASED once the account's key is gone."""
    if not (isinstance(sealed, dict) and isinstance(sealed.get("enc"), str)):
        return str(sealed)
    token = sealed["enc"]
    key = _key(session, account_id)
    if key is None or not token.startswith("v1:"):
        return ERASED
    raw = base64.b64decode(token[3:])
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], f"acct:{account_id}".encode()).decode("utf-8")
    except InvalidTag:
        return ERASED


def erase_key(session: Session, account_id: int) -> bool:
    """Delete an account's key; every sealed field of that account becomes unreadable."""
    row = session.get(AccountKey, account_id)
    _cache(session)[account_id] = None
    if row is None:
        return False
    session.delete(row)
    return True

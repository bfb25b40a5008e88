"""What the stream workers applied: one row per message, written in the same transaction as its effects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db import Base, UTCDateTime


class StreamOffset(Base):
    """A message that was applied; a redelivery finds its row and changes nothing."""

    __tablename__ = "stream_offsets"

    message_key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<stream>/<entry id>"
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON: the decision or outcome
    appended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

"""The outbox: one row per message, written in the transaction of the change it reports."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status"),
        # The worker's query: due, queued messages in order.
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The person it is for, so their queued mail goes when their account is deleted.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(320))
    #: Empty until written when the message is written by the worker (``written_from``).
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    #: The recipient's language, as chosen when the message was queued.
    locale: Mapped[str | None] = mapped_column(String(8))
    #: ``{"writer", "argument"}`` for a message the mail worker writes when it sends it
    #: (``WrittenWhenSent``); None for one written when queued.
    written_from: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: ``[{"filename", "content_type", "content_b64"}]`` (receipts), or
    #: ``{"filename", "content_type", "drawer", "argument"}`` for one drawn at sending
    #: (a ticket's QR code and calendar file: ``DrawnAttachment``).
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    #: Template name, for tests and for the staff's view of what went out.
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

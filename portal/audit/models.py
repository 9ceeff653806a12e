"""Audit entries. They outlive the people they mention, so they hold ids, never personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, utcnow
from portal.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_organization_occurred", "organization_id", "occurred_at"),
        Index("ix_audit_entry_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Who acted; empty when the portal decided by a rule (roster match, domain rule).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    #: Dotted verb, e.g. ``membership.verify``, ``role.grant``.
    action: Mapped[str] = mapped_column(String(64))
    #: The organization whose records this touches, so partner admins see their own only.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL")
    )
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    #: Ids and states only; never names or addresses (they must vanish with the person).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor = relationship("Person", foreign_keys=[actor_id])
    organization = relationship("Organization", foreign_keys=[organization_id])

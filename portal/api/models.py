"""API keys, the answers kept for idempotent retries, and background jobs (rule 18)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Person
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.organizations.models import Organization


class Scope(enum.StrEnum):
    """What a key may do; reading organizations, MOUs and services needs no scope."""

    MEMBERSHIPS_READ = "memberships:read"
    MEMBERSHIPS_DECIDE = "memberships:decide"
    ROSTER_WRITE = "roster:write"
    CLAIMS_READ = "claims:read"
    CLAIMS_DECIDE = "claims:decide"
    REGISTRATIONS_READ = "registrations:read"
    CHECKIN = "checkin"


class ApiKey(db.Model):
    """A partner's system acting for one organization with the rights of the person who
    created the key, within its scopes (rule 18). Only a hash of the secret is kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    #: The first characters of the secret, so people can tell their keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the secret (hex): the secret has 256 bits of entropy, so no salt or
    #: stretching is needed, and a lookup is one indexed equality.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[Person] = relationship(foreign_keys=[created_by_id])

    def allows(self, scope: Scope) -> bool:
        return scope.value in self.scopes


class IdempotentResponse(db.Model):
    """The answer to a POST that carried an ``Idempotency-Key``, replayed for 24 hours."""

    __tablename__ = "api_idempotent_response"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key", "path", name="uq_api_idempotency"),
        Index("ix_api_idempotent_response_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(500))
    #: SHA-256 of the request body: the same key with another body is the caller's mistake.
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ApiJob(db.Model):
    """Work too large for one request (a roster of thousands), done by ``portal api jobs``."""

    __tablename__ = "api_job"
    __table_args__ = (Index("ix_api_job_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    payload: Mapped[Any] = mapped_column(JSON)
    result: Mapped[Any | None] = mapped_column(JSON)
    #: Why it failed, in the caller's language at the time it was queued.
    error: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    api_key: Mapped[ApiKey | None] = relationship()


class WebhookEndpoint(db.Model):
    """An address of a partner's system that is told of changes to its organization's records,
    signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``whsec_`` and base64: the receiver needs the secret itself to check signatures.
    secret: Mapped[str] = mapped_column(String(100))
    #: The secret before the last rotation, still signing until ``previous_secret_until``.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when deliveries kept failing (or by its admins); nothing is queued for it then.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[Person] = relationship(foreign_keys=[created_by_id])


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(db.Model):
    """One event for one endpoint: queued with the change, tried until it is accepted or the
    retries (about three days) run out."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    #: The webhook-id header: the same for every attempt, so receivers can drop repeats.
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    #: A worker's claim on the delivery while it sends (two workers never send one twice).
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    endpoint: Mapped[WebhookEndpoint] = relationship()

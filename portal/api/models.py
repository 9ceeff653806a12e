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

"""Claims on reciprocal services, and the single-use codes some services hand out."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Membership, Person
from portal.db import TimestampMixin, UTCDateTime, one_of, utcnow
from portal.extensions import db
from portal.organizations.models import ReciprocalService


class ClaimStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


#: Claims that use up a member's limit: open ones and granted ones.
COUNTED_STATES = (ClaimStatus.REQUESTED, ClaimStatus.APPROVED, ClaimStatus.FULFILLED)
#: Claims whose benefit the member received.
GRANTED_STATES = (ClaimStatus.APPROVED, ClaimStatus.FULFILLED)


class BenefitClaim(TimestampMixin, db.Model):
    """A member asking for one service; ``created_at`` is when they asked."""

    __tablename__ = "benefit_claim"
    __table_args__ = (
        CheckConstraint(one_of("status", ClaimStatus), name="status"),
        CheckConstraint(
            "status IN ('requested', 'cancelled') OR decided_at IS NOT NULL", name="decided"
        ),
        CheckConstraint("status <> 'rejected' OR decision_note <> ''", name="rejection_reason"),
        CheckConstraint("slot >= 1", name="slot_positive"),
        # At most one open claim per person and service: a second click is not a second claim.
        Index(
            "uq_benefit_claim_open",
            "person_id",
            "service_id",
            unique=True,
            sqlite_where=text("status = 'requested'"),
            postgresql_where=text("status = 'requested'"),
        ),
        # A member's allowance per period, held by the database too: each live claim takes
        # one of the numbered places its period allows, so two requests racing past the
        # limit check cannot both be written.
        Index(
            "uq_benefit_claim_live",
            "person_id",
            "service_id",
            "period",
            "slot",
            unique=True,
            sqlite_where=text(one_of("status", COUNTED_STATES)),
            postgresql_where=text(one_of("status", COUNTED_STATES)),
        ),
        # The limit check: one person's claims on one service, by state and time.
        Index("ix_benefit_claim_person_service", "person_id", "service_id", "created_at"),
        # The report and the providers' queues.
        Index("ix_benefit_claim_service_created", "service_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("reciprocal_service.id", ondelete="RESTRICT")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: The verified membership that made the person eligible (at the claim, then at approval).
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.REQUESTED.value)
    #: The period of the service's allowance the claim was made in, where the provider is:
    #: ``2026``, ``2026-Q2``, ``2026-04``, or ``ever`` (a service claimed once).
    period: Mapped[str] = mapped_column(String(10))
    #: Which of the places the allowance gives in that period this claim holds (1 … limit).
    slot: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: Who approved or rejected; empty for a grant the portal made on request.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Shown to the member: the reason of a refusal, or the provider's note with an approval.
    decision_note: Mapped[str] = mapped_column(Text, default="")
    #: The code the member was given (the service's shared code or one from its pool).
    code: Mapped[str | None] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service: Mapped[ReciprocalService] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    membership: Mapped[Membership | None] = relationship()
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def is_granted(self) -> bool:
        return self.status in GRANTED_STATES

    def __repr__(self) -> str:
        return f"<BenefitClaim {self.id} {self.status}>"


class BenefitCode(db.Model):
    """One single-use code of a service's pool; given to exactly one claim."""

    __tablename__ = "benefit_code"
    __table_args__ = (
        UniqueConstraint("service_id", "code", name="uq_benefit_code_service_code"),
        UniqueConstraint("claim_id", name="uq_benefit_code_claim_id"),
        CheckConstraint("code <> ''", name="not_empty"),
        # Free codes of a service, oldest first.
        Index("ix_benefit_code_service_claim", "service_id", "claim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("reciprocal_service.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(200))
    #: The claim it was given to; empty while free.
    claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("benefit_claim.id", ondelete="RESTRICT")
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

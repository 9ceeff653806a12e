"""The network: LINK-J (the hub), its partners, the MOUs between them and their clauses."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import TimestampMixin, one_of
from portal.extensions import db


class OrganizationKind(enum.StrEnum):
    HUB = "hub"
    PARTNER = "partner"
    #: Belongs to the network without an MOU and without members: it hosts events (Kobe City).
    HOST = "host"


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class ServiceCategory(enum.StrEnum):
    MEMBER_SERVICES = "member_services"
    PUBLICATIONS = "publications"
    PROGRAMS_EVENTS = "programs_events"
    COHOSTING = "cohosting"
    MUTUAL_VISITS = "mutual_visits"
    SYMPOSIA = "symposia"
    PERSONNEL_EXCHANGE = "personnel_exchange"


class LimitPeriod(enum.StrEnum):
    """The window a per-member limit counts in: a calendar period where the provider is."""

    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    EVER = "ever"


class Redemption(enum.StrEnum):
    """How a granted benefit is used: instructions only, one code for all, or a code each."""

    INSTRUCTIONS = "instructions"
    SHARED_CODE = "shared_code"
    CODE_POOL = "code_pool"


class Organization(TimestampMixin, db.Model):
    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint(one_of("kind", OrganizationKind), name="kind"),
        CheckConstraint("length(country) = 2", name="country_iso"),
        CheckConstraint("length(default_currency) = 3", name="currency_iso"),
        CheckConstraint(
            "membership_year_end_month BETWEEN 1 AND 12", name="membership_year_end_month"
        ),
        # Exactly one hub: the network has one centre, and every MOU names it.
        Index(
            "uq_organization_single_hub",
            "kind",
            unique=True,
            sqlite_where=text("kind = 'hub'"),
            postgresql_where=text("kind = 'hub'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL name, e.g. ``biocom``; stable once published.
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=OrganizationKind.PARTNER.value)
    #: Short name used in tables and ticket audiences (``BIOCOM``, ``IBRI``).
    short_name: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str] = mapped_column(String(200))
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2), index=True)
    city_en: Mapped[str] = mapped_column(String(100))
    city_ja: Mapped[str] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(300))
    #: IANA zone, used for the organization's events and membership-year ends.
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    #: ISO 4217; the currency its tickets and dues are priced in unless stated.
    default_currency: Mapped[str] = mapped_column(String(3), default="JPY")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    #: Month in which memberships of this organization lapse (3 = Japanese fiscal year).
    membership_year_end_month: Mapped[int] = mapped_column(default=3)

    agreements_as_hub: Mapped[list[Agreement]] = relationship(
        back_populates="hub", foreign_keys="Agreement.hub_id"
    )
    agreements_as_partner: Mapped[list[Agreement]] = relationship(
        back_populates="partner", foreign_keys="Agreement.partner_id"
    )

    @property
    def is_hub(self) -> bool:
        return self.kind == OrganizationKind.HUB

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"


class Agreement(TimestampMixin, db.Model):
    """A memorandum of understanding between the hub (LINK-J) and one partner."""

    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint(one_of("status", AgreementStatus), name="status"),
        CheckConstraint("hub_id <> partner_id", name="distinct_parties"),
        CheckConstraint("valid_until IS NULL OR valid_until >= signed_on", name="validity_order"),
        UniqueConstraint("partner_id", "signed_on", name="uq_agreement_partner_signed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    #: The seed knows MOUs by month; the day is the first unless the document says otherwise.
    signed_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=AgreementStatus.ACTIVE.value)
    #: Last day the MOU is in force; empty for MOUs without an end.
    valid_until: Mapped[date | None]
    summary_en: Mapped[str] = mapped_column(Text, default="")
    summary_ja: Mapped[str] = mapped_column(Text, default="")
    document_url: Mapped[str | None] = mapped_column(String(500))

    hub: Mapped[Organization] = relationship(
        back_populates="agreements_as_hub", foreign_keys=[hub_id]
    )
    partner: Mapped[Organization] = relationship(
        back_populates="agreements_as_partner", foreign_keys=[partner_id]
    )
    services: Mapped[list[ReciprocalService]] = relationship(
        back_populates="agreement",
        order_by="(ReciprocalService.provider_id, ReciprocalService.position)",
        cascade="all, delete-orphan",
    )

    def is_in_force(self, on: date) -> bool:
        """Rule 3's MOU half: active, and not past its validity end on that day."""
        return (
            self.status == AgreementStatus.ACTIVE
            and (self.valid_until is None or on <= self.valid_until)
            and self.signed_on <= on
        )

    def party_ids(self) -> tuple[int, int]:
        return (self.hub_id, self.partner_id)

    def __repr__(self) -> str:
        return f"<Agreement {self.slug}>"


class ReciprocalService(TimestampMixin, db.Model):
    """One clause of an MOU, one way: what ``provider`` offers ``beneficiary``'s members."""

    __tablename__ = "reciprocal_service"
    __table_args__ = (
        CheckConstraint(one_of("category", ServiceCategory), name="category"),
        CheckConstraint("provider_id <> beneficiary_id", name="distinct_parties"),
        CheckConstraint("title_en <> '' OR title_ja <> ''", name="has_title"),
        CheckConstraint("limit_per_member IS NULL OR limit_per_member >= 1", name="limit_positive"),
        CheckConstraint(one_of("limit_period", LimitPeriod), name="limit_period"),
        CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_until >= valid_from",
            name="validity_order",
        ),
        CheckConstraint(one_of("redemption", Redemption), name="redemption"),
        CheckConstraint(
            "redemption <> 'shared_code' OR (shared_code IS NOT NULL AND shared_code <> '')",
            name="shared_code_given",
        ),
        # No unique (agreement, provider, category): one clause of the document ("services for
        # members") may become several concrete offers, each claimable on its own terms.
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreement.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    category: Mapped[str] = mapped_column(String(32))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    title_ja: Mapped[str] = mapped_column(String(200), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    #: Members of the beneficiary can claim it (a benefit), rather than it being an
    #: organization-to-organization undertaking.
    claimable: Mapped[bool] = mapped_column(default=False)
    #: Order within the MOU, following the document's list.
    position: Mapped[int] = mapped_column(default=0)
    #: A claim waits for the provider's decision; otherwise it is granted on request.
    requires_approval: Mapped[bool] = mapped_column(default=False)
    #: Claims a member may make per ``limit_period`` (requested, approved and fulfilled ones
    #: count); empty for no limit.
    limit_per_member: Mapped[int | None]
    limit_period: Mapped[str] = mapped_column(String(16), default=LimitPeriod.YEAR.value)
    #: First and last day it can be claimed, in the provider's time zone; empty for open.
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    redemption: Mapped[str] = mapped_column(String(16), default=Redemption.INSTRUCTIONS.value)
    #: Shown to the member once a claim is granted (how to book, whom to write to…).
    redemption_instructions_en: Mapped[str] = mapped_column(Text, default="")
    redemption_instructions_ja: Mapped[str] = mapped_column(Text, default="")
    #: For ``shared_code``: the one code every granted member is shown.
    shared_code: Mapped[str | None] = mapped_column(String(200))

    agreement: Mapped[Agreement] = relationship(back_populates="services")
    provider: Mapped[Organization] = relationship(foreign_keys=[provider_id])
    beneficiary: Mapped[Organization] = relationship(foreign_keys=[beneficiary_id])

    def __repr__(self) -> str:
        return f"<ReciprocalService {self.category} {self.provider_id}->{self.beneficiary_id}>"

"""Plans, applications for them, orientation slots, members' plans and the dues they owe."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import TimestampMixin, UTCDateTime, one_of, utcnow
from portal.extensions import db


class PlanKind(enum.StrEnum):
    CORPORATE = "corporate"
    INDIVIDUAL = "individual"


class MidYearRule(enum.StrEnum):
    """What the first year's dues are when joining after April (rule 19)."""

    FULL_YEAR = "full_year"
    BY_MONTH = "by_month"


class DuesPlan(TimestampMixin, db.Model):
    """A membership plan of LINK-J (Special Membership A, B, C), kept by staff."""

    __tablename__ = "dues_plan"
    __table_args__ = (
        CheckConstraint(one_of("kind", PlanKind), name="kind"),
        CheckConstraint(one_of("mid_year_rule", MidYearRule), name="mid_year_rule"),
        CheckConstraint("initial_fee >= 0 AND annual_dues > 0", name="amounts"),
        CheckConstraint("seats IS NULL OR seats >= 1", name="seats"),
        CheckConstraint("grace_days >= 0", name="grace_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    #: Yen, consumption tax (10 %) included (rule 5).
    initial_fee: Mapped[int]
    annual_dues: Mapped[int]
    #: Corporate plans: the seats (invitations) of the company's primary contact.
    seats: Mapped[int | None]
    member_rates: Mapped[bool] = mapped_column(default=True)
    benefits: Mapped[bool] = mapped_column(default=True)
    room_booking: Mapped[bool] = mapped_column(default=False)
    open_for_applications: Mapped[bool] = mapped_column(default=True)
    mid_year_rule: Mapped[str] = mapped_column(String(16), default=MidYearRule.BY_MONTH.value)
    #: Days after 31 March an unpaid member keeps member treatment (rule 20).
    grace_days: Mapped[int] = mapped_column(default=30)
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")


class ApplicationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    ORIENTATION_PROPOSED = "orientation_proposed"
    ORIENTATION_BOOKED = "orientation_booked"
    APPROVED = "approved"
    DECLINED = "declined"


#: An application still in the queue: one such per person.
LIVE_APPLICATION_STATES = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.CHANGES_REQUESTED,
    ApplicationStatus.ORIENTATION_PROPOSED,
    ApplicationStatus.ORIENTATION_BOOKED,
)


class MembershipApplication(TimestampMixin, db.Model):
    """An application for a plan, with the company's details, the questionnaire and the terms
    agreed; staff ask for changes, propose orientation slots, then approve or decline."""

    __tablename__ = "membership_application"
    __table_args__ = (
        CheckConstraint(one_of("status", ApplicationStatus), name="status"),
        Index(
            "uq_membership_application_live",
            "person_id",
            unique=True,
            sqlite_where=text("status NOT IN ('approved', 'declined')"),
            postgresql_where=text("status NOT IN ('approved', 'declined')"),
        ),
        Index("ix_membership_application_queue", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("dues_plan.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(24), default=ApplicationStatus.SUBMITTED.value)
    company_name: Mapped[str] = mapped_column(String(200), default="")
    company_name_kana: Mapped[str] = mapped_column(String(200), default="")
    #: 法人番号: 13 digits, the first a check digit (checked on entry).
    corporate_number: Mapped[str] = mapped_column(String(13), default="")
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    representative_name: Mapped[str] = mapped_column(String(200), default="")
    representative_title: Mapped[str] = mapped_column(String(200), default="")
    billing_name: Mapped[str] = mapped_column(String(200), default="")
    billing_email: Mapped[str] = mapped_column(String(320), default="")
    billing_department: Mapped[str] = mapped_column(String(200), default="")
    #: The questionnaire: fields of interest, what they hope from LINK-J, how they heard of it.
    interests: Mapped[str] = mapped_column(Text, default="")
    expectations: Mapped[str] = mapped_column(Text, default="")
    referral: Mapped[str] = mapped_column(String(200), default="")
    #: The version of LINK-J's terms and objectives the applicant agreed to, and when.
    terms_version: Mapped[int]
    terms_agreed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: What staff asked to change, shown to the applicant.
    staff_message: Mapped[str] = mapped_column(Text, default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person = relationship("Person", foreign_keys=[person_id])
    plan: Mapped[DuesPlan] = relationship()
    slots: Mapped[list[OrientationSlot]] = relationship(
        back_populates="application",
        order_by="OrientationSlot.starts_at",
        cascade="all, delete-orphan",
    )

    @property
    def chosen_slot(self) -> OrientationSlot | None:
        return next((slot for slot in self.slots if slot.chosen), None)


class OrientationMode(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"


class OrientationSlot(db.Model):
    """A time staff propose for the orientation meeting; the applicant chooses one."""

    __tablename__ = "orientation_slot"
    __table_args__ = (CheckConstraint(one_of("mode", OrientationMode), name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("membership_application.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    minutes: Mapped[int] = mapped_column(default=60)
    mode: Mapped[str] = mapped_column(String(16))
    #: The room (in person) or the meeting link (online).
    place: Mapped[str] = mapped_column(Text, default="")
    chosen: Mapped[bool] = mapped_column(default=False)

    application: Mapped[MembershipApplication] = relationship(back_populates="slots")


class MemberPlan(TimestampMixin, db.Model):
    """A LINK-J membership's plan: which plan, its member number, the plan it changes to next
    fiscal year, and when it ended (resigned or lapsed)."""

    __tablename__ = "member_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The LINK-J membership it pays for; set when the first charge is paid.
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership.id", ondelete="SET NULL"), unique=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("dues_plan.id", ondelete="RESTRICT"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership_application.id", ondelete="SET NULL")
    )
    #: "LJ-A-000012": the plan's code and the member plan's id.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    joined_on: Mapped[date | None]
    #: The last day paid for (31 March of a fiscal year); None until the first payment.
    paid_through: Mapped[date | None]
    next_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("dues_plan.id", ondelete="SET NULL")
    )
    ended_on: Mapped[date | None]
    #: "resigned" or "lapsed".
    end_reason: Mapped[str] = mapped_column(String(16), default="")

    membership = relationship("Membership")
    person = relationship("Person", foreign_keys=[person_id])
    plan: Mapped[DuesPlan] = relationship(foreign_keys=[plan_id])
    next_plan: Mapped[DuesPlan | None] = relationship(foreign_keys=[next_plan_id])
    application: Mapped[MembershipApplication | None] = relationship()


class ChargeKind(enum.StrEnum):
    #: Initial fee and the first fiscal year's dues.
    JOINING = "joining"
    #: A fiscal year's dues at renewal.
    ANNUAL = "annual"
    #: The difference when changing to a dearer plan at once.
    PLAN_CHANGE = "plan_change"


class ChargeStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    #: Not owed any more: the member resigned or lapsed before paying.
    CANCELLED = "cancelled"


class DuesCharge(TimestampMixin, db.Model):
    """What a member owes for a fiscal year (or for joining, or a change of plan)."""

    __tablename__ = "dues_charge"
    __table_args__ = (
        CheckConstraint(one_of("kind", ChargeKind), name="kind"),
        CheckConstraint(one_of("status", ChargeStatus), name="status"),
        CheckConstraint("amount > 0", name="amount"),
        # Renewal is safe to run again: one charge per member, fiscal year and kind (rule 20).
        UniqueConstraint("member_plan_id", "fiscal_year", "kind", name="uq_dues_charge_year"),
        Index("ix_dues_charge_year_status", "fiscal_year", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_plan_id: Mapped[int] = mapped_column(
        ForeignKey("member_plan.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("dues_plan.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    #: The fiscal year (April to March) named by the year it starts in.
    fiscal_year: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=ChargeStatus.OPEN.value)
    initial_fee: Mapped[int] = mapped_column(default=0)
    dues: Mapped[int] = mapped_column(default=0)
    #: Yen including 10 % consumption tax: initial fee plus dues.
    amount: Mapped[int]
    due_on: Mapped[date]
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_before_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_after_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member_plan: Mapped[MemberPlan] = relationship()
    plan: Mapped[DuesPlan] = relationship()

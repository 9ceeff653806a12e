"""Events, their ticket types and questions, and the registrations people hold."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import TimestampMixin, UTCDateTime, one_of, utcnow
from portal.extensions import db
from portal.organizations.models import Agreement, Organization


class EventKind(enum.StrEnum):
    SEMINAR = "seminar"
    FORUM = "forum"
    SYMPOSIUM = "symposium"
    SITE_VISIT = "site_visit"
    WORKSHOP = "workshop"
    NETWORKING = "networking"


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Visibility(enum.StrEnum):
    #: Anyone may see it and register.
    PUBLIC = "public"
    #: Verified members of LINK-J or of a partner whose MOU is in force.
    NETWORK = "network"
    #: Verified LINK-J members only.
    LINKJ = "linkj"


class EventLanguage(enum.StrEnum):
    JA = "ja"
    EN = "en"
    BOTH = "both"


class Audience(enum.StrEnum):
    LINKJ_MEMBER = "linkj_member"
    PARTNER_MEMBER = "partner_member"
    NON_MEMBER = "non_member"
    STUDENT = "student"


class QuestionKind(enum.StrEnum):
    TEXT = "text"
    SINGLE = "single"
    MULTIPLE = "multiple"


class RegistrationStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    AWAITING_PAYMENT = "awaiting_payment"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


#: A person has at most one registration in these states per event (rule 2).
LIVE_STATES = (
    RegistrationStatus.PENDING_APPROVAL,
    RegistrationStatus.AWAITING_PAYMENT,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.CHECKED_IN,
    RegistrationStatus.WAITLISTED,
)
#: States that hold a seat against the capacities (rule 1).
SEAT_STATES = (
    RegistrationStatus.AWAITING_PAYMENT,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.CHECKED_IN,
)


event_cohost = Table(
    "event_cohost",
    db.metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True),
)

event_agreement = Table(
    "event_agreement",
    db.metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("agreement_id", ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True),
)


class Event(TimestampMixin, db.Model):
    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint(one_of("kind", EventKind), name="kind"),
        CheckConstraint(one_of("status", EventStatus), name="status"),
        CheckConstraint(one_of("visibility", Visibility), name="visibility"),
        CheckConstraint(one_of("language", EventLanguage), name="language"),
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "registration_closes_at IS NULL OR registration_opens_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name="registration_window",
        ),
        CheckConstraint("reminder_hours_before >= 0", name="reminder_hours"),
        # The public list: published events not yet ended (a few hundred among years of them).
        Index("ix_event_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=EventKind.SEMINAR.value)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.DRAFT.value)
    title_en: Mapped[str] = mapped_column(String(200), default="")
    title_ja: Mapped[str] = mapped_column(String(200), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    #: The language the event is held in, for the list's filter.
    language: Mapped[str] = mapped_column(String(4), default=EventLanguage.BOTH.value)
    host_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    venue_en: Mapped[str] = mapped_column(String(300), default="")
    venue_ja: Mapped[str] = mapped_column(String(300), default="")
    #: Shown to confirmed attendees only.
    online_url: Mapped[str | None] = mapped_column(String(500))
    #: IANA zone the event happens in; times are stored in UTC (rule 9).
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The start's date on the event's own calendar, for filtering by month (set on save).
    starts_on_local: Mapped[date] = mapped_column(index=True)
    #: Empty: open as soon as published.
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Empty: open until the event starts.
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Members may cancel themselves until then; empty: until the start.
    cancellation_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(default=100)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC.value)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    reminder_hours_before: Mapped[int] = mapped_column(default=24)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    host: Mapped[Organization] = relationship(foreign_keys=[host_id])
    cohosts: Mapped[list[Organization]] = relationship(
        secondary=event_cohost, order_by="Organization.id"
    )
    agreements: Mapped[list[Agreement]] = relationship(
        secondary=event_agreement, order_by="Agreement.id"
    )
    ticket_types: Mapped[list[TicketType]] = relationship(
        back_populates="event",
        order_by="(TicketType.position, TicketType.id)",
        cascade="all, delete-orphan",
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="event",
        order_by="(Question.position, Question.id)",
        cascade="all, delete-orphan",
    )
    sessions: Mapped[list[EventSession]] = relationship(
        back_populates="event",
        order_by="(EventSession.starts_at, EventSession.id)",
        cascade="all, delete-orphan",
    )

    @property
    def organizer_ids(self) -> set[int]:
        return {self.host_id, *(o.id for o in self.cohosts)}

    def registration_open_at(self, moment: datetime) -> bool:
        closes = self.registration_closes_at or self.starts_at
        opens = self.registration_opens_at
        return (
            self.status == EventStatus.PUBLISHED
            and (opens is None or opens <= moment)
            and moment < closes
        )

    def registration_changes_after(self, moment: datetime) -> datetime | None:
        """The next moment after ``moment`` at which ``registration_open_at`` may answer
        differently (the window opens or closes), if any: a page kept for later says so."""
        closes = self.registration_closes_at or self.starts_at
        return min(
            (m for m in (self.registration_opens_at, closes) if m and m > moment), default=None
        )

    def __repr__(self) -> str:
        return f"<Event {self.slug}>"


class EventSession(db.Model):
    """One part of a multi-session program (a talk, a panel, a site tour)."""

    __tablename__ = "event_session"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    title_en: Mapped[str] = mapped_column(String(200), default="")
    title_ja: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    room: Mapped[str] = mapped_column(String(200), default="")

    event: Mapped[Event] = relationship(back_populates="sessions")


class TicketType(db.Model):
    __tablename__ = "ticket_type"
    __table_args__ = (
        CheckConstraint(one_of("audience", Audience), name="audience"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("length(currency) = 3", name="currency"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity"),
        CheckConstraint("tax_rate IN (0, 8, 10)", name="tax_rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(20))
    #: For partner-member tickets: only under this MOU; empty: under any MOU of the event.
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement.id", ondelete="SET NULL")
    )
    name_en: Mapped[str] = mapped_column(String(120), default="")
    name_ja: Mapped[str] = mapped_column(String(120), default="")
    #: Integer in the currency's minor unit (JPY: yen) — rule 5.
    price: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    #: Japanese consumption tax included in the price, in percent (10, 8, or 0: not taxable).
    tax_rate: Mapped[int] = mapped_column(default=0)
    #: Seats of this type; empty: only the event's capacity limits it.
    capacity: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    event: Mapped[Event] = relationship(back_populates="ticket_types")
    agreement: Mapped[Agreement | None] = relationship()


class Question(db.Model):
    __tablename__ = "question"
    __table_args__ = (CheckConstraint(one_of("kind", QuestionKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=QuestionKind.TEXT.value)
    label_en: Mapped[str] = mapped_column(String(300), default="")
    label_ja: Mapped[str] = mapped_column(String(300), default="")
    required: Mapped[bool] = mapped_column(default=False)
    #: For choices: ``[{"value": "a", "label_en": "…", "label_ja": "…"}]``.
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="questions")


class Registration(db.Model):
    __tablename__ = "registration"
    __table_args__ = (
        CheckConstraint(one_of("status", RegistrationStatus), name="status"),
        CheckConstraint("price >= 0", name="price"),
        # One live registration per person and event (rule 2): a double click registers once.
        Index(
            "uq_registration_live",
            "event_id",
            "person_id",
            unique=True,
            sqlite_where=text(one_of("status", LIVE_STATES)),
            postgresql_where=text(one_of("status", LIVE_STATES)),
        ),
        # The waitlist order and lists by state: an event's registrations by state and age.
        Index("ix_registration_event_status", "event_id", "status", "id"),
        # Capacity counts (rule 1): only the registrations that hold a seat, so that counting
        # an event's seats reads as many rows as it has seats, however long its waitlist.
        Index(
            "ix_registration_seat_holders",
            "event_id",
            "ticket_type_id",
            sqlite_where=text(one_of("status", SEAT_STATES)),
            postgresql_where=text(one_of("status", SEAT_STATES)),
        ),
        Index("ix_registration_person", "person_id", "created_at"),
        # The staff list of an event's registrations, oldest first.
        Index("ix_registration_event_created", "event_id", "created_at", "id"),
        UniqueConstraint("code", name="uq_registration_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[int] = mapped_column(ForeignKey("ticket_type.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20))
    #: The price decided at registration time, in minor units, and why (rule 3).
    price: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    #: ``{"audience": …, "agreement": slug, "organization": slug}`` — shown as a sentence.
    price_reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: ``{"<question id>": "text" | "value" | ["value", …]}``.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The ticket's secret code: in the QR code, typed at the door.
    code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: For awaiting_payment: the seat is released after this.
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship()
    person = relationship("Person", foreign_keys=[person_id])
    ticket_type: Mapped[TicketType] = relationship()

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_STATES

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATES


@sa_event.listens_for(Event, "before_insert")
@sa_event.listens_for(Event, "before_update")
def _keep_local_start_date(mapper: object, connection: object, event: Event) -> None:
    # One place keeps the local date right, whoever saves the event (rule 9).
    event.starts_on_local = event.starts_at.astimezone(ZoneInfo(event.timezone)).date()

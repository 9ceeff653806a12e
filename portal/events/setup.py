"""Events themselves: creating and editing one with its ticket types, questions and program,
publishing it, cancelling it.

The fields saved as they are follow from the data definitions (``_copied_fields``), so a field
added to one cannot be forgotten on save.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.events.mail import tell_registrant
from portal.events.models import (
    LIVE_STATES,
    Audience,
    Event,
    EventKind,
    EventLanguage,
    EventSession,
    EventStatus,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    TicketType,
    Visibility,
)
from portal.events.organizers import announce_registration, require_organizer
from portal.events.seats import lock_event, seat_state
from portal.events.waitlist import promote_waitlist
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import Agreement, Organization

#: Japan's standard consumption tax rate, in percent: event participation fees sold in Japan
#: are taxable at it.
STANDARD_TAX_RATE = 10

SUPPORTED_CURRENCIES = ("JPY", "USD", "EUR", "GBP")


#: Addresses under /events/ that are pages, not events.
RESERVED_SLUGS = frozenset({"past", "mine"})


@dataclass
class TicketTypeData:
    audience: str
    name_en: str
    name_ja: str
    price: int = 0
    currency: str = "JPY"
    capacity: int | None = None
    agreement_id: int | None = None
    id: int | None = None
    active: bool = True
    #: Japanese consumption tax in the price, percent: 10, 8 or 0 (only for JPY prices).
    tax_rate: int = 0


@dataclass
class QuestionData:
    kind: str
    label_en: str
    label_ja: str
    required: bool = False
    options: list[dict[str, str]] = field(default_factory=list)
    id: int | None = None


@dataclass
class SessionData:
    title_en: str
    title_ja: str
    starts_at: datetime
    ends_at: datetime
    room: str = ""


@dataclass
class EventData:
    slug: str
    kind: str
    title_en: str
    title_ja: str
    host_id: int
    starts_at: datetime
    ends_at: datetime
    timezone: str = "Asia/Tokyo"
    description_en: str = ""
    description_ja: str = ""
    language: str = EventLanguage.BOTH.value
    venue_en: str = ""
    venue_ja: str = ""
    online_url: str | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    cancellation_closes_at: datetime | None = None
    capacity: int = 100
    visibility: str = Visibility.PUBLIC.value
    requires_approval: bool = False
    reminder_hours_before: int = 24
    cohost_ids: list[int] = field(default_factory=list)
    agreement_ids: list[int] = field(default_factory=list)
    ticket_types: list[TicketTypeData] = field(default_factory=list)
    questions: list[QuestionData] = field(default_factory=list)
    sessions: list[SessionData] = field(default_factory=list)


def _copied_fields(data_class: type, model: Any, *, apart: Iterable[str] = ()) -> tuple[str, ...]:
    """The fields of a data definition that are saved as they are, each to the model's column of
    the same name: derived from the definition, so a field added to it cannot be forgotten on
    save (as a ticket's tax rate once was). A field without such a column fails at import."""
    every = {f.name for f in fields(data_class)}
    if set(apart) - every:
        raise TypeError(f"{data_class.__name__} has no field {sorted(set(apart) - every)}")
    names = tuple(f.name for f in fields(data_class) if f.name not in set(apart))
    missing = sorted(set(names) - set(model.__table__.columns.keys()))
    if missing:
        raise TypeError(f"{model.__name__} has no column for {data_class.__name__}: {missing}")
    return names


#: ``save_event`` handles these itself: a cleaned address, relations, and the rows below.
_EVENT_APART = (
    "online_url",
    "cohost_ids",
    "agreement_ids",
    "ticket_types",
    "questions",
    "sessions",
)

_EVENT_COLUMNS = _copied_fields(EventData, Event, apart=_EVENT_APART)

#: ``id`` says which row to update; it is never written.
_TICKET_TYPE_COLUMNS = _copied_fields(TicketTypeData, TicketType, apart=("id",))

_QUESTION_COLUMNS = _copied_fields(QuestionData, Question, apart=("id",))

_SESSION_COLUMNS = _copied_fields(SessionData, EventSession)

_Row = TypeVar("_Row")


def _copy(data: object, row: _Row, names: Iterable[str]) -> _Row:
    for name in names:
        setattr(row, name, getattr(data, name))
    return row


def _validate(data: EventData) -> None:
    if not data.title_en.strip() and not data.title_ja.strip():
        raise InvalidInput(_("Give the event a title in English or Japanese."), field="title_en")
    if not data.slug or not data.slug.replace("-", "").isalnum() or data.slug != data.slug.lower():
        raise InvalidInput(
            _("The web address may use lower-case letters, digits and hyphens."), field="slug"
        )
    if data.ends_at <= data.starts_at:
        raise InvalidInput(_("The end must be after the start."), field="ends_at")
    if data.capacity < 1:
        raise InvalidInput(_("The capacity must be at least 1."), field="capacity")
    if (
        data.registration_opens_at
        and data.registration_closes_at
        and (data.registration_closes_at <= data.registration_opens_at)
    ):
        raise InvalidInput(
            _("Registration must close after it opens."), field="registration_closes_at"
        )
    if data.online_url and not data.online_url.strip().lower().startswith(("https://", "http://")):
        raise InvalidInput(_("Enter a web address starting with https://."), field="online_url")
    if data.registration_closes_at and data.registration_closes_at > data.ends_at:
        raise InvalidInput(
            _("Registration cannot close after the event ends."), field="registration_closes_at"
        )
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a long key
        raise InvalidInput(_("Choose a time zone from the list."), field="timezone") from None
    try:
        EventKind(data.kind), Visibility(data.visibility), EventLanguage(data.language)
    except ValueError:
        raise InvalidInput(
            _("Choose the kind, visibility and language from the lists."), field="kind"
        ) from None
    if not data.ticket_types:
        raise InvalidInput(_("Offer at least one ticket type."), field="ticket_types")
    for ticket in data.ticket_types:
        if not ticket.name_en.strip() and not ticket.name_ja.strip():
            raise InvalidInput(_("Every ticket type needs a name."), field="ticket_types")
        if ticket.price < 0:
            raise InvalidInput(_("A price cannot be negative."), field="ticket_types")
        if ticket.currency not in SUPPORTED_CURRENCIES:
            raise InvalidInput(_("Prices are in JPY, USD, EUR or GBP."), field="ticket_types")
        if ticket.tax_rate not in (0, 8, 10) or (ticket.tax_rate and ticket.currency != "JPY"):
            raise InvalidInput(
                _("Consumption tax applies to yen prices only, at a rate of 10 or 8 percent."),
                field="ticket_types",
            )
        if ticket.capacity is not None and ticket.capacity < 1:
            raise InvalidInput(
                _("A ticket type's capacity must be at least 1, or empty."), field="ticket_types"
            )
        try:
            Audience(ticket.audience)
        except ValueError:
            raise InvalidInput(
                _("Choose each ticket type's audience from the list."), field="ticket_types"
            ) from None
    for question in data.questions:
        if not question.label_en.strip() and not question.label_ja.strip():
            raise InvalidInput(_("Every question needs a text."), field="questions")
        if (
            question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
            and len(question.options) < 2
        ):
            raise InvalidInput(
                _("A choice question needs at least two answers."), field="questions"
            )
    for session in data.sessions:
        if session.ends_at <= session.starts_at:
            raise InvalidInput(_("The end must be after the start."), field="sessions")


def save_event(event: Event | None, data: EventData, *, actor: Person) -> Event:
    """Create or update an event with its ticket types, questions and sessions.

    Staff may create any event; a partner admin only one their organization hosts or
    co-hosts. Raises InvalidInput for bad input (nothing changes), including a capacity
    below the seats already held, and NotFound outside the actor's events.
    """
    _validate(data)
    organizer_ids = {data.host_id, *data.cohost_ids}
    if not actor.is_staff and actor.administered_organization_id not in organizer_ids:
        raise NotFound(_("Not found."))
    if event is not None:
        require_organizer(actor, event)
    host = db.session.get(Organization, data.host_id)
    if host is None:
        raise InvalidInput(_("Choose the host from the list."), field="host")
    slug_taken = db.session.scalar(
        select(Event.id).where(Event.slug == data.slug, Event.id != (event.id if event else -1))
    )
    # "past" and "mine" are pages of the event list (/events/past, /events/mine).
    if slug_taken or data.slug in RESERVED_SLUGS:
        raise InvalidInput(_("Another event already uses this web address."), field="slug")

    creating = event is None
    if event is None:
        event = Event(created_by_id=actor.id, status=EventStatus.DRAFT.value)
        db.session.add(event)
    else:
        # Capacity may shrink only down to what is already held: lock, then count.
        lock_event(event)
        held = seat_state(event.id).held
        if data.capacity < held:
            db.session.rollback()
            raise InvalidInput(
                _("%(held)d seats are already held; the capacity cannot be lower.", held=held),
                field="capacity",
            )
        for ticket in data.ticket_types:
            if (
                ticket.id
                and ticket.capacity is not None
                and ticket.capacity < seat_state(event.id, ticket.id).held_of_type
            ):
                db.session.rollback()
                raise InvalidInput(
                    _(
                        "More seats of “%(name)s” are already held than the new capacity.",
                        name=ticket.name_en or ticket.name_ja,
                    ),
                    field="ticket_types",
                )
    _copy(data, event, _EVENT_COLUMNS)
    event.online_url = (data.online_url or "").strip() or None
    event.cohosts = list(
        db.session.scalars(select(Organization).where(Organization.id.in_(data.cohost_ids or [-1])))
    )
    event.agreements = list(
        db.session.scalars(select(Agreement).where(Agreement.id.in_(data.agreement_ids or [-1])))
    )
    _save_ticket_types(event, data.ticket_types)
    _save_questions(event, data.questions)
    event.sessions = [_copy(s, EventSession(), _SESSION_COLUMNS) for s in data.sessions]
    db.session.flush()
    record(
        "event.create" if creating else "event.update",
        actor=actor,
        subject_type="event",
        subject_id=event.id,
        organization_id=event.host_id,
    )
    db.session.commit()
    if not creating:
        promote_waitlist(event)  # a raised capacity frees seats for those waiting
    return event


def _save_ticket_types(event: Event, wanted: list[TicketTypeData]) -> None:
    existing = {t.id: t for t in event.ticket_types}
    kept: list[TicketType] = []
    for position, data in enumerate(wanted):
        ticket = existing.get(data.id) if data.id else None
        if ticket is None:
            ticket = TicketType()
        _copy(data, ticket, _TICKET_TYPE_COLUMNS)
        ticket.position = position
        kept.append(ticket)
    for ticket in existing.values():
        if ticket not in kept:
            # Registrations keep pointing at a retired type; it is hidden, not deleted.
            ticket.active = False
            kept.append(ticket)
    event.ticket_types = kept


def _save_questions(event: Event, wanted: list[QuestionData]) -> None:
    existing = {q.id: q for q in event.questions}
    kept: list[Question] = []
    for position, data in enumerate(wanted):
        question = existing.get(data.id) if data.id else None
        if question is None:
            question = Question()
        _copy(data, question, _QUESTION_COLUMNS)
        question.position = position
        kept.append(question)
    event.questions = kept


def publish_event(event: Event, *, actor: Person) -> None:
    require_organizer(actor, event)
    if event.status != EventStatus.DRAFT:
        raise InvalidTransition(_("Only a draft can be published."))
    event.status = EventStatus.PUBLISHED.value
    record(
        "event.publish",
        actor=actor,
        subject_type="event",
        subject_id=event.id,
        organization_id=event.host_id,
    )
    db.session.commit()


def cancel_event(event: Event, *, actor: Person, reason: str, now: datetime | None = None) -> int:
    """Cancel the event and every live registration; each registrant is told why."""
    require_organizer(actor, event)
    if event.status == EventStatus.CANCELLED:
        raise InvalidTransition(_("This event is already cancelled."))
    if not reason.strip():
        raise InvalidInput(_("Give a reason; every registrant will see it."))
    moment = now or utcnow()
    event.status = EventStatus.CANCELLED.value
    live = db.session.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status.in_([s.value for s in LIVE_STATES]),
        )
        .options(joinedload(Registration.person))
    ).all()
    for registration in live:
        registration.status = RegistrationStatus.CANCELLED.value
        registration.cancelled_at = moment
        registration.hold_expires_at = None
        registration.decision_reason = reason.strip()
        tell_registrant(registration, "events/event_cancelled")
        announce_registration("cancel", registration, event)
    record(
        "event.cancel",
        actor=actor,
        subject_type="event",
        subject_id=event.id,
        organization_id=event.host_id,
        reason=reason,
        registrations=len(live),
    )
    db.session.commit()
    return len(live)

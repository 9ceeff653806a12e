"""Registrations and their life cycle; events and their settings.

Capacity (DOMAIN rule 1) is decided in one place, ``_seats_left_expression``, on what the
seat-state statement reads after ``lock_rows`` has locked the event's row, inside the
transaction that writes the registration: the capacities as committed then (the event may
come from the definition memo, read a moment earlier) and the seats held. Registering
counts and writes in one statement (``_REGISTER``), with the seat or the waitlist chosen by
``_allocation``; staff moves use ``_seat_state`` and ``_allocate``. Every change to an
event's seats takes the event's lock first, so it also covers the event's ticket types.
Freeing a seat needs no lock; promoting from the waitlist takes the same lock."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    Insert,
    Select,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from portal import pagecache
from portal.accounts import consents
from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from portal.events import calendar, pricing
from portal.events.labels import registration_status_label
from portal.events.models import (
    LIVE_STATES,
    SEAT_STATES,
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
from portal.extensions import db
from portal.locking import Busy, lock_rows
from portal.notifications.services import (
    WrittenWhenSent,
    external_url,
    mail_writer,
    queue_mail,
)
from portal.organizations.models import Agreement, Organization

#: Minutes a seat stays held while a paid ticket waits for payment (the issue's example).
DEFAULT_PAYMENT_HOLD_MINUTES = 30


class RegistrationClosed(DomainError):
    """Registration is not open for this event now."""


# --- who may manage ---


def can_manage_event(actor: Person | None, event: Event) -> bool:
    """Staff manage every event; a partner admin those their organization hosts or co-hosts."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_staff:
        return True
    organization_id = actor.administered_organization_id
    return organization_id is not None and organization_id in event.organizer_ids


def _require_manager(actor: Person, event: Event) -> None:
    if not can_manage_event(actor, event):
        raise NotFound(_("Not found."))


def _audit(action: str, registration: Registration, actor: Person, **details: Any) -> None:
    """An organizer's decision on a registration, in the audit log (rule 7)."""
    record(
        f"registration.{action}",
        actor=actor,
        subject_type="registration",
        subject_id=registration.id,
        organization_id=registration.event.host_id,
        event=registration.event_id,
        **details,
    )


# --- registering ---


def _new_code() -> str:
    # 20 characters of base32 without look-alikes: typed at the door, read from a QR code.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


@dataclass(frozen=True)
class SeatState:
    """What a seat is decided on, read in one statement (after the event's lock)."""

    event_capacity: int
    ticket_capacity: int | None
    held: int
    held_of_type: int
    #: The person's live registration for the event, if asked about a person.
    live_registration_id: int | None
    #: Seats left for the ticket type within the event's (``_seats_left_expression``).
    left: int

    @property
    def free(self) -> int:
        return max(self.left, 0)


def _seat_state_statement() -> Select:
    holds_seat = Registration.status.in_([s.value for s in SEAT_STATES])
    is_live = Registration.status.in_([s.value for s in LIVE_STATES])
    event_id, ticket_type_id = bindparam("event_id"), bindparam("ticket_type_id")
    counts = (
        select(
            select(Event.capacity)
            .where(Event.id == event_id)
            .scalar_subquery()
            .label("event_capacity"),
            select(TicketType.capacity)
            .where(TicketType.id == ticket_type_id)
            .scalar_subquery()
            .label("ticket_capacity"),
            func.count(Registration.id).filter(holds_seat).label("held"),
            func.count(Registration.id)
            .filter(holds_seat, Registration.ticket_type_id == ticket_type_id)
            .label("held_of_type"),
            func.max(Registration.id)
            .filter(is_live, Registration.person_id == bindparam("person_id"))
            .label("live_registration_id"),
        )
        .where(Registration.event_id == event_id)
        .subquery("seats")
    )
    return select(*counts.c, _seats_left_expression(counts).label("left"))


def _seats_left_expression(counts: Any) -> Any:
    """Capacity (rule 1), in SQL so that registering can decide in the statement that
    writes: the event's seats left, or the ticket type's when it has fewer."""
    event_left = counts.c.event_capacity - counts.c.held
    type_left = counts.c.ticket_capacity - counts.c.held_of_type
    return case(
        (counts.c.ticket_capacity.is_(None), event_left),
        (type_left < event_left, type_left),
        else_=event_left,
    )


#: Built once: every registration runs it, and building it costs more than running it.
_SEAT_STATE = _seat_state_statement()


def _seat_state(
    event_id: int, ticket_type_id: int | None = None, person_id: int | None = None
) -> SeatState:
    row = db.session.execute(
        _SEAT_STATE,
        {"event_id": event_id, "ticket_type_id": ticket_type_id, "person_id": person_id},
    ).one()
    return SeatState(*row)


def seats_left(event: Event, ticket_type: TicketType | None = None) -> int:
    """Seats still free for this ticket type (or the event), as of this moment."""
    return _seat_state(event.id, ticket_type.id if ticket_type else None).free


def _lock(event: Event) -> None:
    """Lock the event's row: every change to its seats (its ticket types' too) takes it."""
    lock_rows(Event.__table__, [event.id])


def _hold_minutes() -> int:
    return int(current_app.config.get("PAYMENT_HOLD_MINUTES", DEFAULT_PAYMENT_HOLD_MINUTES))


@dataclass(frozen=True)
class Allocation:
    status: RegistrationStatus
    confirmed_at: datetime | None = None
    hold_expires_at: datetime | None = None


def _allocation(price: int, moment: datetime, *, seat_free: bool) -> Allocation:
    """A seat if one is free (the caller holds the lock and counted after taking it), paid
    tickets held until paid; else the waitlist."""
    if not seat_free:
        return Allocation(RegistrationStatus.WAITLISTED)
    if price > 0:
        return Allocation(
            RegistrationStatus.AWAITING_PAYMENT,
            hold_expires_at=moment + timedelta(minutes=_hold_minutes()),
        )
    return Allocation(RegistrationStatus.CONFIRMED, confirmed_at=moment)


def _allocate(registration: Registration, moment: datetime, *, seat_free: bool) -> None:
    allocation = _allocation(registration.price, moment, seat_free=seat_free)
    registration.status = allocation.status.value
    if allocation.confirmed_at:
        registration.confirmed_at = allocation.confirmed_at
    if allocation.hold_expires_at:
        registration.hold_expires_at = allocation.hold_expires_at


def clean_answers(event: Event, answers: dict[str, Any]) -> dict[str, Any]:
    """Answers keyed by question id, checked against the questions; InvalidInput if not."""
    cleaned: dict[str, Any] = {}
    for question in event.questions:
        key = str(question.id)
        value = answers.get(key)
        label = question.label_en or question.label_ja
        allowed = {o["value"] for o in question.options}
        if question.kind == QuestionKind.MULTIPLE:
            values = [v for v in (value or []) if v]
            if any(v not in allowed for v in values):
                raise InvalidInput(
                    _("Choose among the offered answers to “%(question)s”.", question=label)
                )
            if question.required and not values:
                raise InvalidInput(_("Please answer “%(question)s”.", question=label))
            cleaned[key] = values
        else:
            text = (value or "").strip() if isinstance(value, str) else ""
            if question.kind == QuestionKind.SINGLE and text and text not in allowed:
                raise InvalidInput(
                    _("Choose among the offered answers to “%(question)s”.", question=label)
                )
            if question.required and not text:
                raise InvalidInput(_("Please answer “%(question)s”.", question=label))
            if len(text) > 2000:
                raise InvalidInput(
                    _("Keep the answer to “%(question)s” under 2,000 characters.", question=label)
                )
            cleaned[key] = text
    return cleaned


def live_registration(person: Person, event: Event) -> Registration | None:
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.person_id == person.id,
            Registration.status.in_([s.value for s in LIVE_STATES]),
        )
    )


def register(
    person: Person,
    event: Event,
    *,
    ticket_type_id: int,
    answers: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Registration:
    """Register a person: a seat if one is free, else the waitlist (rules 1, 2, 3).

    Idempotent: a person who already holds a live registration gets it back (a double
    click registers once). Raises RegistrationClosed outside the registration window,
    NotFound when the event is not visible to the person, InvalidInput for a ticket type
    not open to them or a missing required answer, ConsentRequired when an organizer is
    abroad and the person has not agreed to their data going there.
    """
    moment = now or utcnow()
    if not pricing.can_see(person, event):
        raise NotFound(_("Not found."))
    if not event.registration_open_at(moment):
        raise RegistrationClosed(_("Registration for this event is not open."))
    offer = next(
        (o for o in pricing.offers_for(person, event) if o.ticket_type.id == ticket_type_id), None
    )
    if offer is None:
        raise InvalidInput(_("This ticket type is not open to you. Choose one of those offered."))
    cleaned = clean_answers(event, answers or {})
    # The organizers' admins see the registration: abroad, only with the person's consent.
    consents.require_consent(person, [event.host, *event.cohosts])
    ticket = offer.ticket_type
    if event.requires_approval:
        seated = full = Allocation(RegistrationStatus.PENDING_APPROVAL)
    else:
        seated = _allocation(ticket.price, moment, seat_free=True)
        full = _allocation(ticket.price, moment, seat_free=False)
    values = {
        "event_id": event.id,
        "person_id": person.id,
        "ticket_type_id": ticket.id,
        "price": ticket.price,
        "currency": ticket.currency,
        "price_reason": offer.reason,
        "answers": cleaned,
        "code": _new_code(),
        "created_at": moment,
    }
    _lock(event)
    # One statement under the lock counts the seats, writes the registration with a seat or
    # on the waitlist, and writes nothing when the person already holds a live registration
    # (the first click of a double click may have just committed).
    row = db.session.execute(
        _REGISTER,
        {
            **values,
            "status_if_seated": seated.status.value,
            "confirmed_at_if_seated": seated.confirmed_at,
            "hold_expires_at_if_seated": seated.hold_expires_at,
            "status_if_full": full.status.value,
        },
        execution_options={"pagecache_skip": True},  # noted below, row by row
    ).one_or_none()
    if row is None:
        db.session.rollback()
        existing = live_registration(person, event)
        if existing is None:  # cancelled between the two statements: try again
            raise Busy()
        return existing
    allocation = seated if row.status == seated.status.value else full
    # The row as written, known without reading it back.
    registration = Registration(
        id=row.id,
        status=allocation.status.value,
        confirmed_at=allocation.confirmed_at,
        hold_expires_at=allocation.hold_expires_at,
        decision_reason="",
        **dict.fromkeys(_UNSET_AT_REGISTRATION),
        **values,
    )
    make_transient_to_detached(registration)
    db.session.add(registration)
    pagecache.note_written(registration)
    _tell_registrant(registration)
    known = {"id": registration.id, "status": registration.status}
    db.session.commit()
    # What the next page needs, kept instead of read back (commit expires every attribute).
    for name, value in known.items():
        set_committed_value(registration, name, value)
    return registration


def _register_statement() -> Insert:
    state = _seat_state_statement().subquery("state")
    seated = state.c.left > 0
    columns = Registration.__table__.c

    def given(name: str, column: str | None = None) -> Any:
        return bindparam(name, type_=columns[column or name].type)

    chosen = select(
        *(given(name) for name in _GIVEN_AT_REGISTRATION),
        case(
            (seated, given("status_if_seated", "status")), else_=given("status_if_full", "status")
        ),
        case((seated, given("confirmed_at_if_seated", "confirmed_at"))),
        case((seated, given("hold_expires_at_if_seated", "hold_expires_at"))),
        literal("", type_=columns["decision_reason"].type),
    ).where(state.c.live_registration_id.is_(None))
    return (
        insert(Registration.__table__)
        .from_select(
            [
                *_GIVEN_AT_REGISTRATION,
                "status",
                "confirmed_at",
                "hold_expires_at",
                "decision_reason",
            ],
            chosen,
            include_defaults=False,
        )
        .returning(columns.id, columns.status)
    )


#: What ``register`` passes for the new row, as it is; status and times follow the count.
_GIVEN_AT_REGISTRATION = (
    "event_id",
    "person_id",
    "ticket_type_id",
    "price",
    "currency",
    "price_reason",
    "answers",
    "code",
    "created_at",
)
#: Built once, like ``_SEAT_STATE``.
_REGISTER = _register_statement()
#: Columns a new registration leaves empty.
_UNSET_AT_REGISTRATION = (
    "cancelled_at",
    "decided_by_id",
    "checked_in_at",
    "checked_in_by_id",
    "reminder_sent_at",
)


def _tell_registrant(
    registration: Registration,
    template: str | None = None,
) -> None:
    """Mail the registrant about their registration's current state (rule 8); the mail
    worker writes it when it sends it (``registration_mail_context``)."""
    person = registration.person or db.session.get(Person, registration.person_id)
    status = RegistrationStatus(registration.status)
    template = (
        template
        or {
            RegistrationStatus.CONFIRMED: "events/registration_confirmed",
            RegistrationStatus.AWAITING_PAYMENT: "events/registration_awaiting_payment",
            RegistrationStatus.WAITLISTED: "events/registration_waitlisted",
            RegistrationStatus.PENDING_APPROVAL: "events/registration_pending",
            RegistrationStatus.CANCELLED: "events/registration_cancelled",
            RegistrationStatus.REJECTED: "events/registration_rejected",
        }[status]
    )
    attachments = (
        calendar.ticket_attachments(registration.event, registration.code)
        if status == RegistrationStatus.CONFIRMED
        else ()
    )
    queue_mail(
        to=person.email,
        template=template,
        locale=person.preferred_locale,
        person_id=person.id,
        attachments=attachments,
        written_when_sent=WrittenWhenSent("registration", str(registration.id)),
    )


@mail_writer("registration")
def registration_mail_context(registration_id: str) -> dict[str, Any] | None:
    """What the registrant's mail shows, as it is when the mail worker writes it."""
    registration = db.session.get(
        Registration,
        int(registration_id),
        options=[joinedload(Registration.person), joinedload(Registration.event)],
    )
    if registration is None:
        return None
    return {
        "person": registration.person,
        "registration": registration,
        "event": registration.event,
        "ticket_url": external_url("events.ticket", registration_id=registration.id),
        "event_url": external_url("events.detail", slug=registration.event.slug),
    }


# --- leaving and the waitlist ---


def _promote(event: Event, moment: datetime) -> list[Registration]:
    """Fill free seats from the waitlist in order (caller holds the locks). No commit."""
    promoted: list[Registration] = []
    waiting = db.session.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.WAITLISTED.value,
        )
        .order_by(Registration.created_at, Registration.id)
    ).all()
    for registration in waiting:
        if seats_left(event) <= 0:
            break
        if seats_left(event, registration.ticket_type) <= 0:
            continue  # this type is full; someone later in line may hold another type
        _allocate(registration, moment, seat_free=True)
        db.session.flush()
        promoted.append(registration)
        _tell_registrant(registration, "events/registration_promoted")
    return promoted


def promote_waitlist(event: Event, *, now: datetime | None = None) -> list[Registration]:
    """Take the locks and fill free seats from the waitlist, in order; commits."""
    if event.status != EventStatus.PUBLISHED:
        return []
    _lock(event)
    promoted = _promote(event, now or utcnow())
    db.session.commit()
    return promoted


def cancellation_deadline(event: Event) -> datetime:
    return event.cancellation_closes_at or event.starts_at


def cancel_registration(
    registration: Registration,
    *,
    actor: Person,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    """End a registration; a freed seat goes to the first on the waitlist.

    The registrant may cancel until the event's cancellation deadline; organizers at any
    time, with the decision audited. Raises NotFound for anyone else, InvalidTransition
    when the registration is not live or the deadline has passed.
    """
    moment = now or utcnow()
    event = registration.event
    own = actor.id == registration.person_id
    organizer = can_manage_event(actor, event)
    if not own and not organizer:
        raise NotFound(_("Not found."))
    if not registration.is_live:
        raise InvalidTransition(_("This registration is no longer active."))
    if own and not organizer and moment >= cancellation_deadline(event):
        raise InvalidTransition(
            _("The cancellation deadline has passed. Please contact the organizers.")
        )
    freed = registration.holds_seat
    registration.status = RegistrationStatus.CANCELLED.value
    registration.cancelled_at = moment
    registration.hold_expires_at = None
    registration.decision_reason = reason.strip()
    if not own:
        registration.decided_by_id = actor.id
        _audit("cancel", registration, actor, reason=reason)
    _tell_registrant(registration)
    db.session.flush()
    if freed:
        _lock(event)
        _promote(event, moment)
    db.session.commit()


def withdraw_registrations(person: Person, *, moment: datetime) -> int:
    """End the registrations of a person leaving the portal (their account is deleted).

    Every live registration is cancelled, except attendance at events that have ended
    (confirmed or checked in), which stays as it was. Freed seats go to the waitlist in
    order, as when a registrant cancels (rule 1). The person is not written to; the people
    promoted are. No commit: part of the caller's transaction. Returns how many ended.
    """
    held = (RegistrationStatus.CONFIRMED.value, RegistrationStatus.CHECKED_IN.value)
    ending = (
        Registration.person_id == person.id,
        Registration.status.in_([s.value for s in LIVE_STATES]),
        or_(Event.ends_at > moment, Registration.status.not_in(held)),
    )
    event_ids = db.session.scalars(
        select(Registration.event_id).join(Event, Event.id == Registration.event_id).where(*ending)
    ).all()
    if not event_ids:
        return 0
    # Every event whose seats change is locked, in id order, before its seats are counted.
    lock_rows(Event.__table__, event_ids)
    ended = db.session.scalars(
        select(Registration)
        .join(Event, Event.id == Registration.event_id)
        .where(*ending)
        .order_by(Registration.event_id, Registration.id)
        .options(joinedload(Registration.event))
        .execution_options(populate_existing=True)
    ).all()
    freed: dict[int, Event] = {}
    for registration in ended:
        if registration.holds_seat:
            freed[registration.event_id] = registration.event
        registration.status = RegistrationStatus.CANCELLED.value
        registration.cancelled_at = moment
        registration.hold_expires_at = None
    db.session.flush()
    for event in freed.values():
        if event.status == EventStatus.PUBLISHED and moment < event.ends_at:
            _promote(event, moment)
    return len(ended)


def release_expired_holds(*, now: datetime | None = None) -> int:
    """Cancel unpaid registrations whose hold lapsed and give their seats to the waitlist.

    Each one is released by a conditional UPDATE, so a payment confirmed a moment before
    keeps its seat; a payment arriving after the release goes to ``reinstate_paid``.
    """
    moment = now or utcnow()
    lapsed_ids = db.session.scalars(
        select(Registration.id)
        .where(
            Registration.status == RegistrationStatus.AWAITING_PAYMENT.value,
            Registration.hold_expires_at < moment,
        )
        .order_by(Registration.event_id, Registration.id)
    ).all()
    events: dict[int, Event] = {}
    released = 0
    for registration_id in lapsed_ids:
        result = db.session.execute(
            update(Registration)
            .where(
                Registration.id == registration_id,
                Registration.status == RegistrationStatus.AWAITING_PAYMENT.value,
                Registration.hold_expires_at < moment,
            )
            .values(
                status=RegistrationStatus.CANCELLED.value,
                cancelled_at=moment,
                decision_reason="payment hold expired",
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue  # paid (or cancelled) in the meantime
        registration = db.session.get(Registration, registration_id)
        assert registration is not None
        db.session.refresh(registration)
        _tell_registrant(registration, "events/registration_hold_expired")
        events[registration.event_id] = registration.event
        released += 1
        db.session.commit()
    for event in sorted(events.values(), key=lambda e: e.id):
        _lock(event)
        _promote(event, moment)
        db.session.commit()
    return released


def confirm_paid(registration: Registration, *, now: datetime | None = None) -> bool:
    """Payment arrived for a held seat: confirm it. False when the hold had lapsed.

    The payments area calls this on evidence from the provider (rule 6); only one caller
    can win the transition because it is a conditional UPDATE.
    """
    moment = now or utcnow()
    result = db.session.execute(
        update(Registration)
        .where(
            Registration.id == registration.id,
            Registration.status == RegistrationStatus.AWAITING_PAYMENT.value,
        )
        .values(
            status=RegistrationStatus.CONFIRMED.value, confirmed_at=moment, hold_expires_at=None
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(registration)
    _tell_registrant(registration)
    return True


def reinstate_paid(registration: Registration, *, now: datetime | None = None) -> bool:
    """A payment arrived after the hold lapsed: give the seat back if one is still free.

    False when the seat has gone (the caller refunds), the person registered again, or
    deleted their account (a card payment they had started may still succeed).
    """
    event = registration.event
    _lock(event)
    if registration.status != RegistrationStatus.CANCELLED:
        return False
    if registration.person.deleted_at is not None:
        return False
    if live_registration(registration.person, event) is not None:
        return False
    if seats_left(event, registration.ticket_type) <= 0:
        return False
    registration.status = RegistrationStatus.CONFIRMED.value
    registration.confirmed_at = now or utcnow()
    registration.cancelled_at = None
    registration.decision_reason = ""
    _tell_registrant(registration)
    return True


# --- organizers' decisions -----------------------------------------------------------------------


def approve_registration(
    registration: Registration, *, actor: Person, now: datetime | None = None
) -> None:
    """Accept a pending registration: a seat if one is free, else the waitlist."""
    event = registration.event
    _require_manager(actor, event)
    if registration.status != RegistrationStatus.PENDING_APPROVAL:
        raise InvalidTransition(_("Only pending registrations can be approved."))
    moment = now or utcnow()
    _lock(event)
    db.session.refresh(registration)
    if registration.status != RegistrationStatus.PENDING_APPROVAL:
        raise InvalidTransition(_("Only pending registrations can be approved."))
    _allocate(registration, moment, seat_free=seats_left(event, registration.ticket_type) > 0)
    registration.decided_by_id = actor.id
    _audit("approve", registration, actor, result=registration.status)
    _tell_registrant(registration)
    db.session.commit()


def reject_registration(registration: Registration, *, actor: Person, reason: str) -> None:
    event = registration.event
    _require_manager(actor, event)
    if registration.status != RegistrationStatus.PENDING_APPROVAL:
        raise InvalidTransition(_("Only pending registrations can be rejected."))
    if not reason.strip():
        raise InvalidInput(_("Give a reason; the person will see it."))
    registration.status = RegistrationStatus.REJECTED.value
    registration.decision_reason = reason.strip()
    registration.decided_by_id = actor.id
    _audit("reject", registration, actor, reason=reason)
    _tell_registrant(registration)
    db.session.commit()


def move_off_waitlist(
    registration: Registration, *, actor: Person, now: datetime | None = None
) -> None:
    """An organizer gives a waitlisted person a seat out of turn, if one is free."""
    event = registration.event
    _require_manager(actor, event)
    if registration.status != RegistrationStatus.WAITLISTED:
        raise InvalidTransition(_("This person is not on the waitlist."))
    _lock(event)
    if seats_left(event, registration.ticket_type) <= 0:
        db.session.rollback()
        raise InvalidTransition(
            _("No seat is free. Raise the capacity or cancel a registration first.")
        )
    _allocate(registration, now or utcnow(), seat_free=True)
    registration.decided_by_id = actor.id
    _audit("promote", registration, actor)
    _tell_registrant(registration, "events/registration_promoted")
    db.session.commit()


@dataclass(frozen=True)
class CheckIn:
    registration: Registration
    #: Set when the ticket had already been checked in: when that happened.
    already_at: datetime | None = None


def normalize_code(code: str) -> str:
    return "".join(code.split()).upper().removeprefix("LINKJ-TICKET:")


def check_in(
    event: Event, code: str, *, actor: Person, now: datetime | None = None
) -> Registration:
    """Check in the ticket with this code at this event (rule 7: audited).

    Raises NotFound for a code that is not a ticket of this event (forged or mistyped),
    InvalidTransition for a ticket that is not confirmed, or already checked in — the
    message then says when.
    """
    from portal.i18n import format_datetime_in

    _require_manager(actor, event)
    registration = db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.code == normalize_code(code)
        )
    )
    if registration is None:
        raise NotFound(_("No ticket of this event has this code."))
    if registration.status == RegistrationStatus.CHECKED_IN:
        assert registration.checked_in_at is not None
        raise InvalidTransition(
            _(
                "Already checked in at %(time)s.",
                time=format_datetime_in(registration.checked_in_at, event.timezone),
            )
        )
    if registration.status != RegistrationStatus.CONFIRMED:
        raise InvalidTransition(
            _(
                "This ticket is not confirmed (%(status)s).",
                status=registration_status_label(registration.status),
            )
        )
    result = db.session.execute(
        update(Registration)
        .where(
            Registration.id == registration.id,
            Registration.status == RegistrationStatus.CONFIRMED.value,
        )
        .values(
            status=RegistrationStatus.CHECKED_IN.value,
            checked_in_at=now or utcnow(),
            checked_in_by_id=actor.id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        # Two phones scanned the same ticket at the same moment; the other one won.
        db.session.rollback()
        return check_in(event, code, actor=actor, now=now)
    _audit("check_in", registration, actor)
    db.session.commit()
    db.session.refresh(registration)
    return registration


# --- reminders and mass mail ---


def send_reminders(*, now: datetime | None = None) -> int:
    """Queue a reminder for confirmed registrants of events starting within their reminder
    window. Each registration is claimed by a conditional UPDATE, so several runs at once
    (or one every few minutes) never remind anyone twice."""
    moment = now or utcnow()
    due = db.session.execute(
        select(Registration.id, Event.reminder_hours_before, Event.starts_at)
        .join(Event, Registration.event_id == Event.id)
        .where(
            Event.status == EventStatus.PUBLISHED.value,
            Event.ends_at > moment,  # uses the list's index; starts_at narrows it below
            Event.starts_at > moment,
            Event.starts_at <= moment + timedelta(days=14),
            Registration.status == RegistrationStatus.CONFIRMED.value,
            Registration.reminder_sent_at.is_(None),
        )
    ).all()
    sent = 0
    for registration_id, hours, starts_at in due:
        if starts_at - timedelta(hours=hours) > moment:
            continue
        claimed = db.session.execute(
            update(Registration)
            .where(Registration.id == registration_id, Registration.reminder_sent_at.is_(None))
            .values(reminder_sent_at=moment)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        registration = db.session.get(Registration, registration_id)
        assert registration is not None
        _tell_registrant(registration, "events/reminder")
        db.session.commit()
        sent += 1
    return sent


def mail_registrants(
    event: Event,
    *,
    actor: Person,
    subject: str,
    body: str,
    statuses: Iterable[str],
    registration_ids: Iterable[int] | None = None,
) -> int:
    """Queue one message per chosen registrant (all of some states, or the selected ones)."""
    _require_manager(actor, event)
    if not subject.strip() or not body.strip():
        raise InvalidInput(_("Write a subject and a message."))
    query = (
        select(Registration)
        .where(Registration.event_id == event.id)
        .options(joinedload(Registration.person))
    )
    chosen_ids = list(registration_ids or [])
    if chosen_ids:
        query = query.where(Registration.id.in_(chosen_ids))
    else:
        wanted = [RegistrationStatus(s).value for s in statuses]
        if not wanted:
            raise InvalidInput(_("Choose whom to write to."))
        query = query.where(Registration.status.in_(wanted))
    recipients = db.session.scalars(query).all()
    for registration in recipients:
        person = registration.person
        queue_mail(
            to=person.email,
            template="events/message",
            locale=person.preferred_locale,
            person_id=person.id,
            person=person,
            event=event,
            subject=subject.strip(),
            body=body.strip(),
            event_url=external_url("events.detail", slug=event.slug),
        )
    record(
        "event.mail",
        actor=actor,
        subject_type="event",
        subject_id=event.id,
        organization_id=event.host_id,
        recipients=len(recipients),
    )
    db.session.commit()
    return len(recipients)


# --- events themselves ---

#: Japan's standard consumption tax rate, in percent: event participation fees sold in Japan
#: are taxable at it.
STANDARD_TAX_RATE = 10


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


SUPPORTED_CURRENCIES = ("JPY", "USD", "EUR", "GBP")


def _validate(data: EventData) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
        _require_manager(actor, event)
    host = db.session.get(Organization, data.host_id)
    if host is None:
        raise InvalidInput(_("Choose the host from the list."), field="host")
    slug_taken = db.session.scalar(
        select(Event.id).where(Event.slug == data.slug, Event.id != (event.id if event else -1))
    )
    if slug_taken:
        raise InvalidInput(_("Another event already uses this web address."), field="slug")

    creating = event is None
    if event is None:
        event = Event(created_by_id=actor.id, status=EventStatus.DRAFT.value)
        db.session.add(event)
    else:
        # Capacity may shrink only down to what is already held: lock, then count.
        _lock(event)
        held = _seat_state(event.id).held
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
                and ticket.capacity < _seat_state(event.id, ticket.id).held_of_type
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
    _require_manager(actor, event)
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
    _require_manager(actor, event)
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
        _tell_registrant(registration, "events/event_cancelled")
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


def ensure_calendar_token(person: Person) -> str:
    """The secret in the person's calendar-feed address, made on first use."""
    if not person.calendar_token:
        person.calendar_token = secrets.token_urlsafe(24)
        db.session.commit()
    return person.calendar_token

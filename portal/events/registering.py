"""Registering for an event: a seat if one is free, else the waitlist (rules 1, 2, 3), in one
statement under the event's lock (``seats``)."""

from __future__ import annotations

import functools
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, bindparam, case, insert, literal, select
from sqlalchemy.orm import make_transient_to_detached

from portal.accounts import consents
from portal.accounts.models import Person
from portal.db import commit_keeping_what_is_loaded, utcnow
from portal.errors import DomainError, InvalidInput, NotFound
from portal.events import pricing
from portal.events.mail import registrant_mail, tell_registrant
from portal.events.models import (
    LIVE_STATES,
    Event,
    QuestionKind,
    Registration,
    RegistrationStatus,
    TicketType,
)
from portal.events.organizers import announce_registration
from portal.events.pricing import TicketOffer
from portal.events.seats import Allocation, choose_allocation, lock_event, seat_state_statement
from portal.extensions import db
from portal.language import gettext as _
from portal.locking import Busy
from portal.notifications.services import mailed_when_sent_for_each, when_sent_parameters
from portal.versions import WRITES_IN_WITH


class RegistrationClosed(DomainError):
    """Registration is not open for this event now."""


#: Base32 without look-alikes: typed at the door, read from a QR code.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_ticket_code() -> str:
    # 20 characters, each from 5 random bits: as uniform as secrets.choice (256 is a multiple
    # of the alphabet's 32), with one call for randomness instead of twenty.
    return "".join(_CODE_ALPHABET[byte & 31] for byte in secrets.token_bytes(20))


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


def _offer(person: Person, event: Event, ticket_type_id: int, moment: datetime) -> TicketOffer:
    """The ticket the person asked for, if they may register with it now."""
    if not pricing.can_see(person, event):
        raise NotFound(_("Not found."))
    if not event.registration_open_at(moment):
        raise RegistrationClosed(_("Registration for this event is not open."))
    offer = next(
        (o for o in pricing.offers_for(person, event) if o.ticket_type.id == ticket_type_id), None
    )
    if offer is None:
        raise InvalidInput(_("This ticket type is not open to you. Choose one of those offered."))
    return offer


def _allocations(
    event: Event, ticket: TicketType, moment: datetime
) -> tuple[Allocation, Allocation]:
    """What the registration becomes with a seat free, and with none (counted under the lock)."""
    if event.requires_approval:
        pending = Allocation(RegistrationStatus.PENDING_APPROVAL)
        return pending, pending
    return (
        choose_allocation(ticket.price, moment, seat_free=True),
        choose_allocation(ticket.price, moment, seat_free=False),
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
    offer = _offer(person, event, ticket_type_id, moment)
    cleaned = clean_answers(event, answers or {})
    # The organizers' admins see the registration: abroad, only with the person's consent.
    consents.require_consent(person, [event.host, *event.cohosts])
    ticket = offer.ticket_type
    seated, full = _allocations(event, ticket, moment)
    values = {
        "event_id": event.id,
        "person_id": person.id,
        "ticket_type_id": ticket.id,
        "price": ticket.price,
        "currency": ticket.currency,
        "price_reason": offer.reason,
        "answers": cleaned,
        "code": new_ticket_code(),
        "created_at": moment,
    }
    parameters = {
        **values,
        "status_if_seated": seated.status.value,
        "confirmed_at_if_seated": seated.confirmed_at,
        "hold_expires_at_if_seated": seated.hold_expires_at,
        "status_if_full": full.status.value,
    }
    # On PostgreSQL the registrant's mail is queued by the same statement, either way it
    # turns out, so the lock is not held over one more round trip.
    tells = db.session.get_bind().dialect.name == "postgresql"
    if tells:
        parameters |= when_sent_parameters(
            person,
            mail_if=registrant_mail(seated.status.value, event.id, values["code"]),
            mail_else=registrant_mail(full.status.value, event.id, values["code"]),
        )
    lock_event(event)
    # One statement under the lock counts the seats, writes the registration with a seat or
    # on the waitlist, and writes nothing when the person already holds a live registration
    # (the first click of a double click may have just committed).
    row = db.session.execute(_register_and_tell() if tells else _REGISTER, parameters).one_or_none()
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
    if not tells:
        tell_registrant(registration)
    announce_registration("create", registration, event)
    # The answer is a redirect: what the session holds is not read again.
    commit_keeping_what_is_loaded(db.session())
    return registration


def _register_statement() -> Insert:
    state = seat_state_statement().subquery("state")
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


@functools.cache
def _register_and_tell() -> Select:
    """``_REGISTER`` and, for the row it writes, the registrant's mail (PostgreSQL only: a
    ``WITH`` may write there). Built once."""
    registered = _REGISTER.cte("registered")
    status = Registration.__table__.c.status
    told = mailed_when_sent_for_each(
        registered,
        person_id=bindparam("person_id", type_=Registration.__table__.c.person_id.type),
        writer="registration",
        argument=registered.c.id,
        chosen=registered.c.status == bindparam("status_if_seated", type_=status.type),
    )
    return (
        select(registered.c.id, registered.c.status)
        .add_cte(told.cte("told"))
        .execution_options(**{WRITES_IN_WITH: (Registration.__table__, told.table)})
    )


#: Columns a new registration leaves empty.
_UNSET_AT_REGISTRATION = (
    "cancelled_at",
    "decided_by_id",
    "checked_in_at",
    "checked_in_by_id",
    "reminder_sent_at",
)

"""Seats held for payment: released when the hold lapses, confirmed when the payment arrives
(rule 6), given back when a payment arrives late and a seat is still free."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from portal.db import utcnow
from portal.events.mail import tell_registrant
from portal.events.models import Event, Registration, RegistrationStatus
from portal.events.organizers import announce_registration
from portal.events.registering import live_registration
from portal.events.seats import lock_event, seats_left
from portal.events.waitlist import promote_in_turn
from portal.extensions import db


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
        tell_registrant(registration, "events/registration_hold_expired")
        announce_registration("cancel", registration, registration.event)
        events[registration.event_id] = registration.event
        released += 1
        db.session.commit()
    for event in sorted(events.values(), key=lambda e: e.id):
        lock_event(event)
        promote_in_turn(event, moment)
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
    tell_registrant(registration)
    return True


def reinstate_paid(registration: Registration, *, now: datetime | None = None) -> bool:
    """A payment arrived after the hold lapsed: give the seat back if one is still free.

    False when the seat has gone (the caller refunds), the person registered again, or
    deleted their account (a card payment they had started may still succeed).
    """
    event = registration.event
    lock_event(event)
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
    tell_registrant(registration)
    return True

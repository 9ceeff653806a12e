"""The waitlist: freed seats go to those waiting, in order (rule 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.db import utcnow
from portal.events.mail import tell_registrant
from portal.events.models import Event, EventStatus, Registration, RegistrationStatus
from portal.events.seats import allocate, lock_event, seats_left
from portal.extensions import db


def promote_in_turn(event: Event, moment: datetime) -> list[Registration]:
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
        allocate(registration, moment, seat_free=True)
        db.session.flush()
        promoted.append(registration)
        tell_registrant(registration, "events/registration_promoted")
    return promoted


def promote_waitlist(event: Event, *, now: datetime | None = None) -> list[Registration]:
    """Take the locks and fill free seats from the waitlist, in order; commits."""
    if event.status != EventStatus.PUBLISHED:
        return []
    lock_event(event)
    promoted = promote_in_turn(event, now or utcnow())
    db.session.commit()
    return promoted

"""The organizers' decisions on one registration: approve, reject, a seat out of turn.
Each is audited (rule 7) and told to the registrant (rule 8)."""

from __future__ import annotations

from datetime import datetime

from portal.accounts.models import Person
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition
from portal.events.mail import tell_registrant
from portal.events.models import Registration, RegistrationStatus
from portal.events.organizers import record_decision, require_organizer
from portal.events.seats import allocate, lock_event, seats_left
from portal.extensions import db
from portal.language import gettext as _


def approve_registration(
    registration: Registration, *, actor: Person, now: datetime | None = None
) -> None:
    """Accept a pending registration: a seat if one is free, else the waitlist."""
    event = registration.event
    require_organizer(actor, event)
    if registration.status != RegistrationStatus.PENDING_APPROVAL:
        raise InvalidTransition(_("Only pending registrations can be approved."))
    moment = now or utcnow()
    lock_event(event)
    db.session.refresh(registration)
    if registration.status != RegistrationStatus.PENDING_APPROVAL:
        raise InvalidTransition(_("Only pending registrations can be approved."))
    allocate(registration, moment, seat_free=seats_left(event, registration.ticket_type) > 0)
    registration.decided_by_id = actor.id
    record_decision("approve", registration, actor, result=registration.status)
    tell_registrant(registration)
    db.session.commit()


def reject_registration(registration: Registration, *, actor: Person, reason: str) -> None:
    event = registration.event
    require_organizer(actor, event)
    if registration.status != RegistrationStatus.PENDING_APPROVAL:
        raise InvalidTransition(_("Only pending registrations can be rejected."))
    if not reason.strip():
        raise InvalidInput(_("Give a reason; the person will see it."))
    registration.status = RegistrationStatus.REJECTED.value
    registration.decision_reason = reason.strip()
    registration.decided_by_id = actor.id
    record_decision("reject", registration, actor, reason=reason)
    tell_registrant(registration)
    db.session.commit()


def move_off_waitlist(
    registration: Registration, *, actor: Person, now: datetime | None = None
) -> None:
    """An organizer gives a waitlisted person a seat out of turn, if one is free."""
    event = registration.event
    require_organizer(actor, event)
    if registration.status != RegistrationStatus.WAITLISTED:
        raise InvalidTransition(_("This person is not on the waitlist."))
    lock_event(event)
    if seats_left(event, registration.ticket_type) <= 0:
        db.session.rollback()
        raise InvalidTransition(
            _("No seat is free. Raise the capacity or cancel a registration first.")
        )
    allocate(registration, now or utcnow(), seat_free=True)
    registration.decided_by_id = actor.id
    record_decision("promote", registration, actor)
    tell_registrant(registration, "events/registration_promoted")
    db.session.commit()

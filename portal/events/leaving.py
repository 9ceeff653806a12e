"""Leaving an event: a registrant or an organizer cancels, or a person leaves the portal; the
seats freed go to the waitlist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.db import utcnow
from portal.errors import InvalidTransition, NotFound
from portal.events.mail import tell_registrant
from portal.events.models import LIVE_STATES, Event, EventStatus, Registration, RegistrationStatus
from portal.events.organizers import announce_registration, can_manage_event, record_decision
from portal.events.seats import lock_event
from portal.events.waitlist import promote_in_turn
from portal.extensions import db
from portal.language import gettext as _
from portal.locking import lock_rows


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
        record_decision("cancel", registration, actor, reason=reason)
    else:
        announce_registration("cancel", registration, event)
    tell_registrant(registration)
    db.session.flush()
    if freed:
        lock_event(event)
        promote_in_turn(event, moment)
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
        announce_registration("cancel", registration, registration.event)
    db.session.flush()
    for event in freed.values():
        if event.status == EventStatus.PUBLISHED and moment < event.ends_at:
            promote_in_turn(event, moment)
    return len(ended)

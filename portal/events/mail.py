"""What registrants are told: each change to their registration (rule 8), the reminder
before the event, and the organizers' messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidInput
from portal.events import calendar
from portal.events.models import Event, EventStatus, Registration, RegistrationStatus
from portal.events.organizers import require_organizer
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.services import (
    ChosenMail,
    WrittenWhenSent,
    external_url,
    mail_person,
    mail_person_when_sent,
    mail_writer,
)


def tell_registrant(
    registration: Registration,
    template: str | None = None,
) -> None:
    """Mail the registrant about their registration's current state (rule 8); the mail
    worker writes it when it sends it (``registration_mail_context``)."""
    person = registration.person or db.session.get(Person, registration.person_id)
    told, attachments = registrant_mail(
        registration.status, registration.event_id, registration.code
    )
    mail_person_when_sent(
        person,
        template or told,
        WrittenWhenSent("registration", str(registration.id)),
        attachments=attachments,
    )


#: The mail a registrant is sent when their registration becomes …
_TOLD_OF = {
    RegistrationStatus.CONFIRMED: "events/registration_confirmed",
    RegistrationStatus.AWAITING_PAYMENT: "events/registration_awaiting_payment",
    RegistrationStatus.WAITLISTED: "events/registration_waitlisted",
    RegistrationStatus.PENDING_APPROVAL: "events/registration_pending",
    RegistrationStatus.CANCELLED: "events/registration_cancelled",
    RegistrationStatus.REJECTED: "events/registration_rejected",
}


def registrant_mail(status: str, event_id: int, code: str) -> ChosenMail:
    """The template and attachments of the mail telling a registrant their registration (for
    ``event_id``, its ticket ``code``) became ``status``: the ticket itself once confirmed."""
    state = RegistrationStatus(status)
    attachments = (
        calendar.ticket_attachments(event_id, code) if state == RegistrationStatus.CONFIRMED else ()
    )
    return _TOLD_OF[state], attachments


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
        tell_registrant(registration, "events/reminder")
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
    require_organizer(actor, event)
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
        mail_person(
            registration.person,
            "events/message",
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

"""Check-in at the door: a ticket's code, checked once (rule 7: audited)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from portal.accounts.models import Person
from portal.db import utcnow
from portal.errors import InvalidTransition, NotFound
from portal.events.labels import registration_status_label
from portal.events.models import Event, Registration, RegistrationStatus
from portal.events.organizers import record_decision, require_organizer
from portal.extensions import db
from portal.language import gettext as _
from portal.timefmt import moment


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
    require_organizer(actor, event)
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
                time=moment(registration.checked_in_at, event.timezone),
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
    record_decision("check_in", registration, actor)
    db.session.commit()
    db.session.refresh(registration)
    return registration

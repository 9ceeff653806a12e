"""Which event and registration a management page is about, and what the actor may do there.

An event's organizers (staff; partner admins of its host or co-hosts, as
``organizers.can_manage_event`` says) see and do everything; the admin of another partner
may read the registrations of their own verified members of an event that is not a draft
(``queries.viewable_registrations_query``) and do nothing; anything else is a 404 (rule 4).
"""

from __future__ import annotations

from flask import abort

from portal.events import queries
from portal.events.models import Event, EventStatus, Registration
from portal.events.organizers import can_manage_event
from portal.extensions import db
from portal.pages import acting_person


def _event(slug: str) -> Event:
    return queries.event_by_slug(slug) or abort(404)


def managed_event(slug: str) -> Event:
    """The event, if the actor organizes it; else 404."""
    event = _event(slug)
    if not can_manage_event(acting_person(), event):
        abort(404)
    return event


def readable_event(slug: str) -> tuple[Event, bool]:
    """The event and whether the actor organizes it. Other partners' admins may read the
    registrations of their own members of an event that is not a draft."""
    actor = acting_person()
    event = _event(slug)
    if can_manage_event(actor, event):
        return event, True
    if actor.administered_organization_id is None or event.status == EventStatus.DRAFT:
        abort(404)
    return event, False


def registration_of(event: Event, registration_id: int) -> Registration:
    """A registration of this event; any other id is a 404."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    return registration

"""Who organizes an event: the actor the organizers' actions are allowed to, how their
decisions on registrations are recorded, and how registrants' own steps are announced."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import Person
from portal.audit.services import announce, record
from portal.errors import NotFound
from portal.events.models import Event, Registration
from portal.language import gettext as _


def can_manage_event(actor: Person | None, event: Event) -> bool:
    """Staff manage every event; a partner admin those their organization hosts or co-hosts."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_staff:
        return True
    organization_id = actor.administered_organization_id
    return organization_id is not None and organization_id in event.organizer_ids


def require_organizer(actor: Person, event: Event) -> None:
    """NotFound for anyone but the event's organizers: others do not learn of it (rule 4)."""
    if not can_manage_event(actor, event):
        raise NotFound(_("Not found."))


def record_decision(action: str, registration: Registration, actor: Person, **details: Any) -> None:
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


def announce_registration(action: str, registration: Registration, event: Event) -> None:
    """A registrant's own step (registering, cancelling, leaving), news to the organizers'
    systems but no decision to audit (rule 7): announced in the current transaction, so
    their webhooks go out only if it commits. Organized as ``record_decision`` is."""
    announce(
        f"registration.{action}",
        subject_type="registration",
        subject_id=registration.id,
        organization_id=event.host_id,
        event=event.id,
    )

"""The events' section of the member's dashboard (``portal.accounts.dashboard``): the
person's upcoming registrations, each with its ticket."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent, shared_read
from portal.accounts.models import Person
from portal.events.queries import registrations_to_show, upcoming_registrations


def events_section(person: Person) -> SectionContent:
    shown = shared_read("registrations", lambda: registrations_to_show(person))
    registrations = upcoming_registrations(person, shown)
    if not registrations:
        return None
    return "events/_dashboard.html", {"registrations": registrations}


SECTION = Section(position=20, name="events", provider=events_section)

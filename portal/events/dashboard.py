"""The events' section of the member's dashboard (``portal.accounts.dashboard``): the
person's upcoming registrations, each with its ticket."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent
from portal.accounts.models import Person
from portal.events.queries import upcoming_registrations


def events_section(person: Person) -> SectionContent:
    registrations = upcoming_registrations(person)
    if not registrations:
        return None
    return "events/_dashboard.html", {"registrations": registrations}


SECTION = Section(position=20, name="events", provider=events_section)

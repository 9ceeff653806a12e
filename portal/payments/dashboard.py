"""The payments' section of the member's dashboard (``portal.accounts.dashboard``): seats held
until they are paid, with the deadline and a button to pay, or the invoice to settle."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent, shared_read
from portal.accounts.models import Person
from portal.events.queries import registrations_to_show
from portal.payments.queries import payments_due


def payments_section(person: Person) -> SectionContent:
    # The events' section shows the same read: one statement for both.
    due = payments_due(person, shared_read("registrations", lambda: registrations_to_show(person)))
    if not due:
        return None
    return "payments/_dashboard.html", {"due": due}


SECTION = Section(position=10, name="payments", provider=payments_section)

"""The payments' section of the member's dashboard (``portal.accounts.dashboard``): seats held
until they are paid, with the deadline and a button to pay, or the invoice to settle."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent
from portal.accounts.models import Person
from portal.payments.queries import payments_due


def payments_section(person: Person) -> SectionContent:
    due = payments_due(person)
    if not due:
        return None
    return "payments/_dashboard.html", {"due": due}


SECTION = Section(position=10, name="payments", provider=payments_section)

"""The benefits' section of the member's dashboard (``portal.accounts.dashboard``): what the
person's verified memberships open, and their latest claims."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent
from portal.accounts.models import Person
from portal.accounts.queries import services_opened_by
from portal.benefits.queries import claims_of

#: Claims shown on the dashboard; the claims page has them all.
LATEST_CLAIMS = 5


def benefits_section(person: Person) -> SectionContent:
    return "benefits/_dashboard.html", {
        "opened": services_opened_by(person),
        "claims": claims_of(person, limit=LATEST_CLAIMS),
    }


SECTION = Section(position=10, name="benefits", provider=benefits_section)

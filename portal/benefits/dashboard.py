"""The benefits' section of the member's dashboard (``portal.accounts.dashboard``): the claims
a provider decided since the member's last visit, with how to use what was granted. The
catalogue of what memberships open is on ``/benefits``."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent, news_since
from portal.accounts.models import Person
from portal.benefits.queries import decided_since


def benefits_section(person: Person) -> SectionContent:
    decided = decided_since(person, news_since(person))
    if not decided:
        return None
    return "benefits/_dashboard.html", {"decided": decided}


SECTION = Section(position=30, name="benefits", provider=benefits_section, news=True)

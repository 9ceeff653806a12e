"""The dues section of the member's dashboard (``accounts.dashboard``)."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent
from portal.accounts.models import Person
from portal.dues.queries import standing_of


def _section(person: Person) -> SectionContent:
    member_plan, application = standing_of(person)
    return "dues/_dashboard.html", {"member_plan": member_plan, "application": application}


# Where the person stands with LINK-J (member, applying, or not yet): never "what needs you".
SECTION = Section(position=15, name="dues", provider=_section, informs=True)

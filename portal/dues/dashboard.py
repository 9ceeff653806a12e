"""The dues section of the member's dashboard (``accounts.dashboard``)."""

from __future__ import annotations

from portal.accounts.dashboard import Section, SectionContent
from portal.accounts.models import Person
from portal.dues.changes import current_member_plan
from portal.dues.queries import applications_of


def _section(person: Person) -> SectionContent:
    member_plan = current_member_plan(person)
    applications = applications_of(person)
    return "dues/_dashboard.html", {
        "member_plan": member_plan,
        "application": applications[0] if applications else None,
    }


SECTION = Section(position=15, name="dues", provider=_section)

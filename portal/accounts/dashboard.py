"""The member's dashboard answers "what needs me?"; it shows the areas built on accounts,
which accounts may not import.

Each such area registers a section here: a function of the signed-in person that answers
the template of its section and that template's context, or None when it has nothing to
show that person (an empty section is never shown: the page stays short). The application
factory registers them (``portal.register_area_hooks``); the dashboard shows them in
``position`` order, after the steps accounts itself asks of the person and before their
memberships and account settings.

A section marked ``news`` shows what changed since the person's last visit (claims
decided): once the dashboard showed any news, the visit is recorded, and the next visit
shows only what happened after it. A section marked ``informs`` says where the person stands
(their LINK-J membership) rather than what needs them: shown, but the dashboard still says
that nothing needs them when no other section or step does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from flask import g, render_template
from markupsafe import Markup

from portal.db import utcnow
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Membership, Person

#: What a section provider answers: ``(template, context)``, or None to show nothing.
SectionContent = tuple[str, Mapping[str, Any]] | None

#: A verified membership ending within this many days is shown as a step to take.
EXPIRY_NOTICE_DAYS = 60
#: On a first visit, "news" reaches this far back.
FIRST_VISIT_NEWS_DAYS = 30


@dataclass(frozen=True)
class Section:
    #: Shown in ascending order.
    position: int
    #: The area's name; registering the same name again replaces its section.
    name: str
    provider: Callable[[Person], SectionContent]
    #: Shows what happened since the last visit (see the module's docstring).
    news: bool = False
    #: Shows where the person stands, not something to do (see the module's docstring).
    informs: bool = False


@dataclass
class Rendered:
    sections: list[Markup] = field(default_factory=list)
    #: Whether a ``news`` section had something to show.
    news_shown: bool = False
    #: Whether a section other than an ``informs`` one had something to show.
    needs_shown: bool = False


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add a section (again: an app built twice replaces it rather than showing it twice)."""
    _SECTIONS[section.name] = section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.position, section.name))


def render_sections(person: Person) -> Rendered:
    """The registered sections that have something for the person, rendered in order."""
    rendered = Rendered()
    g.dashboard_reads = {}
    try:
        for section in sections():
            content = section.provider(person)
            if content is not None:
                template, context = content
                html = render_template(template, person=person, **context)
                rendered.sections.append(Markup(html))  # noqa: S704 - escaped by autoescape
                rendered.news_shown |= section.news
                rendered.needs_shown |= not section.informs
    finally:
        g.pop("dashboard_reads", None)
    return rendered


Read = TypeVar("Read")


def shared_read(name: str, read: Callable[[], Read]) -> Read:
    """A read that several sections show parts of (the person's registrations: upcoming
    events, seats to pay for), made once per rendering of the dashboard: every statement
    counts on the page members open most. Outside a rendering, made each time."""
    reads = g.get("dashboard_reads")
    if reads is None:
        return read()
    if name not in reads:
        reads[name] = read()
    return reads[name]  # type: ignore[no-any-return]


def news_since(person: Person) -> datetime:
    """The moment after which a change is news to the person: their last visit that showed
    news, or a month back on a first visit."""
    return person.dashboard_seen_at or utcnow() - timedelta(days=FIRST_VISIT_NEWS_DAYS)


def record_visit(person: Person) -> None:
    """The person saw the news: what it showed is no longer new on their next visit."""
    person.dashboard_seen_at = utcnow()
    db.session.commit()


# --- the steps accounts itself asks of the person -----------------------------------------------


@dataclass(frozen=True)
class Step:
    """Something the person should do, with the membership it concerns, if any."""

    kind: str  # confirm_email, claim_membership, renew, pending, rejected, profile
    membership: Membership | None = None
    until: date | None = None


def steps_for(person: Person, today_at: Callable[[Membership], date]) -> list[Step]:
    """What needs the person in their own account, most pressing first. ``today_at`` gives
    today's date where a membership's organization is (its year ends at its midnight)."""
    steps: list[Step] = []
    if not person.email_confirmed:
        steps.append(Step("confirm_email"))
    live = False
    for membership in person.memberships:
        status = membership.effective_status(today_at(membership))
        if status == "verified":
            live = True
            until = membership.valid_until
            if until and until - today_at(membership) <= timedelta(days=EXPIRY_NOTICE_DAYS):
                steps.append(Step("renew", membership, until))
        elif status == "pending":
            live = True
            steps.append(Step("pending", membership))
    if not live:
        steps.append(Step("claim_membership"))
    if not person.affiliation.strip():
        steps.append(Step("profile"))
    return steps

"""The member's dashboard shows the areas built on accounts, which accounts may not import.

Each such area registers a section here: a function of the signed-in person that answers
the template of its section and that template's context, or None when it has nothing to
show that person. The application factory registers them (``portal.register_area_hooks``);
the dashboard shows them in ``position`` order, between the person's memberships and their
account settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import render_template
from markupsafe import Markup

if TYPE_CHECKING:
    from portal.accounts.models import Person

#: What a section provider answers: ``(template, context)``, or None to show nothing.
SectionContent = tuple[str, Mapping[str, Any]] | None


@dataclass(frozen=True)
class Section:
    #: Shown in ascending order.
    position: int
    #: The area's name; registering the same name again replaces its section.
    name: str
    provider: Callable[[Person], SectionContent]


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add a section (again: an app built twice replaces it rather than showing it twice)."""
    _SECTIONS[section.name] = section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.position, section.name))


def render_sections(person: Person) -> list[Markup]:
    """The registered sections that have something for the person, rendered in order."""
    rendered = []
    for section in sections():
        content = section.provider(person)
        if content is not None:
            template, context = content
            html = render_template(template, person=person, **context)
            rendered.append(Markup(html))  # noqa: S704 - escaped by the template's autoescape
    return rendered

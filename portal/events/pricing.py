"""Who may see an event, which ticket types are open to them, at what price and why.

One place decides this (rule 3): the event pages, the registration service, the
staff tools and any later API all call ``offers_for`` and ``can_see``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.accounts.memberships import today
from portal.accounts.models import Membership, Person
from portal.events.models import Audience, Event, TicketType, Visibility
from portal.language import gettext as _
from portal.organizations.models import Agreement, OrganizationKind


@dataclass(frozen=True)
class TicketOffer:
    ticket_type: TicketType
    #: Why this ticket is open: ``{"audience", "organization", "agreement"}`` (slugs).
    reason: dict[str, Any]
    #: The MOU a partner-member rate is under, as loaded with the event: the price's
    #: description names it without looking it up again.
    agreement: Agreement | None = None

    @property
    def price(self) -> int:
        return self.ticket_type.price

    @property
    def description(self) -> str:
        return describe_reason(self.reason, self.agreement)


def _verified(person: Person | None) -> list[Membership]:
    if person is None or not person.is_authenticated:
        return []
    return [m for m in person.memberships if m.is_verified_on(today(m.organization))]


def _agreements_in_force(membership: Membership, event: Event) -> list[Agreement]:
    """MOUs in force between LINK-J and the membership's partner that the event runs under."""
    organization = membership.organization
    on: date = today(organization)
    candidates = event.agreements or organization.agreements_as_partner
    return [a for a in candidates if a.partner_id == organization.id and a.is_in_force(on)]


def is_linkj_member(person: Person | None) -> bool:
    return any(m.organization.kind == OrganizationKind.HUB for m in _verified(person))


def partner_agreements(person: Person | None, event: Event) -> list[Agreement]:
    """The MOUs under which the person is a partner member for this event."""
    found: list[Agreement] = []
    for membership in _verified(person):
        if membership.organization.kind == OrganizationKind.PARTNER:
            found.extend(_agreements_in_force(membership, event))
    return found


def audience_of(person: Person) -> tuple[tuple[tuple[str, int | None], ...], tuple[int, ...]]:
    """All of a signed-in person that ``can_see`` and ``offers_for`` read (rule 3): the roles
    they hold and the organizations whose membership of theirs is verified today. Two people
    with the same audience see the same events with the same tickets and prices, so the page
    cache keeps those pages once for both (``portal.pagecache``)."""
    roles = tuple(sorted((str(g.role), g.organization_id) for g in person.role_grants))
    verified = tuple(sorted(m.organization_id for m in _verified(person)))
    return roles, verified


def _is_organizer(person: Person | None, event: Event) -> bool:
    if person is None or not person.is_authenticated:
        return False
    return person.is_staff or (person.administered_organization_id in event.organizer_ids)


def can_see(person: Person | None, event: Event) -> bool:
    """Rule 3 for visibility: public events for all; network and LINK-J events for the
    members they are meant for; drafts and everything for the event's organizers."""
    if _is_organizer(person, event):
        return True
    if event.status == "draft":
        return False
    if event.visibility == Visibility.PUBLIC:
        return True
    if event.visibility == Visibility.LINKJ:
        return is_linkj_member(person)
    return is_linkj_member(person) or bool(partner_agreements(person, event))


def offers_for(person: Person | None, event: Event) -> list[TicketOffer]:
    """The active ticket types open to this person, cheapest first, each with its reason."""
    if not can_see(person, event):
        return []
    linkj = is_linkj_member(person)
    under = partner_agreements(person, event)
    offers: list[TicketOffer] = []
    for ticket in event.ticket_types:
        if not ticket.active:
            continue
        audience = Audience(ticket.audience)
        if audience == Audience.LINKJ_MEMBER and linkj:
            offers.append(
                TicketOffer(ticket, {"audience": audience.value, "organization": "link-j"})
            )
        elif audience == Audience.PARTNER_MEMBER:
            matching = [a for a in under if ticket.agreement_id in (None, a.id)]
            if matching:
                agreement = matching[0]
                offers.append(
                    TicketOffer(
                        ticket,
                        {
                            "audience": audience.value,
                            "organization": agreement.partner.slug,
                            "agreement": agreement.slug,
                        },
                        agreement,
                    )
                )
        elif audience in (Audience.NON_MEMBER, Audience.STUDENT):
            offers.append(TicketOffer(ticket, {"audience": audience.value}))
    return sorted(offers, key=lambda o: (o.price, o.ticket_type.position, o.ticket_type.id))


def describe_reason(reason: dict[str, Any], agreement: Agreement | None = None) -> str:
    """The reason for a price, as a sentence in the viewer's language. ``agreement``: the MOU
    the reason names, when the caller has it loaded (else it is looked up by its slug)."""
    audience = reason.get("audience")
    if audience == Audience.LINKJ_MEMBER:
        return _("LINK-J member rate")
    if audience == Audience.PARTNER_MEMBER:
        slug = reason.get("agreement", "")
        label = (
            f"{agreement.hub.short_name}–{agreement.partner.short_name}"
            if agreement is not None and agreement.slug == slug
            else _agreement_label(slug)
        )
        return _("Partner-member rate under the %(agreement)s MOU", agreement=label)
    if audience == Audience.STUDENT:
        return _("Student rate")
    return _("Standard rate")


def _agreement_label(slug: str) -> str:
    # "link-j-biocom-2016" → "LINK-J–BIOCOM"; the slug is stable and readable.
    from sqlalchemy import select

    from portal.extensions import db

    agreement = db.session.scalar(select(Agreement).where(Agreement.slug == slug))
    if agreement is None:
        return slug
    return f"{agreement.hub.short_name}–{agreement.partner.short_name}"

"""LINK-J (the hub) and a person's membership of it, as the dues area needs them."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import LIVE_MEMBERSHIP_STATES, Membership, MembershipStatus, Person
from portal.errors import NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import Organization, OrganizationKind


def hub() -> Organization:
    organization = db.session.scalar(
        select(Organization).where(Organization.kind == OrganizationKind.HUB)
    )
    if organization is None:
        raise NotFound(_("Not found."))
    return organization


def live_hub_membership(person: Person, *, verified_only: bool = False) -> Membership | None:
    """The person's pending or verified LINK-J membership (verified only, if asked)."""
    states = (MembershipStatus.VERIFIED,) if verified_only else LIVE_MEMBERSHIP_STATES
    return next(
        (
            m
            for m in person.memberships
            if m.organization.kind == OrganizationKind.HUB and m.status in states
        ),
        None,
    )

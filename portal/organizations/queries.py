"""Read-only queries of the network pages, public and management, each loading what its page
shows. The management ones are scoped to the actor (rule 4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.organizations.models import (
    Agreement,
    Organization,
    OrganizationKind,
    ReciprocalService,
)

if TYPE_CHECKING:
    from portal.accounts.models import Person

_agreement_with_services = (
    selectinload(Agreement.services).selectinload(ReciprocalService.provider),
    selectinload(Agreement.services).selectinload(ReciprocalService.beneficiary),
    selectinload(Agreement.hub),
    selectinload(Agreement.partner),
)


def get_hub() -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.kind == OrganizationKind.HUB))


def list_partners(country: str | None = None) -> list[Organization]:
    """Partners in the order their first MOU was signed, optionally in one country."""
    query = (
        select(Organization)
        .where(Organization.kind == OrganizationKind.PARTNER)
        .options(selectinload(Organization.agreements_as_partner))
    )
    if country:
        query = query.where(Organization.country == country.upper())
    partners = list(db.session.scalars(query))
    return sorted(
        partners,
        key=lambda o: (
            min((a.signed_on for a in o.agreements_as_partner), default=None)
            or o.created_at.date(),
            o.slug,
        ),
    )


def network_overview() -> tuple[Organization | None, list[Organization]]:
    """LINK-J and its partners as the home page shows them."""
    return get_hub(), list_partners()


def partner_countries() -> list[str]:
    return list(
        db.session.scalars(
            select(Organization.country)
            .where(Organization.kind == OrganizationKind.PARTNER)
            .distinct()
            .order_by(Organization.country)
        )
    )


def get_organization(slug: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def agreements_of(organization: Organization) -> list[Agreement]:
    """The MOUs an organization is party to, newest first, with their clauses."""
    return list(
        db.session.scalars(
            select(Agreement)
            .where(
                or_(Agreement.hub_id == organization.id, Agreement.partner_id == organization.id)
            )
            .options(*_agreement_with_services)
            .order_by(Agreement.signed_on.desc(), Agreement.id)
        )
    )


def get_agreement(slug: str) -> Agreement | None:
    return db.session.scalar(
        select(Agreement).where(Agreement.slug == slug).options(*_agreement_with_services)
    )


def services_by_direction(
    agreement: Agreement,
) -> list[tuple[Organization, Organization, list[ReciprocalService]]]:
    """The MOU's clauses grouped as (provider, beneficiary, services): partner's side second."""
    directions: dict[tuple[int, int], list[ReciprocalService]] = {}
    for service in agreement.services:
        directions.setdefault((service.provider_id, service.beneficiary_id), []).append(service)
    by_id = {agreement.hub_id: agreement.hub, agreement.partner_id: agreement.partner}
    ordered = [(agreement.partner_id, agreement.hub_id), (agreement.hub_id, agreement.partner_id)]
    return [
        (by_id[p], by_id[b], sorted(directions.get((p, b), []), key=lambda s: s.position))
        for p, b in ordered
    ]


# --- the management pages -------------------------------------------------------------------


def agreements_for_admin(actor: Person) -> list[Agreement]:
    """Staff see every MOU; a partner admin their own organization's (rule 4)."""
    query = (
        select(Agreement)
        .options(joinedload(Agreement.hub), joinedload(Agreement.partner))
        .order_by(Agreement.signed_on, Agreement.id)
    )
    if not actor.is_staff:
        query = query.where(Agreement.partner_id == actor.administered_organization_id)
    return list(db.session.scalars(query))


def agreement_for_admin(actor: Person, slug: str) -> Agreement | None:
    """The MOU with its services, if the actor may see it; None (→ 404) otherwise."""
    agreement = db.session.scalar(
        select(Agreement)
        .where(Agreement.slug == slug)
        .options(
            joinedload(Agreement.hub),
            joinedload(Agreement.partner),
            selectinload(Agreement.services).joinedload(ReciprocalService.provider),
            selectinload(Agreement.services).joinedload(ReciprocalService.beneficiary),
        )
    )
    if agreement is None:
        return None
    if not actor.is_staff and agreement.partner_id != actor.administered_organization_id:
        return None
    return agreement


def organizations() -> list[Organization]:
    return list(
        db.session.scalars(select(Organization).order_by(Organization.kind, Organization.id))
    )

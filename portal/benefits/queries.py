"""Read-only queries of the benefit pages, scoped to the actor (rule 4).

Each loads what its page shows in a fixed number of statements, whatever the row count.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.audit import queries as audit_queries
from portal.audit.models import AuditEntry
from portal.benefits.catalogue import can_manage_service
from portal.benefits.eligibility import Eligibility, eligibility, load_facts
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.benefits.services import can_view_claims, visible_providers
from portal.extensions import db
from portal.organizations.models import (
    Agreement,
    AgreementStatus,
    Organization,
    ReciprocalService,
)

PAGE_SIZE = 50

_service_with_parties = (
    joinedload(ReciprocalService.agreement).joinedload(Agreement.hub),
    joinedload(ReciprocalService.agreement).joinedload(Agreement.partner),
    joinedload(ReciprocalService.provider),
    joinedload(ReciprocalService.beneficiary),
)


# --- the member's catalogue and claims ------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    service: ReciprocalService
    eligibility: Eligibility


@dataclass(frozen=True)
class Direction:
    provider: Organization
    beneficiary: Organization
    offers: list[Offer]


@dataclass(frozen=True)
class CatalogueSection:
    agreement: Agreement
    directions: list[Direction]


def catalogue(person: Person) -> list[CatalogueSection]:
    """The claimable services of live MOUs for the organizations the person is a member of
    (any state: a pending member sees what verification will open), each with its
    eligibility; every claimable service when the person has no membership at all.
    Grouped by MOU, then by provider. Three statements, however many services: the
    memberships are the ones read with the person."""
    member_of = sorted({m.organization_id for m in person.memberships})
    services = list(
        db.session.scalars(
            _claimable_services(for_members=bool(member_of)), {"beneficiaries": member_of}
        ).unique()
    )
    facts = load_facts(person, services, memberships=person.memberships)
    sections: dict[int, CatalogueSection] = {}
    for service in services:
        section = sections.setdefault(service.agreement_id, CatalogueSection(service.agreement, []))
        if not section.directions or section.directions[-1].provider.id != service.provider_id:
            section.directions.append(Direction(service.provider, service.beneficiary, []))
        section.directions[-1].offers.append(
            Offer(service, eligibility(person, service, facts=facts))
        )
    return list(sections.values())


@functools.cache
def _claimable_services(*, for_members: bool) -> Select:
    """The catalogue's statement, built once per process (building it, with its parties'
    joins, cost about as much as running it): every claimable service of a live MOU, or
    with ``for_members`` those whose beneficiary is one of ``beneficiaries``."""
    query = (
        select(ReciprocalService)
        .join(ReciprocalService.agreement)
        .where(
            ReciprocalService.claimable.is_(True),
            Agreement.status.in_([AgreementStatus.ACTIVE.value, AgreementStatus.SUSPENDED.value]),
        )
        .options(*_service_with_parties)
        .order_by(
            Agreement.signed_on,
            Agreement.id,
            ReciprocalService.provider_id,
            ReciprocalService.position,
            ReciprocalService.id,
        )
    )
    if for_members:
        query = query.where(
            ReciprocalService.beneficiary_id.in_(bindparam("beneficiaries", expanding=True))
        )
    return query


def claims_of(person: Person, *, limit: int | None = None) -> list[BenefitClaim]:
    """The person's claims, newest first, with their services and providers."""
    query = (
        select(BenefitClaim)
        .where(BenefitClaim.person_id == person.id)
        .options(joinedload(BenefitClaim.service).options(*_service_with_parties))
        .order_by(BenefitClaim.created_at.desc(), BenefitClaim.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query).unique())


#: At most this many decisions are listed as news on the dashboard (the claims page has all).
NEWS_LIMIT = 10


def decided_since(person: Person, since: datetime) -> list[BenefitClaim]:
    """The person's claims a provider decided after ``since``, latest first (granted at once
    on request is no news: the member saw it as they claimed)."""
    return list(
        db.session.scalars(_decided_since(), {"person_id": person.id, "since": since}).unique()
    )


@functools.cache
def _decided_since() -> Select:
    # Built once: every dashboard runs it.
    return (
        select(BenefitClaim)
        .where(
            BenefitClaim.person_id == bindparam("person_id"),
            BenefitClaim.decided_by_id.is_not(None),
            BenefitClaim.decided_at
            > bindparam("since", type_=BenefitClaim.__table__.c.decided_at.type),
        )
        .options(joinedload(BenefitClaim.service).options(*_service_with_parties))
        .order_by(BenefitClaim.decided_at.desc(), BenefitClaim.id.desc())
        .limit(NEWS_LIMIT)
    )


def own_claim(person: Person, claim_id: int) -> BenefitClaim | None:
    """The claim, if it is the person's; None (→ 404) otherwise."""
    return db.session.scalar(
        select(BenefitClaim).where(BenefitClaim.id == claim_id, BenefitClaim.person_id == person.id)
    )


def service_for_member(service_id: int) -> ReciprocalService | None:
    return db.session.scalar(
        select(ReciprocalService)
        .where(ReciprocalService.id == service_id)
        .options(*_service_with_parties)
    )


# --- providers deciding claims --------------------------------------------------------------

CLAIM_FILTERS = ("requested", "approved", "fulfilled", "rejected", "cancelled", "all")


def claims_for_admin(actor: Person, *, status: str, page: int = 1) -> Pagination:
    """One page of the claims on services the actor may see: open ones oldest first."""
    query = (
        select(BenefitClaim)
        .join(BenefitClaim.service)
        .where(visible_providers(actor))
        .options(
            joinedload(BenefitClaim.person),
            joinedload(BenefitClaim.service).options(*_service_with_parties),
        )
    )
    if status != "all":
        query = query.where(BenefitClaim.status == ClaimStatus(status).value)
    if status == "requested":
        query = query.order_by(BenefitClaim.created_at, BenefitClaim.id)
    else:
        query = query.order_by(BenefitClaim.created_at.desc(), BenefitClaim.id.desc())
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)


def open_claims_count(actor: Person) -> int:
    return (
        db.session.scalar(
            select(func.count(BenefitClaim.id))
            .join(BenefitClaim.service)
            .where(visible_providers(actor), BenefitClaim.status == ClaimStatus.REQUESTED.value)
        )
        or 0
    )


def claim_for_admin(actor: Person, claim_id: int) -> BenefitClaim | None:
    """The claim, if the actor may see its provider's claims; None (→ 404) otherwise."""
    claim = db.session.scalar(
        select(BenefitClaim)
        .where(BenefitClaim.id == claim_id)
        .options(
            joinedload(BenefitClaim.person),
            joinedload(BenefitClaim.membership),
            joinedload(BenefitClaim.decided_by),
            joinedload(BenefitClaim.service).options(*_service_with_parties),
        )
    )
    if claim is None or not can_view_claims(actor, claim.service.provider):
        return None
    return claim


def claim_history(claim: BenefitClaim) -> list[AuditEntry]:
    return audit_queries.history("benefit_claim", claim.id)


# --- services in the management pages -------------------------------------------------------


def service_for_admin(actor: Person, service_id: int) -> ReciprocalService | None:
    """The service, if the actor may edit it (staff, or its provider's admin); else None."""
    service = db.session.scalar(
        select(ReciprocalService)
        .where(ReciprocalService.id == service_id)
        .options(*_service_with_parties)
    )
    if service is None or not can_manage_service(actor, service):
        return None
    return service

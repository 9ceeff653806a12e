"""Records as the API shows them: each model turned into its schema in one place."""

from __future__ import annotations

from portal.accounts.models import Membership, Person
from portal.api import schemas
from portal.benefits.models import BenefitClaim
from portal.events.models import Event, Registration
from portal.organizations.models import Agreement, Organization, ReciprocalService


def organization(o: Organization) -> schemas.OrganizationOut:
    return schemas.OrganizationOut(
        slug=o.slug,
        kind=o.kind,  # type: ignore[arg-type]
        short_name=o.short_name,
        name_en=o.name_en,
        name_ja=o.name_ja,
        country=o.country,
        timezone=o.timezone,
        website=o.website,
    )


def mou(a: Agreement, today: object) -> schemas.MouOut:
    return schemas.MouOut(
        slug=a.slug,
        hub=a.hub.slug,
        partner=a.partner.slug,
        signed_on=a.signed_on,
        status=a.status,
        valid_until=a.valid_until,
        in_force=a.is_in_force(today),  # type: ignore[arg-type]
    )


def service(s: ReciprocalService) -> schemas.ServiceOut:
    return schemas.ServiceOut(
        id=s.id,
        mou=s.agreement.slug,
        provider=s.provider.slug,
        beneficiary=s.beneficiary.slug,
        category=s.category,
        title_en=s.title_en,
        title_ja=s.title_ja,
        claimable=s.claimable,
        requires_approval=s.requires_approval,
    )


def person(p: Person) -> schemas.PersonOut:
    return schemas.PersonOut(
        email=p.email,
        family_name=p.family_name,
        given_name=p.given_name,
        romanized_name=p.romanized_name,
    )


def membership(m: Membership) -> schemas.MembershipOut:
    return schemas.MembershipOut(
        id=m.id,
        status=m.status,  # type: ignore[arg-type]
        kind=m.kind,
        member_number=m.member_number,
        person=person(m.person),
        valid_until=m.valid_until,
        verified_via=m.verified_via,
        flagged_since=m.missing_from_roster_since,
        created_at=m.created_at,
        decided_at=m.decided_at,
    )


def claim(c: BenefitClaim) -> schemas.ClaimOut:
    return schemas.ClaimOut(
        id=c.id,
        service_id=c.service_id,
        status=c.status,  # type: ignore[arg-type]
        person=person(c.person),
        period=c.period,
        created_at=c.created_at,
        decided_at=c.decided_at,
        fulfilled_at=c.fulfilled_at,
    )


def event(e: Event) -> schemas.EventOut:
    return schemas.EventOut(
        slug=e.slug,
        status=e.status,
        title_en=e.title_en,
        title_ja=e.title_ja,
        host=e.host.slug,
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        timezone=e.timezone,
        capacity=e.capacity,
    )


def registration(r: Registration) -> schemas.RegistrationOut:
    return schemas.RegistrationOut(
        id=r.id,
        status=r.status,
        code=r.code,
        person=person(r.person),
        ticket_type_id=r.ticket_type_id,
        created_at=r.created_at,
        checked_in_at=r.checked_in_at,
    )

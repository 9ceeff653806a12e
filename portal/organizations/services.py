"""Business rules for the network's organizations and agreements: loading them from the seed
document, and staff editing them.

This is the lowest area: it imports no other. Whoever acts is a person of the accounts area,
known here only by what it answers (``actor.is_staff``), so the type is imported for hints
only. The services an MOU promises are set up in ``portal.benefits.catalogue``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import available_timezones

from babel import Locale
from babel.numbers import list_currencies
from sqlalchemy import func, select

from portal.audit.services import record
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations import network
from portal.organizations.models import (
    Agreement,
    AgreementStatus,
    Organization,
    OrganizationKind,
    ReciprocalService,
    Redemption,
)

if TYPE_CHECKING:
    from portal.accounts.models import Person


@dataclass
class SeedReport:
    organizations: int = 0
    agreements: int = 0
    services: int = 0
    #: Claimable services whose empty instructions the seed wrote.
    instructions: int = 0

    @property
    def created_anything(self) -> bool:
        return bool(self.organizations or self.agreements or self.services or self.instructions)


def seed_network() -> SeedReport:
    """Load the network from the seed document; safe to run any number of times.

    Records already present (matched by slug, or by agreement, provider and category) are
    left as they are, so edits made by staff survive a later seed; only instructions that
    are empty on a claimable service are written, since a granted member reads nothing else.
    """
    report = SeedReport()
    organizations = {o.slug: o for o in db.session.scalars(select(Organization))}
    for org_seed in network.ORGANIZATIONS:
        if org_seed.slug in organizations:
            continue
        organization = Organization(**vars(org_seed))
        db.session.add(organization)
        organizations[org_seed.slug] = organization
        report.organizations += 1
    db.session.flush()

    hub = organizations[network.HUB_SLUG]
    agreements = {a.slug: a for a in db.session.scalars(select(Agreement))}
    for agreement_seed in network.AGREEMENTS:
        agreement = agreements.get(agreement_seed.slug)
        if agreement is None:
            agreement = Agreement(
                slug=agreement_seed.slug,
                hub=hub,
                partner=organizations[agreement_seed.partner],
                signed_on=agreement_seed.signed_on,
                summary_en=agreement_seed.summary_en,
                summary_ja=agreement_seed.summary_ja,
            )
            db.session.add(agreement)
            report.agreements += 1
        report.services += _seed_clauses(agreement, agreement_seed, organizations)
    db.session.flush()
    report.instructions = _seed_instructions()
    db.session.commit()
    return report


def _instructions(service: ReciprocalService) -> tuple[str, str]:
    provider, beneficiary = service.provider, service.beneficiary
    return network.instructions_for(
        provider.slug,
        service.category,
        provider=provider.short_name,
        beneficiary=beneficiary.short_name,
        website=provider.website or provider.name_en,
    )


def _seed_instructions() -> int:
    """Write the seed's instructions where a claimable service redeemed by instructions has
    none in a language (services seeded before the seed had them); staff's texts stay."""
    filled = 0
    for service in db.session.scalars(
        select(ReciprocalService).where(
            ReciprocalService.claimable.is_(True),
            ReciprocalService.redemption == Redemption.INSTRUCTIONS.value,
            (func.trim(ReciprocalService.redemption_instructions_en) == "")
            | (func.trim(ReciprocalService.redemption_instructions_ja) == ""),
        )
    ):
        text_en, text_ja = _instructions(service)
        if not service.redemption_instructions_en.strip():
            service.redemption_instructions_en = text_en
        if not service.redemption_instructions_ja.strip():
            service.redemption_instructions_ja = text_ja
        filled += 1
    return filled


def _seed_clauses(
    agreement: Agreement,
    agreement_seed: network.AgreementSeed,
    organizations: dict[str, Organization],
) -> int:
    partner = organizations[agreement_seed.partner]
    hub = organizations[network.HUB_SLUG]
    existing = {(s.provider_id, s.category) for s in agreement.services}
    created = 0
    for position, clause in enumerate(agreement_seed.clauses):
        if clause.reciprocal:
            directions = [(hub, partner), (partner, hub)]
        else:
            provider = organizations[clause.provider or network.HUB_SLUG]
            directions = [(provider, partner if provider is hub else hub)]
        text = network.CLAUSE_TEXTS[clause.category]
        for provider, beneficiary in directions:
            if (provider.id, clause.category.value) in existing:
                continue
            names = {"provider": provider.short_name, "beneficiary": beneficiary.short_name}
            service = ReciprocalService(
                provider=provider,
                beneficiary=beneficiary,
                category=clause.category.value,
                title_en=text.title_en,
                title_ja=text.title_ja,
                description_en=text.description_en.format(**names),
                description_ja=text.description_ja.format(**names),
                claimable=text.claimable,
                # The document promises these "on request": the provider decides each.
                requires_approval=text.claimable,
                position=position,
            )
            if text.claimable:
                (
                    service.redemption_instructions_en,
                    service.redemption_instructions_ja,
                ) = _instructions(service)
            agreement.services.append(service)
            created += 1
    return created


# --- staff and partner admins editing the network ------------------------------------------


def can_manage_network(actor: Person | None) -> bool:
    """Staff create and edit organizations and MOUs."""
    return actor is not None and actor.is_staff


def _require_staff(actor: Person) -> None:
    if not can_manage_network(actor):
        raise NotFound(_("Not found."))


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _check_url(value: str | None, message: str, field: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not _URL.match(value) or len(value) > 500:
        raise InvalidInput(message, field=field)
    return value


@dataclass
class OrganizationDetails:
    """What staff type about an organization (a partner; the hub exists once)."""

    slug: str
    short_name: str
    name_en: str
    name_ja: str
    country: str
    city_en: str = ""
    city_ja: str = ""
    website: str | None = None
    timezone: str = "Asia/Tokyo"
    default_currency: str = "JPY"
    membership_year_end_month: int = 3
    description_en: str = ""
    description_ja: str = ""


def _clean_organization(details: OrganizationDetails) -> dict[str, object]:
    slug = details.slug.strip().lower()
    if not _SLUG.match(slug):
        raise InvalidInput(
            _("The URL name uses lower-case letters, digits and hyphens, such as one-nucleus."),
            field="slug",
        )
    short_name = details.short_name.strip()
    if not short_name:
        raise InvalidInput(_("Enter a short name, such as BIOCOM."), field="short_name")
    name_en, name_ja = details.name_en.strip(), details.name_ja.strip()
    if not name_en and not name_ja:
        raise InvalidInput(
            _("Enter the organization's name in Japanese or English."), field="name_en"
        )
    country = details.country.strip().upper()
    if len(country) != 2 or country not in Locale("en").territories:
        raise InvalidInput(
            _("Enter the country as a two-letter ISO code, such as JP or GB."), field="country"
        )
    timezone = details.timezone.strip()
    if timezone not in available_timezones():
        raise InvalidInput(
            _("Enter a time zone such as Asia/Tokyo or Europe/London."), field="timezone"
        )
    currency = details.default_currency.strip().upper()
    if currency not in list_currencies():
        raise InvalidInput(
            _("Enter the currency as a three-letter ISO code, such as JPY."),
            field="default_currency",
        )
    if not 1 <= details.membership_year_end_month <= 12:
        raise InvalidInput(
            _("The membership year ends in a month from 1 to 12."),
            field="membership_year_end_month",
        )
    return {
        "slug": slug,
        "short_name": short_name[:40],
        "name_en": name_en or name_ja,
        "name_ja": name_ja or name_en,
        "country": country,
        "city_en": details.city_en.strip(),
        "city_ja": details.city_ja.strip(),
        "website": _check_url(
            details.website,
            _("Enter the website as an address starting with https://."),
            "website",
        ),
        "timezone": timezone,
        "default_currency": currency,
        "membership_year_end_month": details.membership_year_end_month,
        "description_en": details.description_en.strip(),
        "description_ja": details.description_ja.strip(),
    }


def _slug_taken(model: type[Organization] | type[Agreement], slug: str, own_id: int | None) -> bool:
    found = db.session.scalar(select(model.id).where(model.slug == slug))
    return found is not None and found != own_id


def create_organization(details: OrganizationDetails, *, actor: Person) -> Organization:
    """Staff add a partner organization. Raises InvalidInput for bad or taken values."""
    _require_staff(actor)
    values = _clean_organization(details)
    if _slug_taken(Organization, str(values["slug"]), None):
        raise InvalidInput(_("Another organization already uses this URL name."), field="slug")
    organization = Organization(kind=OrganizationKind.PARTNER.value, **values)
    db.session.add(organization)
    db.session.flush()
    record(
        "organization.create",
        actor=actor,
        subject_type="organization",
        subject_id=organization.id,
        organization_id=organization.id,
    )
    db.session.commit()
    return organization


def update_organization(
    organization: Organization, details: OrganizationDetails, *, actor: Person
) -> None:
    """Staff edit an organization. Its URL name stays: published links keep working."""
    _require_staff(actor)
    values = _clean_organization(replace(details, slug=organization.slug))
    changed = sorted(k for k, v in values.items() if getattr(organization, k) != v)
    for key, value in values.items():
        setattr(organization, key, value)
    record(
        "organization.update",
        actor=actor,
        subject_type="organization",
        subject_id=organization.id,
        organization_id=organization.id,
        changed=changed,
    )
    db.session.commit()


@dataclass
class AgreementDetails:
    partner_id: int
    signed_on: date
    status: str = AgreementStatus.ACTIVE.value
    valid_until: date | None = None
    document_url: str | None = None
    summary_en: str = ""
    summary_ja: str = ""


def _clean_agreement(details: AgreementDetails) -> dict[str, object]:
    if details.status not in set(AgreementStatus):
        raise InvalidInput(_("Choose the MOU's status from the list."), field="status")
    if details.valid_until is not None and details.valid_until < details.signed_on:
        raise InvalidInput(
            _("The MOU cannot end before the day it was signed."), field="valid_until"
        )
    return {
        "signed_on": details.signed_on,
        "status": details.status,
        "valid_until": details.valid_until,
        "document_url": _check_url(
            details.document_url,
            _("Enter the document link as an address starting with https://."),
            "document_url",
        ),
        "summary_en": details.summary_en.strip(),
        "summary_ja": details.summary_ja.strip(),
    }


def create_agreement(details: AgreementDetails, *, actor: Person) -> Agreement:
    """Staff record an MOU between LINK-J and a partner; its services are added next.

    Raises InvalidInput for an unknown partner, an end before the signature, or a second MOU
    of the partner signed the same day.
    """
    _require_staff(actor)
    values = _clean_agreement(details)
    hub = db.session.scalar(select(Organization).where(Organization.kind == OrganizationKind.HUB))
    partner = db.session.get(Organization, details.partner_id)
    if hub is None or partner is None or partner.kind != OrganizationKind.PARTNER:
        raise InvalidInput(_("Choose the partner from the list."), field="partner")
    taken = db.session.scalar(
        select(Agreement.id).where(
            Agreement.partner_id == partner.id, Agreement.signed_on == details.signed_on
        )
    )
    if taken is not None:
        raise InvalidInput(
            _("This partner already has an MOU signed on that day."), field="signed_on"
        )
    base = f"{hub.slug}-{partner.slug}-{details.signed_on.year}"
    slug, n = base, 1
    while _slug_taken(Agreement, slug, None):
        n += 1
        slug = f"{base}-{n}"
    agreement = Agreement(slug=slug, hub=hub, partner=partner, **values)
    db.session.add(agreement)
    db.session.flush()
    record(
        "agreement.create",
        actor=actor,
        subject_type="agreement",
        subject_id=agreement.id,
        organization_id=partner.id,
        status=agreement.status,
    )
    db.session.commit()
    return agreement


def update_agreement(agreement: Agreement, details: AgreementDetails, *, actor: Person) -> None:
    """Staff edit an MOU's dates, status, document and summaries (not its parties)."""
    _require_staff(actor)
    values = _clean_agreement(details)
    if details.signed_on != agreement.signed_on:
        taken = db.session.scalar(
            select(Agreement.id).where(
                Agreement.partner_id == agreement.partner_id,
                Agreement.signed_on == details.signed_on,
                Agreement.id != agreement.id,
            )
        )
        if taken is not None:
            raise InvalidInput(
                _("This partner already has an MOU signed on that day."), field="signed_on"
            )
    changed = sorted(k for k, v in values.items() if getattr(agreement, k) != v)
    for key, value in values.items():
        setattr(agreement, key, value)
    record(
        "agreement.update",
        actor=actor,
        subject_type="agreement",
        subject_id=agreement.id,
        organization_id=agreement.partner_id,
        changed=changed,
        status=agreement.status,
    )
    db.session.commit()

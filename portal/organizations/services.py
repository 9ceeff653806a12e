"""Business rules for the network's organizations and agreements."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.organizations import network
from portal.organizations.models import Agreement, Organization, ReciprocalService


@dataclass
class SeedReport:
    organizations: int = 0
    agreements: int = 0
    services: int = 0

    @property
    def created_anything(self) -> bool:
        return bool(self.organizations or self.agreements or self.services)


def seed_network() -> SeedReport:
    """Load the network from the seed document; safe to run any number of times.

    Records already present (matched by slug, or by agreement, provider and category) are
    left as they are, so edits made by staff survive a later seed.
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
    db.session.commit()
    return report


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
            agreement.services.append(
                ReciprocalService(
                    provider=provider,
                    beneficiary=beneficiary,
                    category=clause.category.value,
                    title_en=text.title_en,
                    title_ja=text.title_ja,
                    description_en=text.description_en.format(**names),
                    description_ja=text.description_ja.format(**names),
                    claimable=text.claimable,
                    position=position,
                )
            )
            created += 1
    return created

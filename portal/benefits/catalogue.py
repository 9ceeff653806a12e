"""The services an MOU promises, as staff and the provider's partner admin set them up: adding,
changing and removing a service, and who may.

A service belongs to an MOU (``portal.organizations``); it lives here because what may change
depends on the claims members made on it (rule 3: claims keep what they were given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from portal.accounts.models import Person, Role
from portal.audit.services import record
from portal.benefits.models import BenefitClaim
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import (
    Agreement,
    LimitPeriod,
    ReciprocalService,
    Redemption,
    ServiceCategory,
)


def can_manage_service(actor: Person | None, service: ReciprocalService) -> bool:
    """Staff edit every service; a partner admin the services their organization provides."""
    return can_manage_services_of(actor, service.provider_id)


def can_manage_services_of(actor: Person | None, provider_id: int) -> bool:
    if actor is None:
        return False
    return actor.is_staff or actor.has_role(Role.PARTNER_ADMIN, provider_id)


@dataclass
class ServiceTerms:
    """What staff or the provider's admin type about one service of an MOU."""

    provider_id: int
    category: str
    title_en: str = ""
    title_ja: str = ""
    description_en: str = ""
    description_ja: str = ""
    claimable: bool = True
    requires_approval: bool = False
    limit_per_member: int | None = None
    limit_period: str = LimitPeriod.YEAR.value
    valid_from: date | None = None
    valid_until: date | None = None
    redemption: str = Redemption.INSTRUCTIONS.value
    redemption_instructions_en: str = ""
    redemption_instructions_ja: str = ""
    shared_code: str | None = None
    position: int | None = None


def _clean_terms(agreement: Agreement, terms: ServiceTerms, actor: Person) -> dict[str, object]:
    if terms.provider_id not in agreement.party_ids():
        raise InvalidInput(_("The provider must be a party to this MOU."), field="provider")
    if not can_manage_services_of(actor, terms.provider_id):
        raise NotFound(_("Not found."))
    if terms.category not in set(ServiceCategory):
        raise InvalidInput(_("Choose a category from the list."), field="category")
    title_en, title_ja = terms.title_en.strip(), terms.title_ja.strip()
    if not title_en and not title_ja:
        raise InvalidInput(_("Give the service a title in Japanese or English."), field="title_en")
    if max(len(title_en), len(title_ja)) > 200:
        raise InvalidInput(_("A title has at most 200 characters."), field="title_en")
    if terms.limit_per_member is not None and terms.limit_per_member < 1:
        raise InvalidInput(
            _("A limit is at least 1 claim per member; leave it empty for once in all."),
            field="limit_per_member",
        )
    if terms.limit_period not in set(LimitPeriod):
        raise InvalidInput(
            _("Choose the period the limit counts in from the list."), field="limit_period"
        )
    if terms.valid_from and terms.valid_until and terms.valid_until < terms.valid_from:
        raise InvalidInput(
            _("The last day to claim cannot be before the first day."), field="valid_until"
        )
    if terms.redemption not in set(Redemption):
        raise InvalidInput(
            _("Choose how the service is redeemed from the list."), field="redemption"
        )
    instructions = {
        "redemption_instructions_en": terms.redemption_instructions_en.strip(),
        "redemption_instructions_ja": terms.redemption_instructions_ja.strip(),
    }
    if terms.claimable and terms.redemption == Redemption.INSTRUCTIONS:
        # They are all a granted member is told: whom to contact, what to bring, how to book.
        for field, text in instructions.items():
            if not text:
                raise InvalidInput(
                    _(
                        "Members can claim this service and are told only its instructions: "
                        "write them in English and in Japanese."
                    ),
                    field=field,
                )
    shared_code = (terms.shared_code or "").strip() or None
    if terms.redemption == Redemption.SHARED_CODE and not shared_code:
        raise InvalidInput(_("Enter the code every granted member is shown."), field="shared_code")
    if shared_code and len(shared_code) > 200:
        raise InvalidInput(_("A code has at most 200 characters."), field="shared_code")
    party_a, party_b = agreement.party_ids()
    return {
        "provider_id": terms.provider_id,
        "beneficiary_id": party_b if terms.provider_id == party_a else party_a,
        "category": terms.category,
        "title_en": title_en,
        "title_ja": title_ja,
        "description_en": terms.description_en.strip(),
        "description_ja": terms.description_ja.strip(),
        "claimable": terms.claimable,
        "requires_approval": terms.requires_approval,
        "limit_per_member": terms.limit_per_member,
        "limit_period": terms.limit_period,
        "valid_from": terms.valid_from,
        "valid_until": terms.valid_until,
        "redemption": terms.redemption,
        **instructions,
        "shared_code": shared_code if terms.redemption == Redemption.SHARED_CODE else None,
    }


def create_service(
    agreement: Agreement, terms: ServiceTerms, *, actor: Person
) -> ReciprocalService:
    """Add a service to an MOU, in the direction its provider gives.

    Staff add either direction; a partner admin only what their organization provides
    (NotFound otherwise). InvalidInput for no title, a limit below 1, an end before the
    start, a shared code missing, or a claimable service redeemed by instructions without
    them in both languages.
    """
    values = _clean_terms(agreement, terms, actor)
    position = terms.position
    if position is None:
        position = 1 + max((s.position for s in agreement.services), default=-1)
    service = ReciprocalService(agreement_id=agreement.id, position=position, **values)
    db.session.add(service)
    db.session.flush()
    record(
        "service.create",
        actor=actor,
        subject_type="reciprocal_service",
        subject_id=service.id,
        organization_id=service.provider_id,
        agreement=agreement.id,
    )
    db.session.commit()
    return service


def update_service(service: ReciprocalService, terms: ServiceTerms, *, actor: Person) -> None:
    """Change a service's terms; claims already made keep what they were given."""
    if not can_manage_service(actor, service):
        raise NotFound(_("Not found."))
    values = _clean_terms(service.agreement, terms, actor)
    if values["provider_id"] != service.provider_id and db.session.scalar(
        select(BenefitClaim.id).where(BenefitClaim.service_id == service.id).limit(1)
    ):
        raise InvalidInput(
            _("Members have claimed this service; its direction can no longer change."),
            field="provider",
        )
    changed = sorted(k for k, v in values.items() if getattr(service, k) != v)
    for key, value in values.items():
        setattr(service, key, value)
    if terms.position is not None:
        service.position = terms.position
    record(
        "service.update",
        actor=actor,
        subject_type="reciprocal_service",
        subject_id=service.id,
        organization_id=service.provider_id,
        changed=changed,
    )
    db.session.commit()


def delete_service(service: ReciprocalService, *, actor: Person) -> None:
    """Remove a service nobody has claimed. One with claims stays, for their history and the
    report: end it with a last day to claim, or make it not claimable (InvalidTransition)."""
    if not can_manage_service(actor, service):
        raise NotFound(_("Not found."))
    if db.session.scalar(
        select(BenefitClaim.id).where(BenefitClaim.service_id == service.id).limit(1)
    ):
        raise InvalidTransition(
            _(
                "Members have claimed this service, so it stays for their history and the "
                "report. To withdraw it, set a last day to claim or make it not claimable."
            )
        )
    record(
        "service.delete",
        actor=actor,
        subject_type="reciprocal_service",
        subject_id=service.id,
        organization_id=service.provider_id,
        agreement=service.agreement_id,
        title=service.title_en or service.title_ja,
    )
    db.session.delete(service)
    db.session.commit()

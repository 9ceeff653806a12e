"""The benefits area's part of a person's data: their claims.

Registered with ``portal.accounts.personal_data``; see there for the order and transaction.
Pending claims are withdrawn when the account is deleted, or when the person withdraws
their consent to share data with the partner providing the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts import personal_data
from portal.accounts.models import Person
from portal.audit.services import record
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import Organization, ReciprocalService

#: What a refusal's reason becomes when the claimant's account is deleted.
ERASED_NOTE = "[erased with the account]"


def _claims(person: Person) -> list[BenefitClaim]:
    return list(
        db.session.scalars(
            select(BenefitClaim)
            .where(BenefitClaim.person_id == person.id)
            .options(joinedload(BenefitClaim.service).joinedload(ReciprocalService.provider))
            .order_by(BenefitClaim.id)
        )
    )


def _export(person: Person) -> Mapping[str, Any]:
    when = personal_data.when
    return {
        "benefit_claims": [
            {
                "service": c.service.title_en or c.service.title_ja,
                "provider": c.service.provider.slug,
                "status": c.status,
                "claimed_at": when(c.created_at),
                "decided_at": when(c.decided_at),
                "decision_note": c.decision_note,
                "code": c.code,
                "cancelled_at": when(c.cancelled_at),
                "fulfilled_at": when(c.fulfilled_at),
            }
            for c in _claims(person)
        ]
    }


def _withdraw_pending(
    person: Person, moment: datetime, provider: Organization | None = None
) -> list[BenefitClaim]:
    query = select(BenefitClaim).where(
        BenefitClaim.person_id == person.id,
        BenefitClaim.status == ClaimStatus.REQUESTED.value,
    )
    if provider is not None:
        query = query.join(BenefitClaim.service).where(ReciprocalService.provider_id == provider.id)
    pending = list(db.session.scalars(query.order_by(BenefitClaim.id)))
    # Freeing a per-member limit needs no lock (only taking one does).
    for claim in pending:
        claim.status = ClaimStatus.CANCELLED.value
        claim.cancelled_at = moment
    return pending


def _erase(person: Person, moment: datetime) -> Mapping[str, int]:
    withdrawn = _withdraw_pending(person, moment)
    # Decided claims stay for the reciprocity report, without the provider's note about them
    # (a refusal must still say that it had a reason).
    for claim in db.session.scalars(
        select(BenefitClaim).where(
            BenefitClaim.person_id == person.id, BenefitClaim.decision_note != ""
        )
    ):
        claim.decision_note = ERASED_NOTE if claim.status == ClaimStatus.REJECTED else ""
    return {"claims_withdrawn": len(withdrawn)}


def _consent_withdrawn(person: Person, organization: Organization, moment: datetime) -> None:
    """Without the consent, a claim still waiting for the partner's decision cannot stay."""
    for claim in _withdraw_pending(person, moment, organization):
        record(
            "benefit_claim.cancel",
            actor=person,
            subject_type="benefit_claim",
            subject_id=claim.id,
            organization_id=organization.id,
            service=claim.service_id,
            consent_withdrawn=True,
        )


def _kept(person: Person, day: date) -> list[personal_data.Kept]:
    decided = db.session.scalar(
        select(BenefitClaim.id)
        .where(
            BenefitClaim.person_id == person.id,
            BenefitClaim.status.not_in([ClaimStatus.REQUESTED.value, ClaimStatus.CANCELLED.value]),
        )
        .limit(1)
    )
    if decided is None:
        return []
    return [
        personal_data.Kept(
            what=_(
                "Your decided claims without the provider's notes: the service, whether it was "
                "granted (and the code given), and the dates. Claims still waiting are withdrawn."
            ),
            why=_(
                "They count in the reciprocity report LINK-J and each partner exchange under "
                "their MOU; with your account emptied they no longer identify you."
            ),
        )
    ]


personal_data.register(
    personal_data.PersonalDataArea(
        position=20,
        name="benefit_claims",
        export=_export,
        erase=_erase,
        kept=_kept,
        tables=("benefit_claim",),
        consent_withdrawn=_consent_withdrawn,
    )
)

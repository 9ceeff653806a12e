"""Claims and their decisions: who decides, claiming, approving, refusing, fulfilling and
cancelling.

Whether a person may claim is ``portal.benefits.eligibility``'s to say; claims and approvals
lock the service's row (``portal.locking.lock_rows``) before asking it, so a per-member limit
and a pool of codes hold however many requests arrive at once.

Every function takes the acting person as an argument, never reads the request, commits
once at its end, writes decisions to the audit log (rule 7) and queues the mail reporting
them in the same transaction (rule 8). Refusals are DomainErrors with a message for the
person who acted.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts import consents
from portal.accounts.models import Membership, Person, Role, RoleGrant
from portal.audit.services import record
from portal.benefits.codes import take_code
from portal.benefits.eligibility import NotEligible, eligibility
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.locking import Busy, lock_rows
from portal.notifications.services import external_url, mail_person
from portal.organizations.models import (
    Organization,
    OrganizationKind,
    ReciprocalService,
    Redemption,
)

# --- who decides ---------------------------------------------------------------------------


def can_decide_claims(actor: Person | None, provider: Organization) -> bool:
    """The provider's partner admins decide claims on its services; staff decide LINK-J's."""
    return actor is not None and actor.acts_for(provider)


def can_view_claims(actor: Person | None, provider: Organization) -> bool:
    """Staff read every provider's claims; partner admins their own organization's (rule 4)."""
    return actor is not None and (actor.is_staff or can_decide_claims(actor, provider))


def visible_providers(actor: Person) -> ColumnElement[bool]:
    """``can_view_claims`` as a WHERE clause on ``ReciprocalService.provider_id``, for queries."""
    if actor.is_staff:
        return true()
    organization_id = actor.administered_organization_id
    if organization_id is None:
        return false()
    return ReciprocalService.provider_id == organization_id


def _require_decider(actor: Person, service: ReciprocalService) -> None:
    if not can_decide_claims(actor, service.provider):
        # 404, not 403: another organization's claims do not exist for this actor.
        raise NotFound(_("Not found."))


# --- claims and decisions ------------------------------------------------------------------


def _reload_service(service_id: int) -> ReciprocalService:
    """The service and its MOU and parties as committed now (after the lock)."""
    service = db.session.scalar(
        select(ReciprocalService)
        .where(ReciprocalService.id == service_id)
        .options(
            joinedload(ReciprocalService.agreement),
            joinedload(ReciprocalService.provider),
            joinedload(ReciprocalService.beneficiary),
        )
        .execution_options(populate_existing=True)
    )
    if service is None:
        raise NotFound(_("Not found."))
    return service


def _lock_claim(claim: BenefitClaim) -> tuple[BenefitClaim, ReciprocalService]:
    """Lock the claim's service and read both again: decisions on one service are serial."""
    lock_rows(ReciprocalService.__table__, [claim.service_id])
    service = _reload_service(claim.service_id)
    db.session.refresh(claim)
    return claim, service


def _grant(
    claim: BenefitClaim,
    service: ReciprocalService,
    *,
    actor: Person | None,
    membership: Membership | None,
    note: str = "",
) -> None:
    """Approve the claim in the current transaction: give it its code, audit, tell the member."""
    if service.redemption == Redemption.CODE_POOL:
        claim.code = take_code(claim, service)
    elif service.redemption == Redemption.SHARED_CODE:
        claim.code = service.shared_code
    claim.status = ClaimStatus.APPROVED.value
    claim.membership_id = membership.id if membership else claim.membership_id
    claim.decided_by_id = actor.id if actor else None
    claim.decided_at = utcnow()
    claim.decision_note = note
    record(
        "benefit_claim.approve",
        actor=actor,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        reason=note,
        service=service.id,
        membership=claim.membership_id,
        automatic=actor is None,
    )
    _tell_member(claim, service, "claim_approved")


def _tell_member(claim: BenefitClaim, service: ReciprocalService, template: str) -> None:
    person = claim.person
    if person.deleted_at is not None:
        return
    mail_person(
        person,
        f"benefits/{template}",
        claim=claim,
        service=service,
        claims_url=external_url("benefits.my_claims"),
    )


def deciders(provider: Organization) -> list[Person]:
    """Who decides claims on the provider's services: its partner admins, or LINK-J's staff."""
    if provider.kind == OrganizationKind.HUB:
        condition = RoleGrant.role.in_([Role.STAFF.value, Role.ADMIN.value])
    else:
        condition = (RoleGrant.role == Role.PARTNER_ADMIN.value) & (
            RoleGrant.organization_id == provider.id
        )
    return list(
        db.session.scalars(
            select(Person)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(condition, Person.deleted_at.is_(None))
            .distinct()
            .order_by(Person.id)
        )
    )


def _tell_deciders(claim: BenefitClaim, service: ReciprocalService) -> None:
    for decider in deciders(service.provider):
        mail_person(
            decider,
            "benefits/claim_to_decide",
            decider=decider,
            claimant=claim.person,
            claim=claim,
            service=service,
            claim_url=external_url("benefits_manage.claim", claim_id=claim.id),
        )


def claim_benefit(person: Person, service: ReciprocalService) -> BenefitClaim:
    """The person claims the service: granted at once (with its code) unless it needs the
    provider's approval, in which case it waits as ``requested`` and the deciders are told.

    Eligibility is checked again after locking the service row, so a member's allowance and
    a pool of codes hold under simultaneous claims; the claim takes a numbered place of its
    period, which a unique index keeps to one claim even where the lock was not taken.
    Raises NotEligible with the reason (a second open claim, the allowance used), Busy when
    the lock is not free in time.
    """
    lock_rows(ReciprocalService.__table__, [service.id])
    service = _reload_service(service.id)
    verdict = eligibility(person, service)
    if not verdict.eligible:
        db.session.rollback()
        raise NotEligible(verdict.message, verdict.reason)
    consents.require_consent(person, [service.provider])  # the provider's admins see the claim
    claim = BenefitClaim(
        service=service,
        person=person,
        membership=verdict.membership,
        status=ClaimStatus.REQUESTED.value,
        period=verdict.period,
        slot=verdict.slot,
    )
    db.session.add(claim)
    try:
        db.session.flush()
    except IntegrityError:
        # Another tab's claim, committed a moment ago, holds the place (the open-claim and
        # allowance indexes): the rule, asked again, now says why.
        db.session.rollback()
        verdict = eligibility(person, _reload_service(service.id))
        if not verdict.eligible:
            raise NotEligible(verdict.message, verdict.reason) from None
        raise Busy() from None
    record(
        "benefit_claim.request",
        actor=person,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        service=service.id,
        membership=claim.membership_id,
    )
    if service.requires_approval:
        _tell_deciders(claim, service)
    else:
        _grant(claim, service, actor=None, membership=verdict.membership)
    db.session.commit()
    return claim


def approve_claim(claim: BenefitClaim, *, actor: Person, note: str = "") -> None:
    """The provider approves a requested claim; the member gets the instructions or a code.

    The claimant's eligibility is checked again now: a membership that expired, an MOU
    no longer in force, a limit reached meanwhile or an empty code pool refuses the approval
    (NotEligible, the claim stays requested). Raises NotFound outside the actor's
    organization, InvalidTransition unless the claim is requested.
    """
    _require_decider(actor, claim.service)
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.REQUESTED:
        db.session.rollback()
        raise InvalidTransition(_("Only claims waiting for a decision can be approved."))
    verdict = eligibility(claim.person, service, ignoring=claim)
    if not verdict.eligible:
        db.session.rollback()
        raise NotEligible(
            _(
                "This claim cannot be approved: %(reason)s Reject it with a reason instead.",
                reason=verdict.message_for_decider,
            ),
            verdict.reason,
        )
    _grant(claim, service, actor=actor, membership=verdict.membership, note=note.strip())
    db.session.commit()


def reject_claim(claim: BenefitClaim, *, actor: Person, reason: str) -> None:
    """The provider refuses a requested claim with a reason the member sees (by mail too).

    Raises NotFound outside the actor's organization, InvalidInput without a reason,
    InvalidTransition unless the claim is requested.
    """
    _require_decider(actor, claim.service)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason; the member will see it."))
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.REQUESTED:
        db.session.rollback()
        raise InvalidTransition(_("Only claims waiting for a decision can be rejected."))
    claim.status = ClaimStatus.REJECTED.value
    claim.decided_by_id = actor.id
    claim.decided_at = utcnow()
    claim.decision_note = reason
    record(
        "benefit_claim.reject",
        actor=actor,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        reason=reason,
        service=service.id,
    )
    _tell_member(claim, service, "claim_rejected")
    db.session.commit()


def fulfil_claim(claim: BenefitClaim, *, actor: Person, note: str = "") -> None:
    """The provider records that an approved benefit was delivered (the visit took place…).

    Raises NotFound outside the actor's organization, InvalidTransition unless approved.
    """
    _require_decider(actor, claim.service)
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.APPROVED:
        db.session.rollback()
        raise InvalidTransition(_("Only approved claims can be marked as fulfilled."))
    claim.status = ClaimStatus.FULFILLED.value
    claim.fulfilled_at = utcnow()
    record(
        "benefit_claim.fulfil",
        actor=actor,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        reason=note.strip(),
        service=service.id,
    )
    db.session.commit()


def cancel_claim(claim: BenefitClaim, *, person: Person) -> None:
    """The member withdraws a claim that is still waiting for a decision.

    Raises NotFound for someone else's claim, InvalidTransition once it is decided.
    """
    if claim.person_id != person.id:
        raise NotFound(_("Not found."))
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.REQUESTED:
        db.session.rollback()
        raise InvalidTransition(_("This claim is already decided; it can no longer be cancelled."))
    claim.status = ClaimStatus.CANCELLED.value
    claim.cancelled_at = utcnow()
    record(
        "benefit_claim.cancel",
        actor=person,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        service=service.id,
    )
    db.session.commit()

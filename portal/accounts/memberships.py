"""Memberships and the decisions of the home organization on them (cross-member access).

A claim is ``pending`` until the organization's admin (LINK-J staff for LINK-J) verifies or
rejects it, or a roster entry or an email-domain rule that admin set up verifies it
(``automatic_verification``). Every decision is audited (rule 7) and the person is told by
mail (rule 8).
"""

from __future__ import annotations

import calendar
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.models import (
    LIVE_MEMBERSHIP_STATES,
    Membership,
    MembershipKind,
    MembershipStatus,
    Person,
    VerificationSource,
)
from portal.audit.services import announce, record
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.services import external_url, mail_person
from portal.organizations.models import Organization, OrganizationKind


def today(organization: Organization | None = None) -> date:
    """Today's date where the organization is: its membership years end at its midnight."""
    now = utcnow()
    if organization is None:
        return now.date()
    return now.astimezone(ZoneInfo(organization.timezone)).date()


def default_validity_end(organization: Organization, on: date | None = None) -> date:
    """The last day of the organization's membership year that contains ``on`` (today)."""
    on = on or today(organization)
    month = organization.membership_year_end_month
    year = on.year if on.month <= month else on.year + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def normalize_member_number(number: str | None) -> str | None:
    """A member number as rosters and claims are compared by."""
    if not number:
        return None
    # Full-width digits and letters from Japanese input become ASCII; case and spaces go.
    cleaned = unicodedata.normalize("NFKC", number).strip().upper().replace(" ", "")
    return cleaned or None


# --- who may do what ---


def can_decide_memberships(actor: Person | None, organization: Organization) -> bool:
    """Partner admins decide their own organization's memberships; staff decide LINK-J's."""
    return actor is not None and actor.acts_for(organization)


def can_view_memberships(actor: Person | None, organization: Organization) -> bool:
    """Staff see every organization's queue; partner admins their own only (rule 4)."""
    return actor is not None and (actor.is_staff or can_decide_memberships(actor, organization))


def require_decider(actor: Person, organization: Organization) -> None:
    """NotFound unless the actor decides the organization's memberships."""
    if not can_decide_memberships(actor, organization):
        # 404, not 403: another organization's records do not exist for this actor.
        raise NotFound(_("Not found."))


# --- claims ---


def _already_a_member() -> InvalidTransition:
    return InvalidTransition(
        _("You already have a membership in this organization, pending or verified.")
    )


def add_membership_claim(
    person: Person,
    organization: Organization,
    *,
    kind: str = MembershipKind.INDIVIDUAL.value,
    member_number: str = "",
) -> Membership:
    """Add a pending membership to the current transaction (flushed, no commit), announced
    to the organization's systems (its webhooks) but not audited: the claim is the member's,
    no decision (rule 7).

    Raises InvalidInput for an organization that has no members (a host such as Kobe City).
    """
    if organization.kind == OrganizationKind.HOST:
        raise InvalidInput(_("Choose your home organization from the list."))
    if any(
        m.organization_id == organization.id and m.status in LIVE_MEMBERSHIP_STATES
        for m in person.memberships
    ):
        raise _already_a_member()
    membership = Membership(
        person=person,
        organization=organization,
        kind=MembershipKind(kind).value,
        member_number=(member_number or "").strip() or None,
        status=MembershipStatus.PENDING.value,
    )
    db.session.add(membership)
    try:
        # The id the announcement names; a claim made a moment ago in another request
        # breaks the one-live-membership constraint here.
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _already_a_member() from None
    announce(
        "membership.claim",
        subject_type="membership",
        subject_id=membership.id,
        organization_id=organization.id,
    )
    return membership


# --- decisions ---


def _tell(membership: Membership, template: str) -> None:
    mail_person(
        membership.person,
        f"accounts/{template}",
        membership=membership,
        organization=membership.organization,
        dashboard_url=external_url("accounts.dashboard"),
    )


def record_verification(
    membership: Membership,
    *,
    actor: Person | None,
    valid_until: date,
    via: VerificationSource,
    reason: str = "",
) -> None:
    """Verify in the current transaction (no commit), audited, and tell the person."""
    membership.status = MembershipStatus.VERIFIED.value
    membership.valid_until = valid_until
    membership.verified_via = via.value
    membership.decided_by_id = actor.id if actor else None
    membership.decided_at = utcnow()
    membership.decision_reason = ""
    membership.missing_from_roster_since = None
    record(
        "membership.verify",
        actor=actor,
        subject_type="membership",
        subject_id=membership.id,
        organization_id=membership.organization_id,
        reason=reason,
        via=via.value,
        valid_until=valid_until.isoformat(),
    )
    _tell(membership, "membership_verified")


def verify_membership(
    membership: Membership,
    *,
    actor: Person,
    valid_until: date | None = None,
    note: str = "",
) -> None:
    """Verify a pending membership until ``valid_until`` (default: end of the membership year).

    Raises NotFound outside the actor's organization, InvalidTransition unless pending,
    InvalidInput for an end date in the past.
    """
    require_decider(actor, membership.organization)
    if membership.status != MembershipStatus.PENDING:
        raise InvalidTransition(_("Only pending memberships can be verified."))
    local_today = today(membership.organization)
    end = valid_until or default_validity_end(membership.organization, local_today)
    if end < local_today:
        raise InvalidInput(_("The validity end cannot be in the past."))
    record_verification(
        membership, actor=actor, valid_until=end, via=VerificationSource.MANUAL, reason=note
    )
    db.session.commit()


def verify_memberships(
    membership_ids: Iterable[int],
    *,
    actor: Person,
    organization: Organization,
    valid_until: date | None = None,
) -> int:
    """Bulk-verify pending memberships of one organization, in one transaction.

    Ids of other organizations or not pending are ignored (never acted on); returns how many
    were verified.
    """
    require_decider(actor, organization)
    local_today = today(organization)
    end = valid_until or default_validity_end(organization, local_today)
    if end < local_today:
        raise InvalidInput(_("The validity end cannot be in the past."))
    ids = sorted(set(membership_ids))
    if not ids:
        raise InvalidInput(_("Select at least one membership."))
    pending = db.session.scalars(
        select(Membership)
        .where(
            Membership.id.in_(ids),
            Membership.organization_id == organization.id,
            Membership.status == MembershipStatus.PENDING.value,
        )
        .order_by(Membership.id)
        .with_for_update()
    ).all()
    for membership in pending:
        record_verification(membership, actor=actor, valid_until=end, via=VerificationSource.MANUAL)
    db.session.commit()
    return len(pending)


def _end_with_reason(
    membership: Membership, *, actor: Person, reason: str, target: MembershipStatus, action: str
) -> None:
    """A decision the person is told the reason for (reject, revoke): audited and mailed."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason; the person will see it."))
    membership.status = target.value
    membership.decided_by_id = actor.id
    membership.decided_at = utcnow()
    membership.decision_reason = reason
    record(
        f"membership.{action}",
        actor=actor,
        subject_type="membership",
        subject_id=membership.id,
        organization_id=membership.organization_id,
        reason=reason,
    )
    _tell(membership, f"membership_{target.value}")
    db.session.commit()


def reject_membership(membership: Membership, *, actor: Person, reason: str) -> None:
    """Reject a pending claim with a reason the person sees."""
    require_decider(actor, membership.organization)
    if membership.status != MembershipStatus.PENDING:
        raise InvalidTransition(_("Only pending memberships can be rejected."))
    _end_with_reason(
        membership, actor=actor, reason=reason, target=MembershipStatus.REJECTED, action="reject"
    )


def revoke_membership(membership: Membership, *, actor: Person, reason: str) -> None:
    """End a verified membership early, with a reason the person sees."""
    require_decider(actor, membership.organization)
    if membership.status != MembershipStatus.VERIFIED:
        raise InvalidTransition(_("Only verified memberships can be revoked."))
    _end_with_reason(
        membership, actor=actor, reason=reason, target=MembershipStatus.REVOKED, action="revoke"
    )


def expire_memberships(*, on: date | None = None) -> int:
    """Record as ``expired`` the verified memberships whose validity ended before ``on``.

    Treatment already stops on the day after ``valid_until`` (``effective_status``); this
    makes the stored state and the queues agree, for the scheduled command.
    """
    # A day's margin in the query; each organization's own date decides below.
    cutoff = on or today() + timedelta(days=1)
    candidates = db.session.scalars(
        select(Membership)
        .where(
            Membership.status == MembershipStatus.VERIFIED.value,
            Membership.valid_until < cutoff,
        )
        .options(joinedload(Membership.organization))
    ).all()
    ended = [
        m
        for m in candidates
        if m.valid_until is not None and m.valid_until < (on or today(m.organization))
    ]
    for membership in ended:
        membership.status = MembershipStatus.EXPIRED.value
        record(
            "membership.expire",
            actor=None,
            subject_type="membership",
            subject_id=membership.id,
            organization_id=membership.organization_id,
        )
    db.session.commit()
    return len(ended)


def record_end(membership: Membership, *, actor: Person | None, reason: str, on: date) -> None:
    """End a verified membership on ``on`` in the current transaction (no commit): the last
    day of treatment becomes the day before (rule 3), the state ``expired``, audited (rule 7).
    For ends the member's own area decides and tells of (LINK-J dues lapsed, resignation)."""
    if membership.status != MembershipStatus.VERIFIED:
        return
    membership.status = MembershipStatus.EXPIRED.value
    end = on - timedelta(days=1)
    if membership.valid_until is None or membership.valid_until > end:
        membership.valid_until = end
    membership.decision_reason = reason
    record(
        "membership.end",
        actor=actor,
        subject_type="membership",
        subject_id=membership.id,
        organization_id=membership.organization_id,
        reason=reason,
    )

"""Verification without a person deciding: the organization's latest roster names the
claimant, or the claimant confirmed an address at one of its email-domain rules.

Both were set up by the organization's admins (``rosters``, ``domain_rules``); the portal
applies them when an address is confirmed, a claim is made, or a roster or rule is added.
Nothing here commits: the caller's transaction does.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.addresses import domain_matches, email_domain
from portal.accounts.memberships import (
    default_validity_end,
    normalize_member_number,
    record_verification,
    today,
)
from portal.accounts.models import (
    EmailDomainRule,
    Membership,
    MembershipStatus,
    Person,
    RosterEntry,
    RosterUpload,
    VerificationSource,
)
from portal.accounts.queries import latest_roster
from portal.extensions import db
from portal.organizations.models import Organization


def _roster_match(membership: Membership, upload: RosterUpload) -> RosterEntry | None:
    """A roster row naming this person: by confirmed address, or by member number when the
    row gives no address (a row with an address must match the address)."""
    email = membership.person.email_normalized
    by_email = db.session.scalar(
        select(RosterEntry)
        .where(RosterEntry.upload_id == upload.id, RosterEntry.email_normalized == email)
        .limit(1)
    )
    if by_email is not None:
        return by_email
    number = normalize_member_number(membership.member_number)
    if not number:
        return None
    return db.session.scalar(
        select(RosterEntry)
        .where(
            RosterEntry.upload_id == upload.id,
            RosterEntry.member_number == number,
            RosterEntry.email_normalized.is_(None),
        )
        .limit(1)
    )


def _try_automatic(membership: Membership) -> bool:
    person = membership.person
    if membership.status != MembershipStatus.PENDING or not person.email_confirmed:
        return False
    organization = membership.organization
    if any(
        m.organization_id == organization.id and m.status == MembershipStatus.REVOKED
        for m in person.memberships
    ):
        # A revoked member's new claim waits for a person to decide, whatever the rules say.
        return False
    on = today(organization)
    upload = latest_roster(organization)
    if upload is not None:
        entry = _roster_match(membership, upload)
        if entry is not None:
            end = entry.valid_until or default_validity_end(organization, on)
            if end >= on:
                record_verification(
                    membership, actor=None, valid_until=end, via=VerificationSource.ROSTER
                )
                return True
    domain = email_domain(person.email_normalized)
    rules = db.session.scalars(
        select(EmailDomainRule.domain).where(EmailDomainRule.organization_id == organization.id)
    ).all()
    if any(domain_matches(domain, rule) for rule in rules):
        record_verification(
            membership,
            actor=None,
            valid_until=default_validity_end(organization, on),
            via=VerificationSource.DOMAIN_RULE,
        )
        return True
    return False


def apply_automatic_verification(person: Person) -> int:
    """Verify the person's pending claims that a roster or domain rule vouches for (no commit)."""
    return sum(_try_automatic(m) for m in person.memberships)


def apply_to_pending(organization: Organization) -> list[Membership]:
    """Verify the organization's pending claims (of confirmed addresses) that its roster or
    domain rules vouch for (no commit); returns those verified."""
    pending = db.session.scalars(
        select(Membership)
        .join(Membership.person)
        .where(
            Membership.organization_id == organization.id,
            Membership.status == MembershipStatus.PENDING.value,
            Person.email_confirmed_at.is_not(None),
        )
        .order_by(Membership.id)
    ).all()
    return [m for m in pending if _try_automatic(m)]

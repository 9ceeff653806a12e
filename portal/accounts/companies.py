"""LINK-J corporate members: a company holds the membership and its staff use its seats.

Staff record the company with its primary contact, who holds the first seat and invites
colleagues at the company's email domain. Seats are limited: invitations and acceptances
lock the company row, so two of them cannot both take the last seat.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.accounts import addresses, tokens
from portal.accounts.memberships import (
    add_membership_claim,
    default_validity_end,
    record_verification,
    today,
)
from portal.accounts.models import (
    LIVE_MEMBERSHIP_STATES,
    Company,
    Invitation,
    Membership,
    MembershipKind,
    MembershipStatus,
    Person,
    VerificationSource,
)
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.locking import lock_rows
from portal.notifications.services import external_url, queue_mail
from portal.organizations.models import Organization, OrganizationKind


def create_company(
    *,
    actor: Person,
    name: str,
    email_domain: str,
    seat_count: int,
    primary_contact: Person,
    valid_until: date | None = None,
) -> Company:
    """Staff record a LINK-J corporate member; its primary contact gets a verified seat."""
    hub = db.session.scalar(select(Organization).where(Organization.kind == OrganizationKind.HUB))
    if hub is None or not actor.is_staff:
        raise NotFound(_("Not found."))
    if not name.strip():
        raise InvalidInput(_("Enter the company's name."))
    if seat_count < 1:
        raise InvalidInput(_("A corporate membership has at least one seat."))
    domain = addresses.clean_domain(email_domain)
    if not addresses.domain_matches(
        addresses.email_domain(primary_contact.email_normalized), domain
    ):
        raise InvalidInput(_("The primary contact's address must be at the company's domain."))
    end = valid_until or default_validity_end(hub, today(hub))
    if end < today(hub):
        raise InvalidInput(_("The validity end cannot be in the past."))
    company = add_company(
        hub,
        actor=actor,
        name=name,
        email_domain=domain,
        seat_count=seat_count,
        primary_contact=primary_contact,
        valid_until=end,
    )
    db.session.commit()
    return company


def add_company(
    hub: Organization,
    *,
    actor: Person | None,
    name: str,
    email_domain: str,
    seat_count: int,
    primary_contact: Person,
    valid_until: date,
) -> Company:
    """Record a corporate member in the current transaction (no commit): its primary contact
    gets a verified seat. ``create_company`` (staff) and paid dues (``portal.dues``) call it."""
    domain = email_domain
    end = valid_until
    company = Company(
        organization_id=hub.id,
        name=name.strip(),
        email_domain=domain,
        seat_count=seat_count,
        valid_until=end,
        primary_contact=primary_contact,
    )
    db.session.add(company)
    db.session.flush()
    _give_seat(company, primary_contact, actor=actor)
    record(
        "company.create",
        actor=actor,
        subject_type="company",
        subject_id=company.id,
        organization_id=hub.id,
        seats=seat_count,
    )
    return company


def _give_seat(company: Company, person: Person, *, actor: Person | None) -> Membership:
    membership = next(
        (
            m
            for m in person.memberships
            if m.organization_id == company.organization_id and m.status in LIVE_MEMBERSHIP_STATES
        ),
        None,
    )
    if membership is None:
        membership = add_membership_claim(
            person, company.organization, kind=MembershipKind.CORPORATE.value
        )
        db.session.flush()
    elif membership.status == MembershipStatus.VERIFIED and membership.company_id not in (
        None,
        company.id,
    ):
        raise InvalidTransition(_("This person already holds a seat of another company."))
    membership.kind = MembershipKind.CORPORATE.value
    membership.company = company
    if membership.status == MembershipStatus.PENDING:
        record_verification(
            membership,
            actor=actor,
            valid_until=company.valid_until
            or default_validity_end(company.organization, today(company.organization)),
            via=VerificationSource.INVITATION,
        )
    return membership


def seats_taken(company: Company) -> int:
    """Seats held (live memberships) plus seats promised (open, unexpired invitations)."""
    held = (
        db.session.scalar(
            select(func.count(Membership.id)).where(
                Membership.company_id == company.id,
                Membership.status.in_([s.value for s in LIVE_MEMBERSHIP_STATES]),
            )
        )
        or 0
    )
    promised = (
        db.session.scalar(
            select(func.count(Invitation.id)).where(
                Invitation.company_id == company.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
        )
        or 0
    )
    return held + promised


INVITATION_LIFETIME = timedelta(days=14)


def _lock_company(company: Company) -> Company:
    # Seats are a limited resource (ASVS 2.3.3): lock the company row so two invitations
    # or acceptances cannot both take the last seat.
    lock_rows(Company.__table__, [company.id])
    db.session.refresh(company)
    return company


def invite_colleague(company: Company, email: str, *, actor: Person) -> Invitation:
    """The primary contact invites a colleague at the company's domain to a free seat."""
    if company.primary_contact_id != actor.id:
        raise NotFound(_("Not found."))
    address = addresses.normalize_email(addresses.clean_email(email))
    if not addresses.domain_matches(addresses.email_domain(address), company.email_domain):
        raise InvalidInput(
            _("Only addresses at %(domain)s can be invited.", domain=company.email_domain)
        )
    company = _lock_company(company)
    if seats_taken(company) >= company.seat_count:
        raise InvalidTransition(
            _("All %(count)d seats are taken or promised.", count=company.seat_count)
        )
    open_invitation = db.session.scalar(
        select(Invitation).where(
            Invitation.company_id == company.id,
            Invitation.email_normalized == address,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    if open_invitation is not None:
        # An expired one is replaced; a live one is not sent twice.
        if open_invitation.expires_at > utcnow():
            raise InvalidTransition(_("This colleague already has an open invitation."))
        open_invitation.revoked_at = utcnow()
        db.session.flush()
    invitation = Invitation(
        company_id=company.id,
        email_normalized=address,
        invited_by_id=actor.id,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    token = tokens.make_token("invitation", {"invitation": invitation.id, "email": address})
    queue_mail(
        to=address,
        template="accounts/invitation",
        locale=actor.preferred_locale,
        company=company,
        inviter=actor,
        accept_url=external_url("accounts.accept_invitation", token=token),
        register_url=external_url("accounts.register"),
    )
    record(
        "invitation.create",
        actor=actor,
        subject_type="invitation",
        subject_id=invitation.id,
        organization_id=company.organization_id,
        company=company.id,
    )
    db.session.commit()
    return invitation


def revoke_invitation(invitation: Invitation, *, actor: Person) -> None:
    if invitation.company.primary_contact_id != actor.id and not actor.is_staff:
        raise NotFound(_("Not found."))
    if invitation.accepted_at or invitation.revoked_at:
        raise InvalidTransition(_("This invitation is no longer open."))
    invitation.revoked_at = utcnow()
    db.session.commit()


def invitation_from_token(token: str) -> Invitation:
    payload = tokens.read_token("invitation", token)
    invitation = db.session.get(Invitation, payload.get("invitation"))
    if invitation is None or invitation.email_normalized != payload.get("email"):
        raise InvalidInput(_("This invitation is not valid."))
    if invitation.accepted_at:
        raise InvalidTransition(_("This invitation was already accepted."))
    if invitation.revoked_at or invitation.expires_at <= utcnow():
        raise InvalidInput(_("This invitation has expired or was withdrawn. Ask for a new one."))
    return invitation


def accept_invitation(token: str, *, person: Person) -> Membership:
    """A colleague signed in with the invited, confirmed address takes the seat."""
    invitation = invitation_from_token(token)
    if person.email_normalized != invitation.email_normalized or not person.email_confirmed:
        raise InvalidInput(
            _(
                "This invitation is for %(email)s. Log in with that confirmed address.",
                email=invitation.email_normalized,
            )
        )
    company = _lock_company(invitation.company)
    if company.valid_until and company.valid_until < today(company.organization):
        raise InvalidTransition(_("The company's membership has ended."))
    membership = _give_seat(company, person, actor=None)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = person.id
    record(
        "invitation.accept",
        actor=person,
        subject_type="invitation",
        subject_id=invitation.id,
        organization_id=company.organization_id,
        membership=membership.id,
    )
    db.session.commit()
    return membership

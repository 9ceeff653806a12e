"""People: registration and membership claims, sign-in, passwords, roles, export and deletion.

A person's own settings (profile, address) are in ``profile``.

Every function takes the acting person as an argument, never reads the request, and commits
once at its end. Rules are raised as DomainError with a message for the person who acted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from portal.accounts import passwords, personal_data, sessions, tokens
from portal.accounts.addresses import clean_email, find_person_by_email, normalize_email
from portal.accounts.automatic_verification import apply_automatic_verification
from portal.accounts.memberships import add_membership_claim
from portal.accounts.models import (
    Company,
    Invitation,
    LoginSession,
    Membership,
    MembershipKind,
    Person,
    Role,
    RoleGrant,
    SessionEnd,
)
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.services import external_url, mail_person
from portal.organizations.models import Organization, OrganizationKind


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    family_name: str
    given_name: str
    home_organization_id: int
    membership_kind: str = MembershipKind.INDIVIDUAL.value
    member_number: str = ""
    family_name_kana: str = ""
    given_name_kana: str = ""
    romanized_name: str = ""
    affiliation: str = ""
    locale: str = "en"


def register_person(form: Registration) -> Person | None:
    """Create an account with a pending membership and mail a confirmation link.

    When the address already has an account nothing is created and that account's owner is
    told by mail instead, so the answer on screen is the same either way (no enumeration).
    Raises InvalidInput for a bad address, a weak password or an unknown organization.
    """
    email = clean_email(form.email)
    passwords.check_password_policy(form.password, email=email)
    if not form.family_name.strip() or not form.given_name.strip():
        raise InvalidInput(_("Enter your family name and given name."))
    organization = db.session.get(Organization, form.home_organization_id)
    if organization is None:
        raise InvalidInput(_("Choose your home organization from the list."))
    if form.membership_kind not in set(MembershipKind):
        raise InvalidInput(_("Choose corporate or individual membership."))

    existing = find_person_by_email(email)
    if existing is not None:
        mail_person(
            existing,
            "accounts/already_registered",
            locale=form.locale,
            login_url=external_url("accounts.login"),
            reset_url=external_url("accounts.request_reset"),
        )
        db.session.commit()
        return None

    person = Person(
        email=email,
        email_normalized=normalize_email(email),
        password_hash=passwords.hash_password(form.password),
        family_name=form.family_name.strip(),
        given_name=form.given_name.strip(),
        family_name_kana=form.family_name_kana.strip(),
        given_name_kana=form.given_name_kana.strip(),
        romanized_name=form.romanized_name.strip(),
        affiliation=form.affiliation.strip(),
        preferred_locale=form.locale,
    )
    db.session.add(person)
    try:
        db.session.flush()
    except IntegrityError:
        # The same address registered a moment ago in another request: same answer as above.
        db.session.rollback()
        return None
    add_membership_claim(
        person,
        organization,
        kind=form.membership_kind,
        member_number=form.member_number,
    )
    _queue_confirmation(person)
    db.session.commit()
    return person


def _queue_confirmation(person: Person) -> None:
    token = tokens.make_token(
        "confirm-email", {"person": person.id, "email": person.email_normalized}
    )
    mail_person(
        person,
        "accounts/confirm_email",
        confirm_url=external_url("accounts.confirm_email", token=token),
    )


def resend_confirmation(person: Person) -> None:
    if person.email_confirmed:
        raise InvalidTransition(_("Your email address is already confirmed."))
    _queue_confirmation(person)
    db.session.commit()


def confirm_email(token: str) -> Person:
    """Confirm the address the link was sent to; then apply automatic verification.

    Raises InvalidInput for an expired or forged link, or one for an address that has since
    changed; InvalidTransition when the address was already confirmed.
    """
    payload = tokens.read_token("confirm-email", token)
    person = db.session.get(Person, payload.get("person"))
    if person is None or person.deleted_at or person.email_normalized != payload.get("email"):
        raise InvalidInput(_("This link is not valid any more. Log in to ask for a new one."))
    if person.email_confirmed:
        raise InvalidTransition(_("This link was already used: your address is confirmed."))
    person.email_confirmed_at = utcnow()
    apply_automatic_verification(person)
    db.session.commit()
    return person


def claim_membership(
    person: Person,
    organization: Organization,
    *,
    kind: str = MembershipKind.INDIVIDUAL.value,
    member_number: str = "",
) -> Membership:
    """A signed-in person claims membership in one more organization.

    Verified at once when a roster entry or domain rule matches a confirmed address.
    Raises InvalidTransition while a live membership in that organization exists.
    """
    membership = add_membership_claim(person, organization, kind=kind, member_number=member_number)
    apply_automatic_verification(person)
    db.session.commit()
    return membership


def authenticate(email: str, password: str) -> Person | None:
    """The person these credentials belong to, or None; takes as long for unknown addresses."""
    person = find_person_by_email(email) if email.strip() else None
    if person is None:
        passwords.verify_password(None, password)
        return None
    if not passwords.verify_password(person.password_hash, password):
        return None
    if person.password_hash and passwords.needs_rehash(person.password_hash):
        person.password_hash = passwords.hash_password(password)
        db.session.commit()
    # Proving the password is not yet a sign-in: sessions.sign_in opens (and dates) one.
    return person


def request_password_reset(email: str, *, locale: str) -> None:
    """Mail a single-use reset link when the address has an account; silently nothing else."""
    person = find_person_by_email(email)
    if person is None:
        return
    token = tokens.make_token(
        "reset-password", {"person": person.id, "version": person.session_version}
    )
    mail_person(
        person,
        "accounts/reset_password",
        locale=locale,
        reset_url=external_url("accounts.reset_password", token=token),
    )
    db.session.commit()


def check_reset_token(token: str) -> Person:
    """The person a reset link is for, while it is unused and unexpired; InvalidInput else."""
    payload = tokens.read_token("reset-password", token)
    person = db.session.get(Person, payload.get("person"))
    if person is None or person.deleted_at or person.session_version != payload.get("version"):
        raise InvalidInput(
            _("This link was already used or is no longer valid. Ask for a new one.")
        )
    return person


def reset_password(token: str, new_password: str) -> Person:
    """Set a new password from a reset link; the link and every open session stop working
    (rule 15: whoever knew the old password is signed out everywhere)."""
    person = check_reset_token(token)
    passwords.check_password_policy(new_password, email=person.email)
    person.password_hash = passwords.hash_password(new_password)
    person.session_version += 1  # the reset link is single use
    _end_sessions_for_password(person, SessionEnd.PASSWORD_RESET)
    if not person.email_confirmed:
        # Following a link sent to the address proves the address.
        person.email_confirmed_at = utcnow()
    db.session.commit()
    return person


def change_password(
    person: Person,
    *,
    current_password: str,
    new_password: str,
    keep: LoginSession | None = None,
) -> None:
    """Replace the password; every other session ends (rule 15), ``keep`` (the one the
    person changed it in) stays."""
    if not passwords.verify_password(person.password_hash, current_password):
        raise InvalidInput(_("Your current password is not correct."))
    passwords.check_password_policy(new_password, email=person.email)
    person.password_hash = passwords.hash_password(new_password)
    person.session_version += 1  # reset links sent before stop working
    _end_sessions_for_password(person, SessionEnd.PASSWORD_CHANGED, keep)
    mail_person(
        person,
        "accounts/password_changed",
        reset_url=external_url("accounts.request_reset"),
    )
    db.session.commit()


def _end_sessions_for_password(
    person: Person, reason: SessionEnd, keep: LoginSession | None = None
) -> None:
    ended = sessions.end_all_sessions(person, reason=reason, actor=person, keep=keep)
    if ended:
        record(
            "session.end_all",
            actor=person,
            subject_type="person",
            subject_id=person.id,
            ended=ended,
            reason_code=reason.value,
        )


# --- roles ---


def _require_admin(actor: Person | None) -> None:
    # actor None is the command line, run by someone with the server's shell.
    if actor is not None and not actor.is_admin:
        raise NotFound(_("Not found."))


def grant_role(
    person: Person,
    role: Role | str,
    *,
    actor: Person | None,
    organization: Organization | None = None,
    reason: str = "",
) -> RoleGrant:
    """Give a role. Partner admins act for exactly one partner; the others for no one.

    Raises NotFound when the actor is not an admin, InvalidInput for a missing or wrong
    organization, InvalidTransition when the person already holds the role.
    """
    _require_admin(actor)
    role = Role(role)
    if role == Role.PARTNER_ADMIN:
        if organization is None:
            raise InvalidInput(_("Choose the organization this partner admin acts for."))
        if organization.kind == OrganizationKind.HUB:
            raise InvalidInput(_("LINK-J memberships are verified by staff; grant the staff role."))
    elif organization is not None:
        raise InvalidInput(_("Only partner admins act for one organization."))
    if any(g.role == role for g in person.role_grants):
        raise InvalidTransition(_("This person already has this role."))
    grant = RoleGrant(
        person=person,
        role=role.value,
        organization_id=organization.id if organization else None,
        granted_by_id=actor.id if actor else None,
    )
    db.session.add(grant)
    db.session.flush()
    record(
        "role.grant",
        actor=actor,
        subject_type="person",
        subject_id=person.id,
        organization_id=organization.id if organization else None,
        reason=reason,
        role=role.value,
    )
    db.session.commit()
    return grant


def revoke_role(
    person: Person, role: Role | str, *, actor: Person | None, reason: str = ""
) -> None:
    """Remove a role; the person's sessions end so the removal takes effect at once."""
    _require_admin(actor)
    role = Role(role)
    grant = next((g for g in person.role_grants if g.role == role), None)
    if grant is None:
        raise InvalidTransition(_("This person does not have this role."))
    if actor is not None and actor.id == person.id and role == Role.ADMIN:
        raise InvalidTransition(_("You cannot remove your own admin role."))
    organization_id = grant.organization_id
    person.role_grants.remove(grant)
    # Rule 15: the removal takes effect at once, not when a session would have expired.
    ended = sessions.end_all_sessions(person, reason=SessionEnd.ROLE_REMOVED, actor=actor)
    record(
        "role.revoke",
        actor=actor,
        subject_type="person",
        subject_id=person.id,
        organization_id=organization_id,
        reason=reason,
        role=role.value,
        sessions_ended=ended,
    )
    db.session.commit()


def create_person_directly(
    email: str, password: str, *, family_name: str, given_name: str
) -> Person:
    """An account that needs no confirmation, for the command line and demo data."""
    email = clean_email(email)
    passwords.check_password_policy(password, email=email)
    if find_person_by_email(email) is not None:
        raise InvalidInput(_("An account with this address already exists."))
    person = Person(
        email=email,
        email_normalized=normalize_email(email),
        password_hash=passwords.hash_password(password),
        family_name=family_name,
        given_name=given_name,
        email_confirmed_at=utcnow(),
    )
    db.session.add(person)
    db.session.commit()
    return person


# --- the person's own data ---------------------------------------------------------------


def export_personal_data(person: Person) -> dict[str, Any]:
    """Everything the portal holds about the person, for download (GDPR art. 15 and 20).

    Each area adds its own part (``personal_data``): registrations with their answers,
    claims, consents, payments and invoices. ``kept_after_deletion`` says, area by area, what
    deleting the account would leave, why, and until when.
    """
    when = personal_data.when
    data: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "account": {
            "email": person.email,
            "email_confirmed_at": when(person.email_confirmed_at),
            "family_name": person.family_name,
            "given_name": person.given_name,
            "family_name_kana": person.family_name_kana,
            "given_name_kana": person.given_name_kana,
            "romanized_name": person.romanized_name,
            "affiliation": person.affiliation,
            "preferred_locale": person.preferred_locale,
            "timezone": person.timezone,
            "created_at": when(person.created_at),
            "last_login_at": when(person.last_login_at),
        },
        "memberships": [
            {
                "organization": m.organization.slug,
                "kind": m.kind,
                "member_number": m.member_number,
                "status": m.status,
                "valid_until": m.valid_until.isoformat() if m.valid_until else None,
                "company": m.company.name if m.company else None,
                "decided_at": when(m.decided_at),
                "decision_reason": m.decision_reason,
                "claimed_at": when(m.created_at),
            }
            for m in person.memberships
        ],
        "roles": [
            {"role": g.role, "organization": g.organization.slug if g.organization else None}
            for g in person.role_grants
        ],
        "sessions": [
            {
                "signed_in_at": when(s.created_at),
                "last_seen_at": when(s.last_seen_at),
                "browser": s.user_agent,
                "network": s.network,
                "stay_logged_in": s.remember,
                "ended_at": when(s.ended_at),
                "end_reason": s.end_reason,
            }
            for s in db.session.scalars(
                select(LoginSession)
                .where(LoginSession.person_id == person.id)
                .order_by(LoginSession.id)
            )
        ],
    }
    areas = personal_data.areas()
    for area in areas:
        data.update(area.export(person))
    data["messages"] = [
        {"subject": m.subject, "queued_at": when(m.created_at), "status": m.status}
        for m in db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.person_id == person.id)
            .order_by(OutboxMessage.id)
        )
    ]
    data["kept_after_deletion"] = [
        {
            "area": name,
            "what": k.what,
            "why": k.why,
            "until": k.until.isoformat() if k.until else None,
        }
        for name, k in kept_after_deletion(person)
    ]
    return data


def kept_after_deletion(person: Person) -> list[tuple[str, personal_data.Kept]]:
    """(area, what it keeps) if the person deleted their account today, area by area."""
    day = utcnow().date()
    account = personal_data.Kept(
        what=_(
            "An emptied account record, with no name or address, that the audit log and "
            "the list of mail sent point to."
        ),
        why=_(
            "Decisions and changes in the portal are audited (who, what, when and why); "
            "the audit log stays complete without your personal data."
        ),
    )
    return [("account", account)] + [
        (area.name, kept) for area in personal_data.areas() for kept in area.kept(person, day)
    ]


#: Tables naming a person that ``delete_account`` erases itself; the other areas' are in
#: ``personal_data``.
ERASED_BY_ACCOUNTS = (
    "person",
    "membership",
    "role_grant",
    "invitation",
    "outbox_message",
    "login_session",
)


def delete_account(person: Person, *, password: str) -> None:
    """Erase the person's personal data, keeping an empty row for audit entries to point at.

    Each area erases its own part first, in ``personal_data`` order (live registrations are
    cancelled and their seats go to the waitlist, pending claims are withdrawn, what the law
    keeps is kept with the least personal data); then memberships, roles, invitations and
    unsent mail go, and sent mail keeps no address. One transaction, audited (person.delete)
    with what was done. Raises InvalidInput for a wrong password; DomainError while the person
    is the primary contact of a corporate member (staff must name another first).
    """
    if not passwords.verify_password(person.password_hash, password):
        raise InvalidInput(_("Your current password is not correct."))
    if db.session.scalar(select(Company.id).where(Company.primary_contact_id == person.id)):
        raise DomainError(
            _(
                "You are the primary contact of a corporate member. "
                "Ask LINK-J staff to name another contact first."
            )
        )
    moment = utcnow()
    done: dict[str, int] = {}
    for area in personal_data.areas():
        done.update(area.erase(person, moment))
    db.session.execute(delete(Membership).where(Membership.person_id == person.id))
    db.session.execute(delete(RoleGrant).where(RoleGrant.person_id == person.id))
    # Invitations and some mail name the person only by address: find them by it too.
    addressed_to_them = or_(
        OutboxMessage.person_id == person.id,
        func.lower(OutboxMessage.to_address) == person.email_normalized,
    )
    db.session.execute(
        delete(Invitation).where(
            or_(
                Invitation.invited_by_id == person.id,
                Invitation.email_normalized == person.email_normalized,
            )
        )
    )
    db.session.execute(
        delete(OutboxMessage).where(
            addressed_to_them, OutboxMessage.status == OutboxStatus.QUEUED.value
        )
    )
    for message in db.session.scalars(select(OutboxMessage).where(addressed_to_them)):
        message.to_address = "deleted@invalid"
        message.body_text = ""
        message.attachments = []
    record("person.delete", actor=person, subject_type="person", subject_id=person.id, **done)
    person.email = f"deleted-{person.id}@invalid"
    person.email_normalized = f"deleted-{person.id}@invalid"
    person.pending_email = None
    person.password_hash = None
    person.family_name = person.given_name = ""
    person.family_name_kana = person.given_name_kana = ""
    person.romanized_name = person.affiliation = ""
    person.preferred_locale = None
    person.timezone = None
    person.calendar_token = None
    person.email_confirmed_at = None
    person.last_login_at = None
    person.deleted_at = moment
    person.session_version += 1
    # Rule 15 ends them; rule 14 keeps nothing of them (browsers, networks).
    sessions.end_all_sessions(person, reason=SessionEnd.ACCOUNT_DELETED, actor=person)
    db.session.flush()
    db.session.execute(delete(LoginSession).where(LoginSession.person_id == person.id))
    db.session.expire(person, ["memberships", "role_grants"])
    db.session.commit()

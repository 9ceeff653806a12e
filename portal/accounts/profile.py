"""A person's own settings: their profile, and changing their address (confirmed by a link
sent to the new one)."""

from __future__ import annotations

from portal.accounts import passwords, tokens
from portal.accounts.addresses import clean_email, find_person_by_email, normalize_email
from portal.accounts.automatic_verification import apply_automatic_verification
from portal.accounts.models import Person
from portal.db import utcnow
from portal.errors import InvalidInput
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.services import external_url, mail_person, queue_mail


def request_email_change(person: Person, *, new_email: str, password: str) -> None:
    """Send a confirmation link to the new address; the address changes when it is followed.

    If another account already uses the new address, that address is told so instead, and
    the person sees the same answer as for a free address (no enumeration).
    """
    if not passwords.verify_password(person.password_hash, password):
        raise InvalidInput(_("Your current password is not correct."))
    email = clean_email(new_email)
    if normalize_email(email) == person.email_normalized:
        raise InvalidInput(_("This is already your address."))
    if find_person_by_email(email) is not None:
        # To the address as typed, not to that account: who owns it is not looked into.
        queue_mail(
            to=email,
            template="accounts/email_taken",
            locale=person.preferred_locale,
            reset_url=external_url("accounts.request_reset"),
        )
        db.session.commit()
        return
    person.pending_email = email
    token = tokens.make_token(
        "change-email", {"person": person.id, "email": normalize_email(email)}
    )
    mail_person(
        person,
        "accounts/confirm_new_email",
        to=email,
        confirm_url=external_url("accounts.confirm_email_change", token=token),
    )
    mail_person(
        person,
        "accounts/email_change_requested",
        new_email=email,
    )
    db.session.commit()


def confirm_email_change(token: str) -> Person:
    """Switch to the new address; the link works once, and only for the latest request."""
    payload = tokens.read_token("change-email", token)
    person = db.session.get(Person, payload.get("person"))
    if (
        person is None
        or person.deleted_at
        or not person.pending_email
        or normalize_email(person.pending_email) != payload.get("email")
    ):
        raise InvalidInput(_("This link was already used or is no longer valid."))
    if find_person_by_email(person.pending_email) is not None:
        person.pending_email = None
        db.session.commit()
        raise InvalidInput(_("Another account now uses this address; your address is unchanged."))
    person.email = person.pending_email
    person.email_normalized = normalize_email(person.pending_email)
    person.pending_email = None
    person.email_confirmed_at = utcnow()
    apply_automatic_verification(person)
    db.session.commit()
    return person


PROFILE_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "romanized_name",
    "affiliation",
    "preferred_locale",
)


def update_profile(person: Person, **changes: str) -> None:
    """Change some of the person's ``PROFILE_FIELDS``; InvalidInput for an empty name or a
    language the portal does not speak."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    cleaned = {key: (value or "").strip() for key, value in changes.items()}
    if ("family_name" in cleaned and not cleaned["family_name"]) or (
        "given_name" in cleaned and not cleaned["given_name"]
    ):
        raise InvalidInput(_("Enter your family name and given name."))
    if cleaned.get("preferred_locale") not in (None, "", "en", "ja"):
        raise InvalidInput(_("Choose English or Japanese."))
    for key, value in cleaned.items():
        setattr(person, key, value or (None if key == "preferred_locale" else ""))
    db.session.commit()

"""Passkeys (WebAuthn): registration and authentication ceremonies, checked on the server.

The relying party is the portal's configured host name (``WEBAUTHN_RP_ID``) and answers are
accepted from its configured origin only (``WEBAUTHN_ORIGIN``), never from what a request
claims. Each ceremony's challenge is made here, kept by the caller (the session) and passed
back once; a credential whose counter does not move forward is refused as a clone.

py_webauthn is imported by the ceremonies, not with the module: with the certificate
checks it brings (pyOpenSSL, cryptography's X.509) it is a third of a second and several
megabytes in every process of the portal, and only a page about passkeys needs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import select, update

from portal.accounts.factors import recovery
from portal.accounts.factors.enrolled import has_factor
from portal.accounts.factors.models import Passkey
from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidInput
from portal.extensions import db
from portal.language import gettext as _

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

NAME_LENGTH = 100
#: Passkeys per person: enough for every device and a spare key or two.
MOST_PASSKEYS = 10


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser (JSON, base64url-encoded bytes) and the challenge to keep."""

    options_json: str
    challenge: bytes


def _descriptors(person: Person) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=key.credential_id,
            transports=[AuthenticatorTransport(t) for t in key.transports.split(",") if t in known]
            or None,
        )
        for key in db.session.scalars(select(Passkey).where(Passkey.person_id == person.id))
    ]


def registration_ceremony(person: Person) -> Ceremony:
    import webauthn
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = webauthn.generate_registration_options(
        rp_id=current_app.config["WEBAUTHN_RP_ID"],
        rp_name=current_app.config["WEBAUTHN_RP_NAME"],
        # An opaque, stable handle: the account's number, never the address.
        user_id=f"person-{person.id}".encode(),
        user_name=person.email,
        user_display_name=person.email,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(person),
    )
    return Ceremony(webauthn.options_to_json(options), options.challenge)


def authentication_ceremony(person: Person) -> Ceremony:
    import webauthn
    from webauthn.helpers.structs import UserVerificationRequirement

    options = webauthn.generate_authentication_options(
        rp_id=current_app.config["WEBAUTHN_RP_ID"],
        allow_credentials=_descriptors(person),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return Ceremony(webauthn.options_to_json(options), options.challenge)


def add_passkey(
    person: Person, *, name: str, credential: str, challenge: bytes | None
) -> list[str] | None:
    """Keep the passkey the browser just made, once its answer to ``challenge`` checks out.

    Raises InvalidInput for a missing name, a stale or forged answer, or one passkey too
    many; nothing is saved then. Returns the new recovery codes when this is the person's
    first factor, to be shown once."""
    import webauthn
    from webauthn.helpers import parse_registration_credential_json
    from webauthn.helpers.exceptions import WebAuthnException

    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH:
        raise InvalidInput(_("Give the passkey a name (at most 100 characters)."), field="name")
    count = len(_descriptors(person))
    if count >= MOST_PASSKEYS:
        raise InvalidInput(_("You have ten passkeys already; remove one first."))
    if challenge is None or not credential:
        raise InvalidInput(_("The passkey was not created. Try again."))
    try:
        parsed = parse_registration_credential_json(credential)
        verified = webauthn.verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=current_app.config["WEBAUTHN_RP_ID"],
            expected_origin=current_app.config["WEBAUTHN_ORIGIN"],
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        current_app.logger.info("passkey registration refused: %s", error)
        raise InvalidInput(_("The passkey could not be checked. Try again.")) from None
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == verified.credential_id)):
        raise InvalidInput(_("This passkey is registered already."))
    first = not has_factor(person.id)
    transports = parsed.response.transports or []
    db.session.add(
        Passkey(
            person_id=person.id,
            name=name,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=",".join(t.value for t in transports),
        )
    )
    codes = recovery.replace_codes(person) if first else None
    record("factor.add", actor=person, subject_type="person", subject_id=person.id, kind="passkey")
    db.session.commit()
    return codes


def use_passkey(person: Person, *, credential: str, challenge: bytes | None) -> bool:
    """True when ``credential`` answers ``challenge`` with one of the person's passkeys and
    its counter moved on (no commit)."""
    import webauthn
    from webauthn.helpers import parse_authentication_credential_json
    from webauthn.helpers.exceptions import WebAuthnException

    if challenge is None or not credential:
        return False
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return False
    key = db.session.scalar(
        select(Passkey).where(
            Passkey.person_id == person.id, Passkey.credential_id == parsed.raw_id
        )
    )
    if key is None:
        return False
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=current_app.config["WEBAUTHN_RP_ID"],
            expected_origin=current_app.config["WEBAUTHN_ORIGIN"],
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
        )
    except WebAuthnException as error:
        current_app.logger.info("passkey sign-in refused: %s", error)
        return False
    # Two answers at once: only the one that moves the counter from what was read wins.
    moved = db.session.execute(
        update(Passkey)
        .where(Passkey.id == key.id, Passkey.sign_count == key.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]

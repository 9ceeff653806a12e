"""Authenticator apps (TOTP, RFC 6238): enrolment confirmed by a code, codes used once."""

from __future__ import annotations

import hmac
import time

import pyotp
import segno
from sqlalchemy import select, update

from portal.accounts.factors import recovery
from portal.accounts.factors.enrolled import has_factor
from portal.accounts.factors.models import AuthenticatorApp
from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition
from portal.extensions import db
from portal.language import gettext as _

ISSUER = "LINK-J Portal"
STEP_SECONDS = 30
#: Codes of the previous and next step are accepted too: phones' clocks drift.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def setup_uri(person: Person, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=person.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The setup address as an inline SVG QR code (no script, no external image)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    typed = "".join(code.split())
    if not typed.isdigit() or len(typed) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def add_app(person: Person, *, secret: str, code: str) -> list[str] | None:
    """Save the app once a code from it proves it holds ``secret``; nothing is saved
    otherwise (InvalidInput). Returns the new recovery codes when this is the person's first
    factor, to be shown once."""
    if db.session.scalar(
        select(AuthenticatorApp.id).where(AuthenticatorApp.person_id == person.id)
    ):
        raise InvalidTransition(_("You already use an authenticator app; remove it first."))
    step = _matching_step(secret, code)
    if step is None:
        raise InvalidInput(
            _("This code is not the one your app shows now. Check the app and try again."),
            field="code",
        )
    first = not has_factor(person.id)
    db.session.add(AuthenticatorApp(person_id=person.id, secret=secret, last_used_step=step))
    codes = recovery.replace_codes(person) if first else None
    record("factor.add", actor=person, subject_type="person", subject_id=person.id, kind="app")
    db.session.commit()
    return codes


def use_app_code(person: Person, code: str) -> bool:
    """True when ``code`` is the person's app's current code, not used before (no commit)."""
    app = db.session.scalar(select(AuthenticatorApp).where(AuthenticatorApp.person_id == person.id))
    if app is None:
        return False
    step = _matching_step(app.secret, code)
    if step is None or step <= app.last_used_step:
        return False
    # The same code sent twice at once: only the request that moves the step on succeeds.
    moved = db.session.execute(
        update(AuthenticatorApp)
        .where(AuthenticatorApp.id == app.id, AuthenticatorApp.last_used_step < step)
        .values(last_used_step=step, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]

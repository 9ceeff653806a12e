"""Is this the person? Their second factor, at sign-in and for step-up (rule 17)."""

from __future__ import annotations

import enum

from portal.accounts.factors import apps, passkeys, recovery
from portal.accounts.models import Person
from portal.audit.services import record
from portal.errors import InvalidInput
from portal.extensions import db
from portal.language import gettext as _


class Method(enum.StrEnum):
    PASSKEY = "passkey"
    APP = "app"
    RECOVERY_CODE = "recovery_code"


#: The form field beside which a refusal shows (a passkey has none: the page says it).
_FIELDS = {Method.APP: "code", Method.RECOVERY_CODE: "recovery_code"}


def confirm_factor(
    person: Person,
    method: Method,
    answer: str,
    *,
    challenge: bytes | None = None,
    step_up: bool = False,
) -> None:
    """Check one answer: a passkey's signature over ``challenge``, the app's current code, or
    an unused recovery code. Each code and signature counts once. Raises InvalidInput, with
    nothing changed, when it does not match. A step-up is audited, and so is every recovery
    code used."""
    if method == Method.PASSKEY:
        ok = passkeys.use_passkey(person, credential=answer, challenge=challenge)
        message = _("The passkey was not accepted. Try again, or use another way.")
    elif method == Method.APP:
        ok = apps.use_app_code(person, answer)
        message = _("This code is not right, or was used already. Wait for the next one.")
    else:
        ok = recovery.use_code(person, answer)
        message = _("This recovery code is not right, or was used already.")
    if not ok:
        raise InvalidInput(message, field=_FIELDS.get(method))
    if step_up:
        record(
            "factor.step_up",
            actor=person,
            subject_type="person",
            subject_id=person.id,
            method=method.value,
        )
    db.session.commit()

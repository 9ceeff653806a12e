"""Single-use recovery codes (rule 17): ten, shown once, stored as Argon2id hashes."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select, update

from portal.accounts import passwords
from portal.accounts.factors.models import RecoveryCode
from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.extensions import db

COUNT = 10
#: No 0/O, 1/I/L: codes are copied from paper.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_LENGTH = 10  # about 49 bits each: guessing is bounded by the sign-in's rate limit first


def normalize(code: str) -> str:
    """What a person typed, without spaces, dashes and case."""
    return "".join(c for c in code.lower() if c.isalnum())


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def replace_codes(person: Person) -> list[str]:
    """Ten new codes for the person, the old ones void, in the caller's transaction (no
    commit). The codes are returned to be shown once; only their hashes are kept."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
    codes = [_new_code() for _ in range(COUNT)]
    db.session.add_all(
        RecoveryCode(person_id=person.id, code_hash=passwords.hash_password(normalize(code)))
        for code in codes
    )
    return codes


def renew_codes(person: Person) -> list[str]:
    """The person asked for new codes (the old ones stop working); audited."""
    codes = replace_codes(person)
    record(
        "factor.recovery_codes_renewed", actor=person, subject_type="person", subject_id=person.id
    )
    db.session.commit()
    return codes


def use_code(person: Person, code: str) -> bool:
    """True, once, for each unused code of the person; the use is audited (no commit)."""
    typed = normalize(code)
    if len(typed) != _LENGTH:
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    match = next((c for c in unused if passwords.verify_password(c.code_hash, typed)), None)
    if match is None:
        return False
    # Two requests with the same code at once: only the one that marks it used succeeds.
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return False
    record(
        "factor.recovery_code_used",
        actor=person,
        subject_type="person",
        subject_id=person.id,
        left=len(unused) - 1,
    )
    return True

"""Which second factors a person has (read-only; the changes are in ``apps``, ``passkeys``,
``recovery`` and ``removal``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from portal.accounts.factors.models import AuthenticatorApp, Passkey, RecoveryCode
from portal.extensions import db


def has_factor(person_id: int) -> bool:
    """A passkey or an authenticator app: recovery codes only stand in for those."""
    return bool(
        db.session.scalar(
            select(
                select(Passkey.id).where(Passkey.person_id == person_id).exists()
                | select(AuthenticatorApp.id)
                .where(AuthenticatorApp.person_id == person_id)
                .exists()
            )
        )
    )


@dataclass(frozen=True)
class Enrolled:
    passkeys: list[Passkey]
    app: AuthenticatorApp | None
    recovery_codes_left: int

    @property
    def any(self) -> bool:
        return bool(self.passkeys) or self.app is not None

    @property
    def count(self) -> int:
        return len(self.passkeys) + (1 if self.app is not None else 0)


def enrolled(person_id: int) -> Enrolled:
    return Enrolled(
        passkeys=list(
            db.session.scalars(
                select(Passkey).where(Passkey.person_id == person_id).order_by(Passkey.id)
            )
        ),
        app=db.session.scalar(
            select(AuthenticatorApp).where(AuthenticatorApp.person_id == person_id)
        ),
        recovery_codes_left=db.session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0,
    )

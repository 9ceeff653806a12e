"""Second factors in the person's data export and erasure (rule 14): names and dates of
passkeys and the app, never a secret, a key or a code hash."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete

from portal.accounts import personal_data
from portal.accounts.factors.enrolled import enrolled
from portal.accounts.factors.models import AuthenticatorApp, FactorGrace, Passkey, RecoveryCode
from portal.accounts.models import Person
from portal.extensions import db

_TABLES = (Passkey, AuthenticatorApp, RecoveryCode, FactorGrace)


def _export(person: Person) -> Mapping[str, Any]:
    factors = enrolled(person.id)
    when = personal_data.when
    return {
        "second_factors": {
            "passkeys": [
                {
                    "name": k.name,
                    "added_at": when(k.created_at),
                    "last_used_at": when(k.last_used_at),
                }
                for k in factors.passkeys
            ],
            "authenticator_app": (
                {
                    "added_at": when(factors.app.created_at),
                    "last_used_at": when(factors.app.last_used_at),
                }
                if factors.app
                else None
            ),
            "recovery_codes_left": factors.recovery_codes_left,
        }
    }


def _erase(person: Person, moment: datetime) -> Mapping[str, int]:
    count = enrolled(person.id).count
    for model in _TABLES:
        db.session.execute(delete(model).where(model.person_id == person.id))
    return {"second_factors_removed": count}


def _kept(person: Person, day: date) -> list[personal_data.Kept]:
    return []


personal_data.register(
    personal_data.PersonalDataArea(
        position=35,
        name="second_factors",
        export=_export,
        erase=_erase,
        kept=_kept,
        tables=tuple(model.__tablename__ for model in _TABLES),
    )
)

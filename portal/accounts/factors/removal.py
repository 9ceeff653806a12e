"""Removing a factor (asked for by a recently used factor: the views call step-up first)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from portal.accounts import sessions
from portal.accounts.factors.enrolled import enrolled
from portal.accounts.factors.models import AuthenticatorApp, FactorGrace, Passkey, RecoveryCode
from portal.accounts.factors.requirement import is_privileged
from portal.accounts.models import Person, SessionEnd
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _


def _before_removing_one(person: Person) -> None:
    factors = enrolled(person.id)
    if factors.count > 1:
        return
    if is_privileged(person):
        raise InvalidTransition(
            _("Your role needs a second factor: add another one before removing this one.")
        )
    # The last factor goes: two-step sign-in is off, and its recovery codes with it.
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person.id))


def remove_passkey(person: Person, passkey_id: int) -> Passkey:
    """Remove one of the person's passkeys (NotFound for anyone else's)."""
    key = db.session.scalar(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.person_id == person.id)
    )
    if key is None:
        raise NotFound(_("Not found."))
    _before_removing_one(person)
    db.session.delete(key)
    record(
        "factor.remove",
        actor=person,
        subject_type="person",
        subject_id=person.id,
        kind="passkey",
        name=key.name,
    )
    db.session.commit()
    return key


def remove_app(person: Person) -> None:
    app = db.session.scalar(select(AuthenticatorApp).where(AuthenticatorApp.person_id == person.id))
    if app is None:
        raise NotFound(_("Not found."))
    _before_removing_one(person)
    db.session.delete(app)
    record("factor.remove", actor=person, subject_type="person", subject_id=person.id, kind="app")
    db.session.commit()


def remove_every_factor(person: Person, *, reason: str) -> int:
    """For a person who lost every factor and recovery code, on the word of someone with the
    server's shell (``portal users remove-factors``): everything goes, their sessions end, and
    a privileged person gets no new grace (they add a factor before their next management
    page). Audited."""
    count = enrolled(person.id).count
    for model in (Passkey, AuthenticatorApp, RecoveryCode):
        db.session.execute(delete(model).where(model.person_id == person.id))
    # No new grace for a privileged person whose factors were removed: one at once.
    days = current_app.config["TWO_FACTOR_GRACE_DAYS"]
    grace = db.session.get(FactorGrace, person.id) or FactorGrace(person_id=person.id)
    grace.counts_from = utcnow() - timedelta(days=days)
    db.session.add(grace)
    person.session_version += 1
    ended = sessions.end_all_sessions(person, reason=SessionEnd.FACTORS_REMOVED, actor=None)
    record(
        "factor.remove",
        actor=None,
        subject_type="person",
        subject_id=person.id,
        reason=reason,
        kind="all",
        count=count,
        sessions_ended=ended,
    )
    db.session.commit()
    return count

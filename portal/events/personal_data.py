"""The events area's part of a person's data: registrations and their answers.

Registered with ``portal.accounts.personal_data``; see there for the order and transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts import personal_data
from portal.accounts.models import Person
from portal.events import leaving
from portal.events.models import Event, Registration
from portal.extensions import db
from portal.language import gettext as _


def _registrations(person: Person) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.person_id == person.id)
            .options(
                joinedload(Registration.event).selectinload(Event.questions),
                joinedload(Registration.ticket_type),
            )
            .order_by(Registration.created_at, Registration.id)
        )
    )


def _answers(registration: Registration) -> list[dict[str, Any]]:
    questions = {str(q.id): q for q in registration.event.questions}
    return [
        {
            "question": (q.label_en or q.label_ja) if (q := questions.get(key)) else key,
            "answer": value,
        }
        for key, value in registration.answers.items()
    ]


def _export(person: Person) -> Mapping[str, Any]:
    when = personal_data.when
    return {
        "event_registrations": [
            {
                "event": r.event.slug,
                "title": r.event.title_en or r.event.title_ja,
                "starts_at": when(r.event.starts_at),
                "ticket_type": r.ticket_type.name_en or r.ticket_type.name_ja,
                "price": r.price,
                "currency": r.currency,
                "status": r.status,
                "registered_at": when(r.created_at),
                "confirmed_at": when(r.confirmed_at),
                "cancelled_at": when(r.cancelled_at),
                "checked_in_at": when(r.checked_in_at),
                "decision_reason": r.decision_reason,
                "answers": _answers(r),
            }
            for r in _registrations(person)
        ]
    }


def _erase(person: Person, moment: datetime) -> Mapping[str, int]:
    ended = leaving.withdraw_registrations(person, moment=moment)
    # Free-text answers say who someone is (dietary needs, a lab's name): none is kept.
    answered = 0
    for registration in db.session.scalars(
        select(Registration).where(Registration.person_id == person.id)
    ):
        if registration.answers:
            registration.answers = {}
            answered += 1
        registration.decision_reason = ""
    return {"registrations_cancelled": ended, "registration_answers_erased": answered}


def _kept(person: Person, day: date) -> list[personal_data.Kept]:
    registered = db.session.scalar(
        select(Registration.id).where(Registration.person_id == person.id).limit(1)
    )
    if registered is None:
        return []
    return [
        personal_data.Kept(
            what=_(
                "Your registrations without your answers: the event, the ticket, its price "
                "and the dates. Registrations for events still to come are cancelled."
            ),
            why=_(
                "They count in the events' attendance and in the reports LINK-J and its "
                "partners exchange under their MOUs; with your account emptied they no "
                "longer identify you."
            ),
        )
    ]


personal_data.register(
    personal_data.PersonalDataArea(
        position=10,
        name="event_registrations",
        export=_export,
        erase=_erase,
        kept=_kept,
        tables=("registration",),
    )
)

"""Seats: what a seat is decided on, the event's lock, and how a free seat is given.

Capacity (rule 1) is decided in one place, ``_seats_left_expression``, on what the seat-state
statement reads after ``lock_event`` has locked the event's row, inside the transaction that
writes the registration: the capacities as committed then (the event may come from the
definition memo, read a moment earlier) and the seats held. Registering counts and writes in
one statement (``registering``), with the seat or the waitlist chosen by
``choose_allocation``; staff moves use ``seat_state`` and ``allocate``. Every change to an
event's seats takes the event's lock first, so it also covers the event's ticket types.
Freeing a seat needs no lock; promoting from the waitlist takes the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, case, func, literal_column, select
from sqlalchemy.orm import aliased

from portal.events.models import (
    LIVE_STATES,
    SEAT_STATES,
    Event,
    Registration,
    RegistrationStatus,
    TicketType,
)
from portal.extensions import db
from portal.locking import lock_rows

#: Minutes a seat stays held while a paid ticket waits for payment (the issue's example).
DEFAULT_PAYMENT_HOLD_MINUTES = 30


@dataclass(frozen=True)
class SeatState:
    """What a seat is decided on, read in one statement (after the event's lock)."""

    event_capacity: int
    ticket_capacity: int | None
    held: int
    held_of_type: int
    #: The person's live registration for the event, if asked about a person.
    live_registration_id: int | None
    #: Seats left for the ticket type within the event's (``_seats_left_expression``).
    left: int

    @property
    def free(self) -> int:
        return max(self.left, 0)


def seat_state_statement() -> Select:
    event_id, ticket_type_id = bindparam("event_id"), bindparam("ticket_type_id")
    # Counted over the registrations that hold a seat only, by the index of them: the count
    # reads as many rows as the event has seats. Counted over all the event's registrations,
    # it read the whole waitlist, under the event's lock, for every registration.
    counts = (
        select(
            select(Event.capacity)
            .where(Event.id == event_id)
            .scalar_subquery()
            .label("event_capacity"),
            select(TicketType.capacity)
            .where(TicketType.id == ticket_type_id)
            .scalar_subquery()
            .label("ticket_capacity"),
            func.count(Registration.id).label("held"),
            func.count(Registration.id)
            .filter(Registration.ticket_type_id == ticket_type_id)
            .label("held_of_type"),
            _live_registration(event_id).label("live_registration_id"),
        )
        .where(Registration.event_id == event_id, _in_states(Registration.status, SEAT_STATES))
        .subquery("seats")
    )
    return select(*counts.c, _seats_left_expression(counts).label("left"))


def _live_registration(event_id: Any) -> Any:
    """The person's live registration for the event, by the index that keeps them to one."""
    live = aliased(Registration)
    return (
        select(func.max(live.id))
        .where(
            live.event_id == event_id,
            live.person_id == bindparam("person_id"),
            _in_states(live.status, LIVE_STATES),
        )
        .scalar_subquery()
    )


def _in_states(status: Any, states: tuple[RegistrationStatus, ...]) -> Any:
    # Written into the statement, not passed as parameters: PostgreSQL uses a partial index
    # only when it can see that the condition implies the index's, and a prepared statement's
    # plan is made without its parameters. Written once, when the statement is compiled: a
    # ``literal_execute`` parameter was written into the SQL again on every registration.
    return status.in_([literal_column(_quoted(state.value)) for state in states])


def _quoted(value: str) -> str:
    if not value.replace("_", "").isalpha():  # a status's name, never anyone's input
        raise ValueError(f"not a status: {value!r}")
    return f"'{value}'"


def _seats_left_expression(counts: Any) -> Any:
    """Capacity (rule 1), in SQL so that registering can decide in the statement that
    writes: the event's seats left, or the ticket type's when it has fewer."""
    event_left = counts.c.event_capacity - counts.c.held
    type_left = counts.c.ticket_capacity - counts.c.held_of_type
    return case(
        (counts.c.ticket_capacity.is_(None), event_left),
        (type_left < event_left, type_left),
        else_=event_left,
    )


#: Built once: every registration runs it, and building it costs more than running it.
_SEAT_STATE = seat_state_statement()


def seat_state(
    event_id: int, ticket_type_id: int | None = None, person_id: int | None = None
) -> SeatState:
    row = db.session.execute(
        _SEAT_STATE,
        {"event_id": event_id, "ticket_type_id": ticket_type_id, "person_id": person_id},
    ).one()
    return SeatState(*row)


def seats_left(event: Event, ticket_type: TicketType | None = None) -> int:
    """Seats still free for this ticket type (or the event), as of this moment."""
    return seat_state(event.id, ticket_type.id if ticket_type else None).free


def lock_event(event: Event) -> None:
    """Lock the event's row: every change to its seats (its ticket types' too) takes it."""
    lock_rows(Event.__table__, [event.id])


def _hold_minutes() -> int:
    return int(current_app.config.get("PAYMENT_HOLD_MINUTES", DEFAULT_PAYMENT_HOLD_MINUTES))


@dataclass(frozen=True)
class Allocation:
    status: RegistrationStatus
    confirmed_at: datetime | None = None
    hold_expires_at: datetime | None = None


def choose_allocation(price: int, moment: datetime, *, seat_free: bool) -> Allocation:
    """A seat if one is free (the caller holds the lock and counted after taking it), paid
    tickets held until paid; else the waitlist."""
    if not seat_free:
        return Allocation(RegistrationStatus.WAITLISTED)
    if price > 0:
        return Allocation(
            RegistrationStatus.AWAITING_PAYMENT,
            hold_expires_at=moment + timedelta(minutes=_hold_minutes()),
        )
    return Allocation(RegistrationStatus.CONFIRMED, confirmed_at=moment)


def allocate(registration: Registration, moment: datetime, *, seat_free: bool) -> None:
    allocation = choose_allocation(registration.price, moment, seat_free=seat_free)
    registration.status = allocation.status.value
    if allocation.confirmed_at:
        registration.confirmed_at = allocation.confirmed_at
    if allocation.hold_expires_at:
        registration.hold_expires_at = allocation.hold_expires_at

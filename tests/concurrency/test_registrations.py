"""Never oversold (rule 1): simultaneous registrations from several processes.

Each worker is a separate process with its own app and database connection, released at
the same instant by a barrier. The control test first shows the race is real: with the lock
disabled (and every process waiting for the others between counting and committing, to
make the race certain) the event is oversold on PostgreSQL. Then, with the lock, exactly
the capacity is confirmed and everyone else is waitlisted, in the order they got the lock.

The workers are forked from one spawned process that imported the portal once (as gunicorn's
``--preload`` does) rather than spawned each: importing the portal is two seconds of CPU a
process. The app and its connections are still each worker's own, made after the fork.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.events.models import Registration
from portal.extensions import db
from tests.factories import add_event, add_person, ticket
from tests.processes import import_the_portal

pytestmark = pytest.mark.usefixtures("network")

PROCESSES = 6
PER_PROCESS = 8
CAPACITY = 20


def _worker(
    database_url: str,
    instance: str,
    event_id: int,
    ticket_type_id: int,
    person_ids: list[int],
    barrier: multiprocessing.synchronize.Barrier,
    results: multiprocessing.Queue,
    without_lock: bool,
) -> None:
    os.environ["PORTAL_INSTANCE_PATH"] = instance
    from portal import create_app
    from portal.accounts.models import Person
    from portal.errors import DomainError
    from portal.events import registering, seats
    from portal.events.models import Event

    if without_lock:
        announce = registering.announce_registration

        def slow_announce(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            # Between counting and committing, wait until every process has counted: each
            # round of six counts the same seats, so the event is certainly oversold.
            barrier.wait(timeout=60)
            return announce(*args, **kwargs)

        seats.lock_rows = lambda *args, **kwargs: None
        registering.announce_registration = slow_announce

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        people = [db.session.get(Person, i) for i in person_ids]
        barrier.wait(timeout=60)
        for person in people:
            event = db.session.get(Event, event_id)
            for attempt in range(20):
                try:
                    registration = registering.register(
                        person, event, ticket_type_id=ticket_type_id
                    )
                    results.put((person.id, registration.status))
                    break
                except DomainError as error:  # Busy: the lock timed out; try again
                    db.session.rollback()
                    if attempt == 19:
                        results.put((person.id, f"error: {error.message}"))
                except Exception as error:  # noqa: BLE001 - report, do not hang the parent
                    db.session.rollback()
                    results.put((person.id, f"error: {type(error).__name__}: {error}"))
                    break
        db.engine.dispose()


def _fork_workers(
    database_url: str,
    instance: str,
    event_id: int,
    ticket_type_id: int,
    groups: list[list[int]],
    results: multiprocessing.Queue,
    without_lock: bool,
) -> None:
    """Import the portal once, then fork a worker for each group of people and wait for them
    all."""
    import_the_portal()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(groups))
    workers = [
        context.Process(
            target=_worker,
            args=(
                database_url,
                instance,
                event_id,
                ticket_type_id,
                people,
                barrier,
                results,
                without_lock,
            ),
        )
        for people in groups
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)


def _burst(
    database_url: str, tmp_path: Path, *, without_lock: bool
) -> tuple[list[Registration], Counter]:
    event = add_event(
        capacity=CAPACITY,
        tickets=({"audience": "non_member", "price": 0},),
    )
    people = [add_person() for _ in range(PROCESSES * PER_PROCESS)]
    chosen = ticket(event, "non_member").id
    db.session.commit()

    # The parent of the workers is spawned: forking this process would hand them its open
    # connections and the app of the test run.
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()
    groups = [
        [p.id for p in people[i * PER_PROCESS : (i + 1) * PER_PROCESS]] for i in range(PROCESSES)
    ]
    parent = context.Process(
        target=_fork_workers,
        args=(database_url, str(tmp_path), event.id, chosen, groups, results, without_lock),
    )
    parent.start()
    outcomes = [results.get(timeout=180) for _ in range(PROCESSES * PER_PROCESS)]
    parent.join(timeout=60)
    db.session.expire_all()
    stored = list(
        db.session.scalars(
            select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
        )
    )
    return stored, Counter(status for _, status in outcomes)


@pytest.mark.usefixtures("postgres_only")
def test_control_without_the_lock_the_event_is_oversold(database_url: str, tmp_path: Path) -> None:
    # PostgreSQL only: SQLite runs the statement that counts and writes under its single
    # write lock, held until the commit, so there the race cannot happen even without ours.
    stored, outcomes = _burst(database_url, tmp_path, without_lock=True)

    confirmed = sum(1 for r in stored if r.status == "confirmed")
    assert confirmed > CAPACITY, outcomes


def test_simultaneous_registrations_confirm_exactly_the_capacity_in_order(
    database_url: str, tmp_path: Path
) -> None:
    stored, outcomes = _burst(database_url, tmp_path, without_lock=False)

    assert not [s for s in outcomes if s.startswith("error")], outcomes
    assert outcomes == Counter(
        {"confirmed": CAPACITY, "waitlisted": PROCESSES * PER_PROCESS - CAPACITY}
    )
    statuses = [r.status for r in stored]
    # Registrations are written under the lock, so id order is arrival order: the first
    # CAPACITY to get the lock hold the seats, everyone after them waits.
    assert statuses == ["confirmed"] * CAPACITY + ["waitlisted"] * (len(stored) - CAPACITY)
    assert len({r.person_id for r in stored}) == len(stored)


@pytest.mark.usefixtures("postgres_only")
def test_a_registration_kept_waiting_for_the_event_lock_is_refused_and_writes_nothing(
    database_url: str,
) -> None:
    from portal import create_app
    from portal.accounts.models import Person
    from portal.events import registering
    from portal.events.models import Event
    from portal.locking import Busy

    event = add_event(capacity=5, tickets=({"audience": "non_member", "price": 0},))
    person = add_person()
    event_id, person_id, chosen = event.id, person.id, ticket(event, "non_member").id
    db.session.commit()
    impatient = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "LOCK_TIMEOUT_SECONDS": 0.2}
    )
    # Staff saving the event hold its row for 5 s; the registration gives up after 0.2 s (a
    # portal without the timeout would wait the 5 s and then register).
    engine, locked, done = db.engine, threading.Event(), threading.Event()

    def staff_edit() -> None:
        with engine.connect() as connection:
            connection.execute(select(Event.id).where(Event.id == event_id).with_for_update())
            locked.set()
            done.wait(5)
            connection.rollback()

    holder = threading.Thread(target=staff_edit)
    holder.start()
    assert locked.wait(10)
    with impatient.app_context():
        try:
            with pytest.raises(Busy):
                registering.register(
                    db.session.get(Person, person_id),
                    db.session.get(Event, event_id),
                    ticket_type_id=chosen,
                )
            db.session.expire_all()
            assert (
                db.session.scalars(
                    select(Registration).where(Registration.event_id == event_id)
                ).all()
                == []
            )
        finally:
            done.set()
            holder.join()
        try:
            # The same connection, once the lock is free: registering again simply works
            # (the refused attempt left nothing behind on the connection).
            again = registering.register(
                db.session.get(Person, person_id),
                db.session.get(Event, event_id),
                ticket_type_id=chosen,
            )
            assert again.status == "confirmed"
        finally:
            db.session.remove()
            db.engine.dispose()

    db.session.expire_all()
    assert [
        r.person_id
        for r in db.session.scalars(select(Registration).where(Registration.event_id == event_id))
    ] == [person_id]

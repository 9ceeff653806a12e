"""Seats of a LINK-J corporate member under concurrent invitations (PostgreSQL only).

Several requests invite colleagues to a company with one free seat at the same moment, each
in its own app context and so its own database connection. ``invite_colleague`` locks the
company row before counting held and promised seats; the control test first proves that,
without the lock, the same schedule really overbooks, so the locked test means something.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.accounts import companies
from portal.accounts.models import Company, Invitation, Person, Role
from portal.errors import InvalidTransition
from portal.extensions import db
from tests.factories import add_person, add_role

pytestmark = pytest.mark.usefixtures("postgres_only", "network")

#: Long enough that every thread counts the seats before any of them inserts.
COUNT_TO_INSERT_DELAY = 0.3


@pytest.fixture
def one_free_seat() -> tuple[int, int]:
    """(company id, primary contact id) of a company with 2 seats, the contact holding one."""
    staff = add_role(add_person("secretariat@link-j.org"), Role.STAFF)
    contact = add_person("chief@mitsui-life.example")
    company = companies.create_company(
        actor=staff,
        name="Mitsui Life Example K.K.",
        email_domain="mitsui-life.example",
        seat_count=2,
        primary_contact=contact,
    )
    ids = (company.id, contact.id)
    db.session.close()  # hold no connection or snapshot while the threads run
    return ids


@pytest.fixture
def slow_seat_count(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Widen the window between counting seats and inserting the invitation."""
    count_seats = companies.seats_taken

    def slow(company: Company) -> int:
        taken = count_seats(company)
        threading.Event().wait(COUNT_TO_INSERT_DELAY)
        return taken

    monkeypatch.setattr(companies, "seats_taken", slow)
    yield


def invite_at_once(app: Flask, company_id: int, contact_id: int, colleagues: int) -> list[Any]:
    """``colleagues`` simultaneous invitations; each outcome is "invited", "refused" or an
    unexpected exception."""
    start = threading.Barrier(colleagues)
    outcomes: list[Any] = [None] * colleagues

    def invite(n: int) -> None:
        # force_locale: outside a request, portal.i18n.select_locale would raise RuntimeError
        # while building the refusal's message (the bug test_cli.py documents).
        with app.app_context(), force_locale("en"):
            company = db.session.get(Company, company_id)
            contact = db.session.get(Person, contact_id)
            assert company is not None and contact is not None
            start.wait(timeout=10)
            try:
                companies.invite_colleague(
                    company, f"colleague{n}@mitsui-life.example", actor=contact
                )
                outcomes[n] = "invited"
            except InvalidTransition:
                outcomes[n] = "refused"
            except BaseException as error:  # noqa: BLE001 - reported to the test thread
                outcomes[n] = error

    threads = [threading.Thread(target=invite, args=(n,)) for n in range(colleagues)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes


def open_invitations(company_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count(Invitation.id)).where(Invitation.company_id == company_id)
    )


@pytest.mark.usefixtures("slow_seat_count")
def test_control_without_the_lock_simultaneous_invitations_overbook(
    app: Flask, one_free_seat: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(companies, "_lock_company", lambda company: company)
    company_id, contact_id = one_free_seat

    outcomes = invite_at_once(app, company_id, contact_id, colleagues=2)

    assert outcomes == ["invited", "invited"]
    assert open_invitations(company_id) == 2  # three seats used of two: the race is real


@pytest.mark.usefixtures("slow_seat_count")
@pytest.mark.parametrize("colleagues", [2, 4])
def test_simultaneous_invitations_for_the_last_seat_create_exactly_one(
    app: Flask, one_free_seat: tuple[int, int], colleagues: int
) -> None:
    company_id, contact_id = one_free_seat

    outcomes = invite_at_once(app, company_id, contact_id, colleagues)

    assert sorted(outcomes) == ["invited"] + ["refused"] * (colleagues - 1)
    assert open_invitations(company_id) == 1
    company = db.session.get(Company, company_id)
    assert company is not None
    assert companies.seats_taken(company) == company.seat_count

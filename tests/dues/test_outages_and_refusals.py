"""Refusals that change nothing: approving without the invoice issuer configured, paying by
card while Stripe is down, deciding twice; and the dashboard's dues section."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import Person
from portal.db import utcnow
from portal.dues import applying
from portal.dues.applying import SlotProposal
from portal.dues.models import DuesCharge, DuesPlan, MembershipApplication
from portal.dues.terms import TERMS_VERSION
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.payments.models import Payment
from tests.dues.applications import approved, corporate_details
from tests.factories import add_person
from tests.roles import login


def _booked(person: Person, plan: DuesPlan, staff: Person) -> MembershipApplication:
    application = applying.submit_application(
        person, plan, corporate_details(), terms_version=TERMS_VERSION
    )
    applying.propose_slots(
        application,
        [SlotProposal(utcnow() + timedelta(days=2), "online", "https://meet.example/x")],
        actor=staff,
    )
    applying.choose_slot(application, application.slots[0].id, person=person)
    return application


def test_approval_without_the_invoice_issuer_says_so_and_changes_nothing(
    app: Flask, client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    application = _booked(add_person("rep@nihonbashi-bio.example"), dues_plans["A"], staff)
    app.config["INVOICE_REGISTRATION_NUMBER"] = ""
    login(client, staff)

    response = client.post(
        f"/admin/dues/applications/{application.id}/approve", follow_redirects=True
    )

    assert "registration number is not configured" in response.text
    db.session.expire_all()
    assert application.status == "orientation_booked"
    assert db.session.scalar(select(func.count()).select_from(DuesCharge)) == 0


def test_deciding_twice_is_refused(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    application = approved(add_person("rep@nihonbashi-bio.example"), dues_plans["B"], staff)
    login(client, staff)
    response = client.post(
        f"/admin/dues/applications/{application.id}/decline",
        data={"reason": "重複"},
        follow_redirects=True,
    )
    assert "decided already" in response.text
    db.session.expire_all()
    assert application.status == "approved"


def test_a_second_application_while_one_is_in_progress_is_refused(
    dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    person = add_person("rep@nihonbashi-bio.example")
    _booked(person, dues_plans["A"], staff)
    with pytest.raises(InvalidTransition, match="in progress"):
        applying.submit_application(
            person, dues_plans["B"], corporate_details(), terms_version=TERMS_VERSION
        )


@pytest.fixture
def stripe_down(app: Flask, stripe_on: str) -> Iterator[None]:  # noqa: F811
    """Card payment configured, but Stripe refuses connections."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    saved = app.config["STRIPE_API_BASE"], app.config["STRIPE_TIMEOUT_SECONDS"]
    app.config.update(
        STRIPE_API_BASE=f"http://127.0.0.1:{closed.getsockname()[1]}", STRIPE_TIMEOUT_SECONDS=1.0
    )
    yield
    app.config.update(STRIPE_API_BASE=saved[0], STRIPE_TIMEOUT_SECONDS=saved[1])
    closed.close()


def test_paying_dues_by_card_while_stripe_is_down_says_so_and_writes_nothing(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person, stripe_down: None
) -> None:
    person = add_person("hanako@u.example")
    approved(person, dues_plans["C"], staff)
    charge = db.session.scalar(select(DuesCharge))
    login(client, person)

    response = client.post(f"/membership/charges/{charge.id}/card", follow_redirects=True)

    assert "cannot be reached right now" in response.text
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    db.session.expire_all()
    assert charge.status == "open"


def test_the_dashboard_shows_the_application_then_the_membership(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    person = add_person("rep@nihonbashi-bio.example")
    login(client, person)
    assert "Become a LINK-J member" in client.get("/account").text
    _booked(person, dues_plans["A"], staff)
    assert "Orientation booked" in client.get("/account").text

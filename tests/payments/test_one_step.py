"""From "Register" straight to paying, what the dashboard says is due, and the payment
columns of the registrations CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Role
from portal.events import registering
from portal.events.models import Event, Registration
from portal.extensions import db
from portal.payments import invoices
from portal.payments.models import Payment
from tests.factories import add_event, add_person, add_role, member_of, ticket
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network", "issuer")

EN = {"Accept-Language": "en"}


@pytest.fixture
def issuer(app: Flask):  # noqa: ANN201
    saved = {k: app.config[k] for k in ("INVOICE_REGISTRATION_NUMBER", "INVOICE_BANK_ACCOUNT")}
    app.config.update(
        INVOICE_REGISTRATION_NUMBER="T1010401089234", INVOICE_BANK_ACCOUNT="Demo Bank 1234567"
    )
    yield
    app.config.update(saved)


def _paid_event() -> Event:
    return add_event(
        starts_in=timedelta(days=20),
        tickets=(
            {
                "audience": "non_member",
                "price": 8000,
                "currency": "JPY",
                "tax_rate": 10,
                "name_en": "General",
                "name_ja": "一般",
            },
        ),
    )


def _registration(person_id: int) -> Registration:
    db.session.expire_all()
    return db.session.scalar(select(Registration).where(Registration.person_id == person_id))


def test_the_event_page_asks_how_to_pay_beside_a_paid_ticket(client: FlaskClient) -> None:
    event = _paid_event()
    login(client, member_of("link-j"))

    html = client.get(f"/events/{event.slug}", headers=EN).get_data(as_text=True)

    assert "If your ticket is paid, pay by" in html
    assert 'value="invoice"' in html and 'value="card"' not in html  # no Stripe keys here


def test_register_with_invoice_goes_straight_to_the_invoice_form(client: FlaskClient) -> None:
    event = _paid_event()
    person = member_of("link-j")
    login(client, person)

    response = client.post(
        f"/events/{event.slug}/register",
        data={"ticket_type": ticket(event, "non_member").id, "payment_method": "invoice"},
        headers=EN,
    )

    registration = _registration(person.id)
    assert registration.status == "awaiting_payment"
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/payments/registrations/{registration.id}#invoice-title"
    )
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Issue the invoice" in page
    assert "JST" in page  # the seat-hold deadline says its zone


def test_register_with_card_posts_on_to_the_card_form(client: FlaskClient, stripe_on: str) -> None:
    event = _paid_event()
    person = member_of("link-j")
    login(client, person)
    form = {"ticket_type": ticket(event, "non_member").id, "payment_method": "card"}

    response = client.post(f"/events/{event.slug}/register", data=form, headers=EN)

    registration = _registration(person.id)
    assert response.status_code == 307  # the browser posts the form on, keeping its token
    assert response.headers["Location"].endswith(f"/payments/registrations/{registration.id}/card")
    card = client.post(response.headers["Location"], data=form, headers=EN)
    assert card.status_code == 200 and 'id="card-element"' in card.get_data(as_text=True)
    payment = db.session.scalar(select(Payment).where(Payment.registration_id == registration.id))
    assert payment is not None and payment.method == "card" and payment.amount == 8000


def test_a_free_ticket_is_not_asked_how_to_pay_and_lands_on_the_ticket(
    client: FlaskClient,
) -> None:
    event = add_event(tickets=({"audience": "linkj_member", "price": 0},))
    person = member_of("link-j")
    login(client, person)

    html = client.get(f"/events/{event.slug}", headers=EN).get_data(as_text=True)
    response = client.post(
        f"/events/{event.slug}/register",
        data={"ticket_type": ticket(event, "linkj_member").id},
        headers=EN,
    )

    assert "If your ticket is paid" not in html
    assert response.status_code == 302 and "/events/tickets/" in response.headers["Location"]


def test_the_dashboard_shows_a_payment_due_then_its_invoice(client: FlaskClient) -> None:
    event = _paid_event()
    person = member_of("link-j")
    registration = registering.register(
        person, event, ticket_type_id=ticket(event, "non_member").id
    )
    login(client, person)

    due = client.get("/account", headers=EN).get_data(as_text=True)
    invoice = invoices.request_invoice(registration, person=person, company="日本橋製薬株式会社")
    billed = client.get("/account", headers=EN).get_data(as_text=True)

    assert "Payments due" in due and "Pay ¥8,000" in due
    assert f'href="/payments/registrations/{registration.id}"' in due
    assert "JST" in due  # the hold's deadline, with its zone
    assert f"Invoice {invoice.number}, to be paid by bank transfer" in billed
    assert "My upcoming events" in billed  # the registration itself, with its ticket


def test_the_csv_says_how_each_registration_was_paid(client: FlaskClient) -> None:
    event = _paid_event()
    payer = member_of("link-j")
    registration = registering.register(payer, event, ticket_type_id=ticket(event, "non_member").id)
    invoice = invoices.request_invoice(registration, person=payer, company="日本橋製薬株式会社")
    login(client, add_role(add_person("staff@link-j.org"), Role.STAFF))

    body = client.get(f"/admin/events/{event.slug}/registrations.csv", headers=EN).data
    header, row = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))

    cells = dict(zip(header, row, strict=True))
    assert cells["Home organization"] == "LINK-J"
    assert cells["Memberships"] == "LINK-J: Verified"
    assert (cells["Price"], cells["Currency"]) == ("8000", "JPY")
    assert cells["Payment method"] == "Invoice"
    assert cells["Invoice number"] == invoice.number

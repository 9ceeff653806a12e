"""What is answered to a signed-in person is never kept by a browser or a proxy.

Every response to a request from a signed-in person carries ``Cache-Control: no-store``:
their dashboard, profile, tickets, invoices and receipts (PDF downloads too), their data
export, their events, any other page they are shown (the header names them) and every admin
page, whether the server rendered it or served it from its page cache. Public pages for
anonymous visitors and static files may be cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie
from werkzeug.test import TestResponse

from portal.events import registering
from portal.payments import invoices as payments
from tests.factories import add_event, session_id_for, ticket
from tests.roles import Cast, login


@dataclass
class Paid:
    """A member's paid registration: a ticket, an invoice and a receipt of their own."""

    cast: Cast
    event_slug: str
    registration_id: int
    invoice_number: str
    payment_id: int


@pytest.fixture
def paid(app: Flask, cast: Cast, monkeypatch: pytest.MonkeyPatch) -> Paid:  # noqa: F811
    monkeypatch.setitem(app.config, "INVOICE_REGISTRATION_NUMBER", "T1010401089234")
    event = add_event(
        agreements=("link-j-biocom-2016",),
        starts_in=timedelta(days=40),
        tickets=(
            {"audience": "partner_member", "price": 11000, "currency": "JPY", "tax_rate": 10},
        ),
    )
    member = cast.verified_member
    registration = registering.register(
        member, event, ticket_type_id=ticket(event, "partner_member").id
    )
    invoice = payments.request_invoice(registration, person=member, company="日本橋製薬株式会社")
    payments.record_bank_transfer(
        invoice, actor=cast.staff, paid_on=date.today(), amount=11000, payer_kana="ニホンバシ"
    )
    return Paid(cast, event.slug, registration.id, invoice.number, invoice.payment.id)


def not_stored(response: TestResponse, path: str) -> None:
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers.get("Cache-Control") == "no-store", (
        path,
        response.headers.get("Cache-Control"),
    )


def cache_policies(client: FlaskClient, paths: list[str]) -> dict[str, str | None]:
    """Each page's Cache-Control (all answered 200)."""
    policies = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        policies[path] = response.headers.get("Cache-Control")
        response.close()
    return policies


def may_be_cached(response: TestResponse, path: str) -> None:
    assert response.status_code == 200, (path, response.status_code)
    assert "no-store" not in response.headers.get("Cache-Control", ""), path


def members_pages(paid: Paid) -> list[str]:
    return [
        "/account",
        "/account/profile",
        "/account/export",
        "/events/mine",
        f"/events/tickets/{paid.registration_id}",
        f"/payments/invoices/{paid.invoice_number}",
        f"/payments/invoices/{paid.invoice_number}.pdf",
        f"/payments/receipts/{paid.payment_id}.pdf",
        "/benefits/claims",
        # Not personal in themselves, but the header names the person.
        "/",
        "/events/",
        f"/events/{paid.event_slug}",
        "/partners",
        "/partners/biocom",
    ]


def test_every_page_for_a_signed_in_member_is_not_stored(client: FlaskClient, paid: Paid) -> None:
    login(client, paid.cast.verified_member)
    policies = cache_policies(client, members_pages(paid))
    assert policies == dict.fromkeys(policies, "no-store")


def test_admin_pages_and_exports_are_not_stored(client: FlaskClient, paid: Paid) -> None:
    login(client, paid.cast.staff)
    paths = [
        "/admin/",
        "/admin/payments",
        "/admin/payments.csv",
        f"/admin/payments/{paid.payment_id}",
        "/admin/events",
        f"/admin/events/{paid.event_slug}/registrations",
        f"/admin/events/{paid.event_slug}/registrations.csv",
        f"/payments/receipts/{paid.payment_id}.pdf",
    ]
    policies = cache_policies(client, paths)
    assert policies == dict.fromkeys(policies, "no-store")


def test_a_signed_in_persons_error_page_is_not_stored(client: FlaskClient, paid: Paid) -> None:
    login(client, paid.cast.verified_member)

    response = client.get("/events/tickets/999999")

    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_a_page_from_the_page_cache_is_not_stored_for_a_signed_in_person(
    client: FlaskClient, paid: Paid, count_queries: list[str]
) -> None:
    login(client, paid.cast.verified_member)
    for path in ("/account",):
        not_stored(client.get(path), path)  # rendered, and kept in the page cache
        count_queries.clear()

        response = client.get(path)

        assert count_queries == [], f"{path} was not served from the page cache"
        assert response.headers["X-Cache"] == "hit"
        not_stored(response, path)


def test_a_person_restored_by_remember_me_gets_no_stored_page(app: Flask, paid: Paid) -> None:
    client = app.test_client()  # no session, only the "remember me" cookie
    with app.test_request_context():
        client.set_cookie(
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
            encode_cookie(session_id_for(paid.cast.verified_member, remember=True)),
        )

    response = client.get("/account")

    assert "Log out" in response.get_data(as_text=True)
    not_stored(response, "/account")


def test_public_pages_for_anonymous_visitors_may_be_cached(client: FlaskClient, paid: Paid) -> None:
    for path in ("/", "/events/", f"/events/{paid.event_slug}", "/partners", "/partners/biocom"):
        may_be_cached(client.get(path), path)
        # Rendered afresh every time (the event pages left the page cache, issue 19), they
        # must not tell browsers to keep them until a moment: seats change any time.
        assert "Expires" not in client.get(path).headers


def test_static_files_may_be_cached_by_anyone(client: FlaskClient, paid: Paid) -> None:
    path = "/static/css/portal.css"
    anonymous = client.get(path)
    may_be_cached(anonymous, path)
    anonymous.close()

    login(client, paid.cast.verified_member)
    signed_in = client.get(path)
    may_be_cached(signed_in, path)
    signed_in.close()

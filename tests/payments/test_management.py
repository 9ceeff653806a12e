"""Staff payment pages: the list, totals and CSV, refunds, unpaid invoices and transfers."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.events import registering
from portal.extensions import db
from portal.payments import invoices
from portal.payments.models import Invoice, Payment
from tests.factories import add_event, add_person, ticket
from tests.roles import ROLES, Cast, login


@pytest.fixture
def invoice(app: Flask, cast: Cast) -> Invoice:
    app.config["INVOICE_REGISTRATION_NUMBER"] = "T1010401089234"
    event = add_event(
        starts_in=timedelta(days=40),
        tickets=({"audience": "non_member", "price": 11000, "currency": "JPY", "tax_rate": 10},),
    )
    registration = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id
    )
    return invoices.request_invoice(
        registration, person=registration.person, company="日本橋製薬株式会社"
    )


def _pages(invoice: Invoice) -> list[tuple[str, str, dict]]:
    return [
        ("GET", "/admin/payments", {}),
        ("GET", "/admin/payments.csv", {}),
        ("GET", f"/admin/payments/{invoice.payment.id}", {}),
        ("GET", "/admin/invoices", {}),
        ("GET", f"/admin/invoices/{invoice.number}/paid", {}),
        (
            "POST",
            f"/admin/invoices/{invoice.number}/paid",
            {"paid_on": date.today().isoformat(), "amount": "11000", "payer_kana": "ニホンバシ"},
        ),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_only_staff_reach_the_payment_pages(
    client: FlaskClient, cast: Cast, invoice: Invoice, role: str
) -> None:
    login(client, cast.by_role(role))
    for method, path, data in _pages(invoice):
        response = client.open(path, method=method, data=data)
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], path
        elif role in ("staff", "admin"):
            assert response.status_code in (200, 302), (path, response.status_code)
        else:
            assert response.status_code in (403, 404), (path, role, response.status_code)
    db.session.expire_all()
    assert (invoice.payment.status == "paid") == (role in ("staff", "admin"))


def test_list_shows_totals_per_currency_and_exports_csv_with_bom(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    invoices.record_bank_transfer(
        invoice, actor=cast.staff, paid_on=date.today(), amount=11000, payer_kana="ニホンバシ"
    )
    login(client, cast.staff)

    page = client.get("/admin/payments?currency=JPY", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    csv = client.get("/admin/payments.csv")

    assert "¥11,000" in page and invoice.number in page
    assert csv.data.startswith("\ufeff".encode())
    text = csv.data.decode("utf-8-sig")
    assert "日本橋製薬株式会社" not in text.splitlines()[0]
    assert invoice.number in text and ",11000," in text


def test_refund_form_refuses_more_than_was_paid(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    invoices.record_bank_transfer(
        invoice, actor=cast.staff, paid_on=date.today(), amount=11000, payer_kana="ニホンバシ"
    )
    login(client, cast.staff)
    payment_id = invoice.payment.id

    too_much = client.post(f"/admin/payments/{payment_id}", data={"amount": "11001", "reason": "x"})
    fraction = client.post(f"/admin/payments/{payment_id}", data={"amount": "10.5", "reason": "x"})
    ok = client.post(
        f"/admin/payments/{payment_id}", data={"amount": "1000", "reason": "Lunch not served"}
    )

    assert (too_much.status_code, fraction.status_code, ok.status_code) == (400, 400, 302)
    payment = db.session.get(Payment, payment_id)
    db.session.refresh(payment)
    assert (payment.refunded_amount, payment.status) == (1000, "partially_refunded")


def test_unpaid_invoices_flag_the_overdue(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    invoice.due_on = date.today() - timedelta(days=1)
    db.session.commit()
    login(client, cast.staff)

    page = client.get("/admin/invoices", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert invoice.number in page and "Overdue" in page


def test_a_transfer_of_the_wrong_amount_changes_nothing(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    login(client, cast.staff)

    response = client.post(
        f"/admin/invoices/{invoice.number}/paid",
        data={"paid_on": date.today().isoformat(), "amount": "10000", "payer_kana": "ニホンバシ"},
    )

    assert response.status_code == 400
    db.session.expire_all()
    assert invoice.payment.status == "pending"


TOO_MANY_DECIMALS = "Enter the amount with the currency's decimals, e.g. 5000 or 25.50."


def _error_beside(page: str, field: str) -> str:
    """The text of the error message the page shows under ``field``."""
    marker = f'<p class="error-message" id="{field}-error">'
    assert marker in page, page
    return html.unescape(page.split(marker, 1)[1].split("</p>", 1)[0])


def test_a_refund_with_more_decimals_than_the_currency_has_is_refused_beside_the_amount(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    invoices.record_bank_transfer(
        invoice, actor=cast.staff, paid_on=date.today(), amount=11000, payer_kana="ニホンバシ"
    )
    login(client, cast.staff)

    response = client.post(
        f"/admin/payments/{invoice.payment.id}",
        data={"amount": "10.5", "reason": "Lunch not served"},
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 400
    assert _error_beside(response.get_data(as_text=True), "amount") == TOO_MANY_DECIMALS
    db.session.expire_all()
    assert (invoice.payment.status, invoice.payment.refunded_amount) == ("paid", 0)
    assert invoice.payment.refunds == []


def test_a_transfer_with_more_decimals_than_the_currency_has_is_refused_beside_the_amount(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    login(client, cast.staff)

    response = client.post(
        f"/admin/invoices/{invoice.number}/paid",
        data={"paid_on": date.today().isoformat(), "amount": "11000.5", "payer_kana": "ニホンバシ"},
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 400
    assert _error_beside(response.get_data(as_text=True), "amount") == TOO_MANY_DECIMALS
    db.session.expire_all()
    assert (invoice.payment.status, invoice.paid_on) == ("pending", None)


def test_a_refused_transfer_is_flashed_on_the_form_it_came_from(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    login(client, cast.staff)

    response = client.post(
        f"/admin/invoices/{invoice.number}/paid",
        data={"paid_on": date.today().isoformat(), "amount": "10000", "payer_kana": "ニホンバシ"},
        headers={"Accept-Language": "en"},
    )

    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "The transfer (¥10,000) differs from the invoice total (¥11,000)." in page
    assert 'name="payer_kana"' in page and "ニホンバシ" in page  # the form, as typed


def test_the_payment_pages_are_marked_as_administration_in_the_site_navigation(
    client: FlaskClient, cast: Cast, invoice: Invoice
) -> None:
    login(client, cast.staff)

    page = client.get("/admin/invoices", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert 'aria-current="page">Administration</a>' in page
    assert 'aria-current="page">Unpaid invoices</a>' in page

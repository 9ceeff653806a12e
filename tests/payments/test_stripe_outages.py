"""Stripe stopped or paused while a person waits: the portal gives up within
STRIPE_TIMEOUT_SECONDS, answers with its own page in the viewer's language, and loses nothing
(no half-written payment, the seat still held). Stripe's own error text, with the addresses
it tried, goes to the log only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.events import registering
from portal.events.models import Registration
from portal.extensions import db
from portal.payments import cards
from portal.payments.cli import payments_group
from portal.payments.models import Payment, Refund
from tests.factories import add_event, add_person, ticket
from tests.payments.stripe_helpers import StripeOutage
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

HOLD = datetime(2031, 3, 5, 6, 30, tzinfo=UTC)  # 15:30 in Tokyo
UNREACHABLE = {
    "en": "The payment service cannot be reached right now. Your seat stays held until "
    "Wed 5 Mar 2031, 15:30 JST; please try again.",
    "ja": "決済サービスに現在接続できません。"
    "2031年3月5日(水) 15:30（日本時間）まで席を確保しています。"
    "もう一度お試しください。",
}
NOT_CONFIRMED_YET = {
    "en": "The payment service cannot be reached right now, so your payment is not confirmed "
    "yet. Your seat stays held until Wed 5 Mar 2031, 15:30 JST; this page will show the "
    "payment once Stripe confirms it.",
    "ja": "決済サービスに現在接続できないため、お支払いはまだ確認できていません。"
    "2031年3月5日(水) 15:30（日本時間）まで席を確保しています。"
    "Stripeが確認すると、このページにお支払いが表示されます。",
}
NOTHING_REFUNDED = {
    "en": "The payment service cannot be reached right now, so nothing was refunded. "
    "Please try again shortly.",
    "ja": "決済サービスに現在接続できないため、返金は行われていません。"
    "しばらくしてからもう一度お試しください。",
}


def _held_seat() -> Registration:
    event = add_event(
        tickets=({"audience": "non_member", "price": 5000, "currency": "JPY", "tax_rate": 10},),
    )
    registration = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id
    )
    registration.hold_expires_at = HOLD
    db.session.commit()
    return registration


def _log_in(client: FlaskClient, registration: Registration) -> None:
    login(client, registration.person)


def _assert_no_internals(page: str, outage: StripeOutage) -> None:
    """Nothing of what the SDK said reaches the page: no address, no exception text."""
    for leak in (
        outage.address,
        "127.0.0.1",
        "Unexpected error communicating with Stripe",
        "Network error",
        "Connection",
        "timed out",
        "Traceback",
    ):
        assert leak not in page, leak


def _payments() -> int:
    return db.session.scalar(select(func.count()).select_from(Payment)) or 0


@pytest.mark.parametrize("language", ["en", "ja"])
def test_pay_by_card_while_stripe_is_down_keeps_the_seat_and_says_when_it_lapses(
    stripe_outage: StripeOutage, client: FlaskClient, language: str
) -> None:
    registration = _held_seat()
    _log_in(client, registration)
    stripe_outage.begin()

    response = client.post(
        f"/payments/registrations/{registration.id}/card",
        headers={"Accept-Language": language},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.request.path == f"/payments/registrations/{registration.id}"
    assert UNREACHABLE[language] in page
    _assert_no_internals(page, stripe_outage)
    if stripe_outage.kind == "paused":
        # The portal hung up on its own, after one try: a payer is waiting.
        assert stripe_outage.connections() == (1, 0)
    db.session.expire_all()
    assert _payments() == 0  # nothing half-written
    assert (registration.status, registration.hold_expires_at) == ("awaiting_payment", HOLD)

    stripe_outage.end()
    again = client.post(f"/payments/registrations/{registration.id}/card")

    assert again.status_code == 200 and b"data-client-secret" in again.data
    assert _payments() == 1


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_return_page_while_stripe_is_down_leaves_the_payment_for_stripe_to_confirm(
    stripe_outage: StripeOutage,
    client: FlaskClient,
    pay_with_card: Callable[..., None],
    language: str,
) -> None:
    registration = _held_seat()
    payment = cards.start_card_payment(registration, person=registration.person).payment
    pay_with_card(payment.stripe_payment_intent_id)  # paid in the browser; then Stripe goes
    _log_in(client, registration)
    stripe_outage.begin()

    response = client.get(
        f"/payments/registrations/{registration.id}/return",
        headers={"Accept-Language": language},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.request.path == f"/events/tickets/{registration.id}"
    assert NOT_CONFIRMED_YET[language] in page
    _assert_no_internals(page, stripe_outage)
    if stripe_outage.kind == "paused":
        assert stripe_outage.connections() == (1, 0)
    db.session.expire_all()
    assert (payment.status, registration.status) == ("pending", "awaiting_payment")

    stripe_outage.end()
    client.get(f"/payments/registrations/{registration.id}/return")

    db.session.expire_all()
    assert (payment.status, registration.status) == ("paid", "confirmed")


def test_paying_again_after_stripe_took_the_money_confirms_the_seat_instead(
    stripe_on: str, client: FlaskClient, pay_with_card: Callable[..., None]
) -> None:
    """The payer who was told to wait presses "Pay" anyway before the webhook arrives."""
    registration = _held_seat()
    payment = cards.start_card_payment(registration, person=registration.person).payment
    pay_with_card(payment.stripe_payment_intent_id)
    _log_in(client, registration)

    response = client.post(
        f"/payments/registrations/{registration.id}/card", headers={"Accept-Language": "en"}
    )

    assert response.status_code == 302  # no card form for a paid seat
    db.session.expire_all()
    assert (payment.status, registration.status) == ("paid", "confirmed")
    assert _payments() == 1


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_staff_refund_while_stripe_is_down_records_nothing(
    stripe_outage: StripeOutage,
    app: Flask,
    client: FlaskClient,
    pay_with_card: Callable[..., None],
    stripe_client: stripe.StripeClient,
    organizer,
    language: str,
) -> None:
    registration = _held_seat()
    payment = cards.start_card_payment(registration, person=registration.person).payment
    pay_with_card(payment.stripe_payment_intent_id)
    cards.confirm_from_return(registration, person=registration.person)
    assert payment.status == "paid"
    login(client, organizer)
    app.config["STRIPE_NETWORK_RETRIES"] = 1
    stripe_outage.begin()

    response = client.post(
        f"/admin/payments/{payment.id}",
        data={"amount": "2000", "reason": "Lunch not served"},
        headers={"Accept-Language": language},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert NOTHING_REFUNDED[language] in page
    _assert_no_internals(page, stripe_outage)
    if stripe_outage.kind == "paused":
        assert stripe_outage.connections() == (2, 0)  # staff may wait for one retry
    db.session.expire_all()
    assert (payment.status, payment.refunded_amount) == ("paid", 0)
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0

    stripe_outage.end()
    done = client.post(
        f"/admin/payments/{payment.id}", data={"amount": "2000", "reason": "Lunch not served"}
    )

    assert done.status_code == 302
    assert [r.amount for r in stripe_client.v1.refunds.list().data] == [2000]


def test_reconcile_while_stripe_is_down_fails_with_a_reason_and_the_next_run_settles(
    stripe_outage: StripeOutage, app: Flask, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat()
    payment = cards.start_card_payment(registration, person=registration.person).payment
    pay_with_card(payment.stripe_payment_intent_id)  # and its webhook is lost
    payment.created_at -= timedelta(minutes=30)
    db.session.commit()
    app.config["STRIPE_NETWORK_RETRIES"] = 1
    stripe_outage.begin()

    failed = app.test_cli_runner().invoke(payments_group, ["reconcile"])

    assert failed.exit_code == 1
    assert "The payment service cannot be reached right now" in failed.output
    _assert_no_internals(failed.output, stripe_outage)
    if stripe_outage.kind == "paused":
        assert stripe_outage.connections() == (2, 0)  # nobody waits: one retry
    db.session.expire_all()
    assert payment.status == "pending"

    stripe_outage.end()
    settled = app.test_cli_runner().invoke(payments_group, ["reconcile"])

    assert (settled.exit_code, settled.output.strip()) == (0, "1 payments settled.")
    db.session.expire_all()
    assert (payment.status, registration.status) == ("paid", "confirmed")

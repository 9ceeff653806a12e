"""Card payments against a real local Stripe-compatible server, over HTTP (rules 5 and 6)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.errors import InvalidInput
from portal.events import holds, registering
from portal.events.models import Registration
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.payments import cards, refunds
from portal.payments.models import Payment, Refund, StripeEvent
from portal.payments.stripe_gateway import gateway
from portal.payments.webhooks import reconcile
from tests.factories import add_event, add_person, later, member_of, ticket
from tests.payments.stripe_helpers import DECLINED, signed, wait_for_status
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")


def _kinds() -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


def _held_seat(price: int = 5000, currency: str = "JPY", capacity: int = 10) -> Registration:
    event = add_event(
        capacity=capacity,
        tickets=(
            {
                "audience": "non_member",
                "price": price,
                "currency": currency,
                "tax_rate": 10 if currency == "JPY" else 0,
            },
        ),
    )
    registration = registering.register(
        add_person(), event, ticket_type_id=ticket(event, "non_member").id
    )
    assert registration.status == "awaiting_payment"
    return registration


def test_jpy_payment_is_confirmed_by_stripes_signed_webhook(
    webhooks: str, pay_with_card: Callable[..., None], stripe_client: stripe.StripeClient
) -> None:
    registration = _held_seat(price=5000, currency="JPY")

    checkout = cards.start_card_payment(registration, person=registration.person)
    intent = stripe_client.v1.payment_intents.retrieve(checkout.payment.stripe_payment_intent_id)
    # JPY is zero-decimal at Stripe: ¥5,000 is 5000.
    assert (intent.amount, intent.currency) == (5000, "jpy")
    assert intent.metadata["registration"] == str(registration.id)
    assert registration.status == "awaiting_payment"  # nothing happens before Stripe speaks

    pay_with_card(intent.id)

    assert wait_for_status(checkout.payment, "paid") == "paid"
    db.session.refresh(registration)
    assert registration.status == "confirmed"
    assert _kinds().count("events/registration_confirmed") == 1
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) >= 1


def test_usd_payment_is_sent_in_cents(
    webhooks: str, pay_with_card: Callable[..., None], stripe_client: stripe.StripeClient
) -> None:
    registration = _held_seat(price=5000, currency="USD")  # $50.00

    checkout = cards.start_card_payment(registration, person=registration.person)
    intent = stripe_client.v1.payment_intents.retrieve(checkout.payment.stripe_payment_intent_id)
    assert (intent.amount, intent.currency) == (5000, "usd")
    pay_with_card(intent.id)

    assert wait_for_status(checkout.payment, "paid") == "paid"


def test_starting_twice_reuses_the_open_payment(stripe_on: str) -> None:
    registration = _held_seat()

    first = cards.start_card_payment(registration, person=registration.person)
    second = cards.start_card_payment(registration, person=registration.person)

    assert first.payment.id == second.payment.id
    assert first.client_secret == second.client_secret
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_declined_card_fails_the_payment_and_keeps_the_seat_held(
    webhooks: str, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat()
    checkout = cards.start_card_payment(registration, person=registration.person)

    with pytest.raises(stripe.CardError):
        pay_with_card(checkout.payment.stripe_payment_intent_id, DECLINED)

    assert wait_for_status(checkout.payment, "failed") == "failed"
    assert checkout.payment.failure_reason == "card_declined"
    db.session.refresh(registration)
    assert registration.status == "awaiting_payment"
    again = cards.start_card_payment(registration, person=registration.person)
    assert again.payment.id != checkout.payment.id and again.payment.attempt == 2


def test_returning_from_stripe_is_no_evidence_until_stripe_says_so(
    stripe_on: str, client: FlaskClient, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat()
    checkout = cards.start_card_payment(registration, person=registration.person)
    login(client, registration.person)

    client.get(f"/payments/registrations/{registration.id}/return")
    db.session.refresh(checkout.payment)
    assert checkout.payment.status == "pending"

    pay_with_card(checkout.payment.stripe_payment_intent_id)
    client.get(f"/payments/registrations/{registration.id}/return")
    db.session.refresh(checkout.payment)
    db.session.refresh(registration)
    assert (checkout.payment.status, registration.status) == ("paid", "confirmed")


def _succeeded_event(event_id: str, intent_id: str) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }


def test_the_same_webhook_delivered_twice_is_processed_once(
    stripe_on: str, client: FlaskClient, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat()
    checkout = cards.start_card_payment(registration, person=registration.person)
    intent_id = checkout.payment.stripe_payment_intent_id
    pay_with_card(intent_id)  # no webhook endpoint registered: we deliver it ourselves
    body, signature = signed(_succeeded_event("evt_twice", intent_id))

    first = client.post(
        "/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
    )
    second = client.post(
        "/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
    )

    assert (first.status_code, first.get_data(as_text=True)) == (200, "processed")
    assert (second.status_code, second.get_data(as_text=True)) == (200, "duplicate")
    assert _kinds().count("events/registration_confirmed") == 1


def test_a_webhook_with_a_bad_signature_is_rejected_and_changes_nothing(
    stripe_on: str, client: FlaskClient, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat()
    checkout = cards.start_card_payment(registration, person=registration.person)
    pay_with_card(checkout.payment.stripe_payment_intent_id)
    body, signature = signed(
        _succeeded_event("evt_forged", checkout.payment.stripe_payment_intent_id),
        secret="whsec_wrong",
    )

    response = client.post(
        "/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400
    db.session.refresh(checkout.payment)
    assert checkout.payment.status == "pending"
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0


def test_an_old_signature_is_rejected(stripe_on: str, client: FlaskClient) -> None:
    body, signature = signed(_succeeded_event("evt_old", "pi_x"), at=1_000_000)

    assert (
        client.post(
            "/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
        ).status_code
        == 400
    )


def test_events_out_of_order_act_on_the_current_state(
    stripe_on: str, client: FlaskClient, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat()
    checkout = cards.start_card_payment(registration, person=registration.person)
    intent_id = checkout.payment.stripe_payment_intent_id
    pay_with_card(intent_id)
    for event_id, kind in (
        ("evt_b", "payment_intent.succeeded"),
        ("evt_a", "payment_intent.payment_failed"),
    ):
        body, signature = signed(
            {"id": event_id, "type": kind, "data": {"object": {"id": intent_id}}}
        )
        client.post("/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature})

    db.session.refresh(checkout.payment)
    assert checkout.payment.status == "paid"


def test_webhook_without_configuration_is_rejected(client: FlaskClient) -> None:
    body, signature = signed(_succeeded_event("evt_x", "pi_x"))
    assert (
        client.post(
            "/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
        ).status_code
        == 400
    )


def test_reconcile_settles_a_payment_whose_webhook_was_lost(
    stripe_on: str, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat()
    checkout = cards.start_card_payment(registration, person=registration.person)
    pay_with_card(checkout.payment.stripe_payment_intent_id)  # and no webhook ever comes

    from datetime import timedelta

    assert reconcile(older_than=timedelta(minutes=10)) == 0  # too recent to chase
    assert reconcile(older_than=timedelta(0)) == 1

    db.session.refresh(registration)
    assert registration.status == "confirmed"


# --- refunds ----------------------------------------------------------------------------------


def _paid(pay_with_card: Callable[..., None], price: int = 5000) -> Payment:
    registration = _held_seat(price=price)
    checkout = cards.start_card_payment(registration, person=registration.person)
    pay_with_card(checkout.payment.stripe_payment_intent_id)
    cards.settle_intent(
        gateway().retrieve_intent(checkout.payment.stripe_payment_intent_id)  # type: ignore[union-attr]
    )
    db.session.refresh(checkout.payment)
    assert checkout.payment.status == "paid"
    return checkout.payment


def test_partial_then_full_refund_through_stripe(
    stripe_on: str,
    pay_with_card: Callable[..., None],
    stripe_client: stripe.StripeClient,
    organizer,
) -> None:
    payment = _paid(pay_with_card)

    refunds.refund(payment, actor=organizer, amount=2000, reason="Lunch not served")
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 2000)
    refunds.refund(payment, actor=organizer, amount=3000, reason="Cancelled by the member")
    assert (payment.status, payment.refunded_amount) == ("refunded", 5000)

    at_stripe = stripe_client.v1.refunds.list().data
    assert sorted(r.amount for r in at_stripe) == [2000, 3000]
    assert all(r.stripe_refund_id for r in db.session.scalars(select(Refund)))


def test_over_refund_is_refused_and_changes_nothing(
    stripe_on: str,
    pay_with_card: Callable[..., None],
    stripe_client: stripe.StripeClient,
    organizer,
) -> None:
    payment = _paid(pay_with_card)
    refunds.refund(payment, actor=organizer, amount=4000, reason="Partly")

    with pytest.raises(InvalidInput, match="At most ¥1,000 can be refunded"):
        refunds.refund(payment, actor=organizer, amount=1001, reason="Too much")
    with pytest.raises(InvalidInput):
        refunds.refund(payment, actor=organizer, amount=0, reason="Nothing")

    db.session.refresh(payment)
    assert (payment.refunded_amount, payment.status) == (4000, "partially_refunded")
    assert len(stripe_client.v1.refunds.list().data) == 1


def test_a_refund_needs_a_reason_and_staff(
    stripe_on: str, pay_with_card: Callable[..., None], organizer
) -> None:
    payment = _paid(pay_with_card)

    with pytest.raises(InvalidInput):
        refunds.refund(payment, actor=organizer, amount=100, reason=" ")
    from portal.errors import NotFound

    with pytest.raises(NotFound):
        refunds.refund(payment, actor=add_person(), amount=100, reason="mine")


def test_refund_made_at_stripe_is_recorded_from_charge_refunded(
    stripe_on: str, client: FlaskClient, pay_with_card: Callable[..., None]
) -> None:
    payment = _paid(pay_with_card)
    body, signature = signed(
        {
            "id": "evt_refund_dashboard",
            "type": "charge.refunded",
            "data": {
                "object": {
                    "id": "ch_1",
                    "object": "charge",
                    "payment_intent": payment.stripe_payment_intent_id,
                    "amount_refunded": 1500,
                }
            },
        }
    )

    assert (
        client.post(
            "/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
        ).status_code
        == 200
    )

    db.session.refresh(payment)
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 1500)


# --- the hold (rule 1 meets rule 6) ---


def test_a_lapsed_hold_gives_the_seat_to_the_waitlist(stripe_on: str) -> None:
    registration = _held_seat(capacity=1)
    cards.start_card_payment(registration, person=registration.person)
    waiting = registering.register(
        member_of("link-j"), registration.event, ticket_type_id=registration.ticket_type_id
    )
    assert waiting.status == "waitlisted"

    holds.release_expired_holds(now=later(minutes=31))

    db.session.refresh(registration)
    db.session.refresh(waiting)
    assert (registration.status, waiting.status) == ("cancelled", "awaiting_payment")


def test_payment_after_the_seat_went_to_someone_else_is_refunded_automatically(
    stripe_on: str, pay_with_card: Callable[..., None], stripe_client: stripe.StripeClient
) -> None:
    registration = _held_seat(capacity=1, price=5000)
    checkout = cards.start_card_payment(registration, person=registration.person)
    registering.register(
        add_person(), registration.event, ticket_type_id=registration.ticket_type_id
    )
    holds.release_expired_holds(now=later(minutes=31))  # the next person now holds the seat

    pay_with_card(checkout.payment.stripe_payment_intent_id)
    cards.settle_intent(gateway().retrieve_intent(checkout.payment.stripe_payment_intent_id))  # type: ignore[union-attr]

    db.session.refresh(checkout.payment)
    db.session.refresh(registration)
    assert (checkout.payment.status, checkout.payment.refunded_amount) == ("refunded", 5000)
    assert registration.status == "cancelled"
    assert [r.amount for r in stripe_client.v1.refunds.list().data] == [5000]
    assert "payments/refunded_seat_gone" in _kinds()
    assert db.session.scalars(select(Refund)).one().automatic


def test_payment_after_a_lapsed_hold_keeps_the_seat_if_still_free(
    stripe_on: str, pay_with_card: Callable[..., None]
) -> None:
    registration = _held_seat(capacity=1)
    checkout = cards.start_card_payment(registration, person=registration.person)
    holds.release_expired_holds(now=later(minutes=31))  # nobody was waiting

    pay_with_card(checkout.payment.stripe_payment_intent_id)
    cards.settle_intent(gateway().retrieve_intent(checkout.payment.stripe_payment_intent_id))  # type: ignore[union-attr]

    db.session.refresh(registration)
    db.session.refresh(checkout.payment)
    assert (registration.status, checkout.payment.status) == ("confirmed", "paid")


def test_without_stripe_keys_card_payment_is_not_offered(client: FlaskClient) -> None:
    registration = _held_seat()
    login(client, registration.person)

    page = client.get(f"/payments/registrations/{registration.id}").get_data(as_text=True)

    assert "Card payment is not available" in page
    assert "Issue the invoice" in page
    with pytest.raises(InvalidInput, match="not available"):
        cards.start_card_payment(registration, person=registration.person)


def test_someone_elses_payment_page_answers_404(client: FlaskClient) -> None:
    registration = _held_seat()
    intruder = add_person()
    login(client, intruder)

    assert client.get(f"/payments/registrations/{registration.id}").status_code == 404
    assert (
        client.post(
            f"/payments/registrations/{registration.id}/invoice", data={"company": "X"}
        ).status_code
        == 404
    )

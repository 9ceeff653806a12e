"""A webhook delivery whose processing fails is answered 5xx and leaves no trace, so Stripe's
retry settles the payment (rule 6): the event id is recorded only with the event's effect."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import stripe
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from portal import create_app
from portal.events import holds, registering
from portal.events.models import Registration
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.payments import cards
from portal.payments.models import Payment, Refund, StripeEvent
from tests.factories import add_event, add_person, later, ticket
from tests.payments.stripe_helpers import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    StripeOutage,
    signed,
)

pytestmark = pytest.mark.usefixtures("network")


def _held_seat(capacity: int = 10) -> Registration:
    event = add_event(
        capacity=capacity,
        tickets=({"audience": "non_member", "price": 5000, "currency": "JPY", "tax_rate": 10},),
    )
    return registering.register(add_person(), event, ticket_type_id=ticket(event, "non_member").id)


def _paid_at_stripe(pay_with_card: Callable[..., None], capacity: int = 10) -> Payment:
    """A card payment Stripe has taken, whose webhook has not reached the portal yet."""
    registration = _held_seat(capacity)
    payment = cards.start_card_payment(registration, person=registration.person).payment
    pay_with_card(payment.stripe_payment_intent_id)
    return payment


def _deliver(client: FlaskClient, payment: Payment | str) -> Any:
    """Stripe delivering (or redelivering: each try is signed afresh) payment_intent.succeeded."""
    intent_id = payment if isinstance(payment, str) else payment.stripe_payment_intent_id
    body, signature = signed(
        {
            "id": "evt_settle",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": intent_id, "object": "payment_intent"}},
        }
    )
    return client.post(
        "/payments/stripe/webhook", data=body, headers={"Stripe-Signature": signature}
    )


def _recorded_events() -> int:
    return db.session.scalar(select(func.count()).select_from(StripeEvent)) or 0


def _confirmations() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "events/registration_confirmed")
    )


def _state(payment: Payment) -> tuple[str, str]:
    db.session.expire_all()
    return payment.status, payment.registration.status


@pytest.fixture
def database_refuses_once() -> Iterator[list[str]]:
    """The database refuses the first change to a registration, as on a lock timeout."""
    refused: list[str] = []

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if refused or not statement.startswith("UPDATE registration"):
            return
        refused.append(statement)
        raise db.engine.dialect.loaded_dbapi.OperationalError(
            "canceling statement due to lock timeout"
        )

    sa_event.listen(db.engine, "before_cursor_execute", refuse)
    yield refused
    sa_event.remove(db.engine, "before_cursor_execute", refuse)


def test_a_delivery_that_meets_a_database_error_is_settled_by_the_redelivery(
    stripe_on: str,
    client: FlaskClient,
    pay_with_card: Callable[..., None],
    database_refuses_once: list[str],
) -> None:
    payment = _paid_at_stripe(pay_with_card)

    failed = _deliver(client, payment)

    assert database_refuses_once, "the registration was never confirmed"
    assert failed.status_code == 503  # Stripe retries any non-2xx answer
    assert _state(payment) == ("pending", "awaiting_payment")
    assert (_recorded_events(), _confirmations()) == (0, 0)

    retried = _deliver(client, payment)

    assert (retried.status_code, retried.get_data(as_text=True)) == (200, "processed")
    assert _state(payment) == ("paid", "confirmed")
    assert (_recorded_events(), _confirmations()) == (1, 1)
    again = _deliver(client, payment)
    assert (again.status_code, again.get_data(as_text=True)) == (200, "duplicate")
    assert _confirmations() == 1


def test_a_delivery_whose_settlement_raises_is_answered_500_and_settled_by_the_redelivery(
    stripe_on: str,
    client: FlaskClient,
    pay_with_card: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment = _paid_at_stripe(pay_with_card)
    real_confirm = holds.confirm_paid
    calls: list[int] = []

    def confirm_fails_once(registration: Registration, **kwargs: Any) -> bool:
        calls.append(registration.id)
        if len(calls) == 1:
            raise RuntimeError("the mail template is broken")
        return real_confirm(registration, **kwargs)

    monkeypatch.setattr(holds, "confirm_paid", confirm_fails_once)

    failed = _deliver(client, payment)

    assert (failed.status_code, failed.get_data(as_text=True)) == (500, "error, retry")
    assert _state(payment) == ("pending", "awaiting_payment")
    assert _recorded_events() == 0

    retried = _deliver(client, payment)

    assert (retried.status_code, retried.get_data(as_text=True)) == (200, "processed")
    assert _state(payment) == ("paid", "confirmed")
    assert (len(calls), _recorded_events(), _confirmations()) == (2, 1, 1)


def test_a_delivery_while_stripe_cannot_be_reached_is_answered_503_and_settled_later(
    stripe_outage: StripeOutage, client: FlaskClient, pay_with_card: Callable[..., None]
) -> None:
    payment = _paid_at_stripe(pay_with_card)
    stripe_outage.begin()

    failed = _deliver(client, payment)

    assert failed.status_code == 503
    assert _state(payment) == ("pending", "awaiting_payment")
    assert _recorded_events() == 0
    if stripe_outage.kind == "paused":
        assert stripe_outage.connections() == (1, 0)  # gave up in time, did not retry

    stripe_outage.end()
    retried = _deliver(client, payment)

    assert (retried.status_code, retried.get_data(as_text=True)) == (200, "processed")
    assert _state(payment) == ("paid", "confirmed")


def test_when_the_automatic_refund_fails_the_late_payment_stays_pending_until_it_succeeds(
    stripe_on: str,
    client: FlaskClient,
    pay_with_card: Callable[..., None],
    stripe_client: stripe.StripeClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The hold lapsed and the seat went to the next person; then the payment arrives.
    registration = _held_seat(capacity=1)
    payment = cards.start_card_payment(registration, person=registration.person).payment
    registering.register(
        add_person(), registration.event, ticket_type_id=registration.ticket_type_id
    )
    holds.release_expired_holds(now=later(minutes=31))
    pay_with_card(payment.stripe_payment_intent_id)
    # While the first delivery is processed, the network drops every refund request.
    send = requests.Session.request
    dropped: list[str] = []

    def drop_refunds(session: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        if network_down and method.upper() == "POST" and url.endswith("/v1/refunds"):
            dropped.append(url)
            raise requests.ConnectionError("connection reset by peer")
        return send(session, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", drop_refunds)
    network_down = True

    failed = _deliver(client, payment)

    assert dropped and failed.status_code == 503
    assert _state(payment) == ("pending", "cancelled")  # not "paid" with the money kept
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    assert stripe_client.v1.refunds.list().data == []

    network_down = False
    retried = _deliver(client, payment)

    assert (retried.status_code, retried.get_data(as_text=True)) == (200, "processed")
    db.session.expire_all()
    assert (payment.status, payment.refunded_amount) == ("refunded", 5000)
    assert [r.amount for r in stripe_client.v1.refunds.list().data] == [5000]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "payments/refunded_seat_gone")
        )
        == 1
    )


def test_a_delivery_that_meets_a_real_lock_timeout_is_settled_by_the_redelivery(
    postgres_only: None,
    stripe_on: str,
    database_url: str,
    pay_with_card: Callable[..., None],
) -> None:
    payment = _paid_at_stripe(pay_with_card)
    registration_id, intent_id = payment.registration_id, payment.stripe_payment_intent_id
    db.session.commit()
    impatient: Flask = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "LOCK_TIMEOUT_SECONDS": 0.2,
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": stripe_on,
        }
    )
    # Staff editing the registration hold its row while Stripe's delivery arrives.
    engine, locked, release = db.engine, threading.Event(), threading.Event()

    def staff_edit() -> None:
        with engine.connect() as connection:
            connection.execute(
                select(Registration.id).where(Registration.id == registration_id).with_for_update()
            )
            locked.set()
            release.wait(10)
            connection.rollback()

    holder = threading.Thread(target=staff_edit)
    holder.start()
    assert locked.wait(10)
    try:
        with impatient.app_context():
            failed = _deliver(impatient.test_client(), intent_id)
    finally:
        release.set()
        holder.join()
    with impatient.app_context():
        retried = _deliver(impatient.test_client(), intent_id)
        db.session.remove()
        db.engine.dispose()

    assert failed.status_code == 503
    assert (retried.status_code, retried.get_data(as_text=True)) == (200, "processed")
    assert _state(payment) == ("paid", "confirmed")
    assert _confirmations() == 1

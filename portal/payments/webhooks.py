"""Stripe's webhook, and reconciling the payments whose webhook never came."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.db import utcnow
from portal.errors import DomainError
from portal.extensions import db
from portal.language import gettext as _
from portal.payments.cards import settle_intent
from portal.payments.models import Payment, PaymentMethod, PaymentStatus, StripeEvent
from portal.payments.refunds import sync_refunds
from portal.payments.states import PaymentServiceUnavailable
from portal.payments.stripe_gateway import (
    GatewayError,
    GatewayUnavailable,
    InvalidSignature,
    gateway,
)


class WebhookRejected(Exception):
    """The request is not a genuine Stripe event; answer 400."""


def receive_webhook(payload: bytes, signature: str) -> tuple[str, int]:
    """Stripe's webhook, as the endpoint answers it: 400 for anything not signed by Stripe,
    2xx once the event is recorded (duplicates and ignored types too), 5xx whenever
    processing failed, so Stripe delivers it again (nothing of a failed delivery is kept)."""
    try:
        outcome = handle_webhook(payload, signature)
    except WebhookRejected:
        return "invalid signature", 400
    except (OperationalError, DomainError, GatewayUnavailable) as error:
        db.session.rollback()
        current_app.logger.warning("Stripe webhook not processed, Stripe will retry: %s", error)
        return "busy, retry", 503
    except Exception:
        # Whatever went wrong, Stripe must deliver again: answering anything but 5xx would
        # lose the event.
        db.session.rollback()
        current_app.logger.exception("Stripe webhook failed; Stripe will retry")
        return "error, retry", 500
    return outcome, 200


def handle_webhook(payload: bytes, signature: str) -> str:
    """Take in one webhook delivery; returns "processed", "duplicate" or "ignored".

    The signature is verified on the raw body first. The object is fetched fresh from Stripe
    and acted on as it is now, so events arriving out of order do no harm. The event id (a
    primary key) is committed in the same transaction as the event's effect: a redelivery of
    a processed event does nothing, while a delivery whose processing failed leaves no trace
    and is processed afresh when Stripe retries it.

    Raises WebhookRejected when the signature does not verify; GatewayUnavailable (Stripe
    unreachable), DomainError (a lock not granted in time, a refund Stripe refused) and
    database errors roll everything back and mean "answer 5xx so Stripe retries".
    """
    stripe = gateway()
    if stripe is None:
        raise WebhookRejected("card payments are not configured")
    try:
        event = stripe.construct_event(payload, signature)
    except InvalidSignature as error:
        raise WebhookRejected(str(error)) from error
    if db.session.get(StripeEvent, event["id"]) is not None:
        return "duplicate"
    kind = event["type"]
    obj = event["data"]["object"]
    intent = stripe.retrieve_intent(obj["id"]) if kind.startswith("payment_intent.") else None
    received = StripeEvent(id=event["id"], type=kind)
    db.session.add(received)
    try:
        # A simultaneous delivery of the same event waits here until ours ends, then fails.
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    outcome = "processed"
    if intent is not None:
        settle_intent(intent)  # commits ``received`` with the payment's transition
    elif kind == "charge.refunded":
        sync_refunds(obj)
    else:
        outcome = "ignored"
    if inspect(received).transient:
        # Another caller had already moved the payment; losing that race rolled our row back.
        db.session.add(StripeEvent(id=event["id"], type=kind))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    return outcome


def reconcile(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Settle pending card payments whose webhook never arrived, by asking Stripe.

    Returns how many were settled. Raises PaymentServiceUnavailable as soon as Stripe stops
    answering: what was settled before stays settled, and the next run tries the rest.
    """
    stripe = gateway(retry=True)
    if stripe is None:
        return 0
    pending = db.session.scalars(
        select(Payment).where(
            Payment.method == PaymentMethod.CARD.value,
            Payment.status == PaymentStatus.PENDING.value,
            Payment.created_at < utcnow() - older_than,
            Payment.stripe_payment_intent_id.is_not(None),
        )
    ).all()
    settled = 0
    for payment in pending:
        assert payment.stripe_payment_intent_id
        try:
            settle_intent(stripe.retrieve_intent(payment.stripe_payment_intent_id))
        except (GatewayUnavailable, PaymentServiceUnavailable) as error:
            db.session.rollback()
            current_app.logger.warning(
                "reconcile stopped at payment %s, Stripe unavailable: %s", payment.id, error
            )
            raise PaymentServiceUnavailable(
                _(
                    "The payment service cannot be reached right now (payments settled before "
                    "it stopped answering: %(settled)d). The others stay pending; the next run "
                    "tries again.",
                    settled=settled,
                )
            ) from error
        except (GatewayError, DomainError) as error:
            db.session.rollback()
            current_app.logger.warning("reconcile left payment %s pending: %s", payment.id, error)
            continue
        db.session.refresh(payment)
        settled += payment.status != PaymentStatus.PENDING
    return settled

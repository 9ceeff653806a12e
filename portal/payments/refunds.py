"""Refunds: by staff (through Stripe for cards, recorded for bank transfers), automatic ones,
and those made at Stripe's dashboard that the portal learns of by webhook."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Person
from portal.audit.services import record
from portal.errors import InvalidInput, NotFound
from portal.events import leaving
from portal.events.models import Registration
from portal.extensions import db
from portal.language import gettext as _
from portal.locking import lock_rows
from portal.money import format_money
from portal.payments.models import Payment, PaymentMethod, PaymentStatus, Refund
from portal.payments.states import PaymentRefused, PaymentServiceUnavailable
from portal.payments.stripe_gateway import GatewayError, GatewayUnavailable, gateway


def refund(
    payment: Payment,
    *,
    actor: Person | None,
    amount: int,
    reason: str,
    automatic: bool = False,
) -> Refund:
    """Refund part or all of a payment: through Stripe for cards, recorded for transfers.

    Never more than was paid and not yet refunded (checked under a lock on the payment, so
    two simultaneous refunds cannot exceed it). Raises InvalidInput for a bad amount or a
    missing reason, PaymentRefused when Stripe refuses, PaymentServiceUnavailable when Stripe
    does not answer in time; either way nothing is recorded.
    """
    if actor is not None and not actor.is_staff:
        raise NotFound(_("Not found."))
    if not reason.strip():
        raise InvalidInput(_("Give a reason for the refund."))
    lock_rows(Payment.__table__, [payment.id])
    db.session.refresh(payment)
    _check_refundable(payment, amount)
    stripe_refund_id = None
    if payment.method == PaymentMethod.CARD:
        # Staff may wait for a retry; an automatic refund runs while a webhook waits and the
        # payment's lock is held.
        stripe_refund_id = _refund_at_stripe(payment, amount, retry=actor is not None)
    entry = Refund(
        payment=payment,
        amount=amount,
        reason=reason.strip(),
        stripe_refund_id=stripe_refund_id,
        automatic=automatic,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(entry)
    _count_refunded(payment, payment.refunded_amount + amount)
    registration = payment.registration
    record(
        "payment.refund",
        actor=actor,
        subject_type="payment",
        subject_id=payment.id,
        organization_id=registration.event.host_id if registration else None,
        reason=reason,
        amount=amount,
        currency=payment.currency,
        automatic=automatic,
    )
    db.session.commit()
    return entry


def _check_refundable(payment: Payment, amount: int) -> None:
    if amount <= 0:
        db.session.rollback()
        raise InvalidInput(_("Enter an amount above zero."))
    if amount > payment.refundable:
        db.session.rollback()
        raise InvalidInput(
            _(
                "At most %(amount)s can be refunded.",
                amount=format_money(payment.refundable, payment.currency),
            )
        )


def _refund_at_stripe(payment: Payment, amount: int, *, retry: bool) -> str:
    """Stripe's id of the refund; nothing is kept here when Stripe refuses or is away."""
    stripe = gateway(retry=retry)
    if stripe is None or not payment.stripe_payment_intent_id:
        db.session.rollback()
        raise PaymentRefused(_("Card refunds need Stripe to be configured."))
    try:
        result = stripe.refund(
            payment.stripe_payment_intent_id,
            amount,
            idempotency_key=f"refund-{payment.id}-{payment.refunded_amount}-{amount}",
        )
    except GatewayUnavailable as error:
        db.session.rollback()
        current_app.logger.warning(
            "Stripe unavailable while refunding payment %s: %s", payment.id, error
        )
        raise PaymentServiceUnavailable(
            _(
                "The payment service cannot be reached right now, so nothing was refunded. "
                "Please try again shortly."
            )
        ) from error
    except GatewayError as error:
        db.session.rollback()
        raise PaymentRefused(
            _("Stripe refused the refund: %(reason)s", reason=str(error))
        ) from error
    return result.id


def _count_refunded(payment: Payment, refunded: int) -> None:
    payment.refunded_amount = refunded
    payment.status = (
        PaymentStatus.REFUNDED.value
        if refunded == payment.amount
        else PaymentStatus.PARTIALLY_REFUNDED.value
    )


def sync_refunds(charge: dict[str, Any]) -> None:
    """A refund made outside the portal (Stripe's dashboard): record what we did not know.

    Does not commit: the webhook commits it with the event's id.
    """
    intent_id = charge.get("payment_intent")
    payment = db.session.scalar(
        select(Payment).where(Payment.stripe_payment_intent_id == intent_id)
    )
    if payment is None:
        return
    lock_rows(Payment.__table__, [payment.id])
    db.session.refresh(payment)
    known = payment.refunded_amount
    reported = min(int(charge.get("amount_refunded") or 0), payment.amount)
    if reported <= known:
        return
    db.session.add(Refund(payment=payment, amount=reported - known, reason="Refunded at Stripe"))
    _count_refunded(payment, reported)


def paid_payment(registration: Registration) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(
            Payment.registration_id == registration.id,
            Payment.status.in_([PaymentStatus.PAID.value, PaymentStatus.PARTIALLY_REFUNDED.value]),
        )
    )


def cancel_registration_with_refund(
    registration: Registration, *, actor: Person, reason: str, refund_payment: bool
) -> Refund | None:
    """Staff cancel a registration and, if asked, refund what was paid for it in full."""
    leaving.cancel_registration(registration, actor=actor, reason=reason)
    payment = paid_payment(registration)
    if refund_payment and payment is not None:
        return refund(payment, actor=actor, amount=payment.refundable, reason=reason or "Cancelled")
    return None

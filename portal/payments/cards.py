"""Card payments through Stripe: starting one for a held seat, and acting on what Stripe says
of it (the webhook, the return page and the reconcile job all end in ``settle_intent``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Person
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.events.models import Registration
from portal.extensions import db
from portal.language import gettext as _
from portal.payments.models import Payment, PaymentMethod, PaymentStatus
from portal.payments.settlement import confirm_or_refund
from portal.payments.states import (
    PaymentRefused,
    PaymentServiceUnavailable,
    held_until,
    open_payment,
    require_payable,
    transition,
    unavailable_message,
)
from portal.payments.stripe_gateway import (
    GatewayError,
    GatewayUnavailable,
    Intent,
    StripeGateway,
    gateway,
)


@dataclass(frozen=True)
class CardCheckout:
    payment: Payment
    client_secret: str


def start_card_payment(registration: Registration, *, person: Person) -> CardCheckout:
    """Create (or reuse) the PaymentIntent for a held seat, with an idempotency key.

    Raises InvalidTransition when nothing is owed, PaymentRefused when Stripe refuses,
    PaymentServiceUnavailable when Stripe does not answer in time (nothing is written and the
    seat stays held), InvalidInput when card payment is not configured.
    """
    stripe = gateway()
    if stripe is None:
        raise InvalidInput(_("Card payment is not available; please choose an invoice."))
    require_payable(registration, person)
    try:
        return _start_card_payment(stripe, registration, person)
    except GatewayUnavailable as error:
        db.session.rollback()
        current_app.logger.warning(
            "Stripe unavailable while starting payment for registration %s: %s",
            registration.id,
            error,
        )
        raise PaymentServiceUnavailable(unavailable_message(registration)) from error


def _start_card_payment(
    stripe: StripeGateway, registration: Registration, person: Person
) -> CardCheckout:
    payment = open_payment(registration)
    if (
        payment is not None
        and payment.method == PaymentMethod.CARD
        and payment.stripe_payment_intent_id
    ):
        intent = stripe.retrieve_intent(payment.stripe_payment_intent_id)
        if intent.client_secret and intent.status not in ("succeeded", "canceled"):
            return CardCheckout(payment, intent.client_secret)
        # Stripe already settled this attempt (its webhook is late): record that first, so a
        # paid seat is never offered for payment again and a new attempt is not blocked.
        settle_intent(intent)
        db.session.refresh(registration)
        require_payable(registration, person)
    if payment is not None and payment.method == PaymentMethod.INVOICE:
        raise InvalidTransition(_("An invoice was already issued for this registration."))
    return _new_card_payment(stripe, registration, person)


def _new_card_payment(
    stripe: StripeGateway, registration: Registration, person: Person
) -> CardCheckout:
    attempt = 1 + len(
        db.session.scalars(
            select(Payment.id).where(Payment.registration_id == registration.id)
        ).all()
    )
    try:
        intent = stripe.create_intent(
            amount=registration.price,
            currency=registration.currency,
            registration_id=registration.id,
            # Derived from the registration and attempt: a retried request never charges twice.
            idempotency_key=f"registration-{registration.id}-attempt-{attempt}",
        )
    except GatewayUnavailable:
        raise
    except GatewayError as error:
        raise PaymentRefused(
            _("The payment could not be started: %(reason)s", reason=str(error))
        ) from error
    payment = Payment(
        registration_id=registration.id,
        person_id=person.id,
        method=PaymentMethod.CARD.value,
        amount=registration.price,
        currency=registration.currency,
        stripe_payment_intent_id=intent.id,
        attempt=attempt,
    )
    db.session.add(payment)
    try:
        db.session.commit()
    except IntegrityError:
        # Two tabs pressed "Pay" at once; the other created the open payment.
        db.session.rollback()
        existing = open_payment(registration)
        if existing is None or not existing.stripe_payment_intent_id:
            raise
        intent = stripe.retrieve_intent(existing.stripe_payment_intent_id)
        payment = existing
    assert intent.client_secret
    return CardCheckout(payment, intent.client_secret)


def settle_intent(intent: Intent) -> Payment | None:
    """Act on the PaymentIntent's current state, as Stripe reports it (rule 6).

    Safe to call any number of times and in any order: only a pending payment moves.
    """
    payment = db.session.scalar(
        select(Payment).where(Payment.stripe_payment_intent_id == intent.id)
    )
    if payment is None:
        return None
    if intent.status == "succeeded":
        if intent.amount != payment.amount or intent.currency != payment.currency:
            # Never trust an amount we did not ask for; staff must look at it.
            current_app.logger.error("payment %s: Stripe amount differs", payment.id)
            return payment
        if transition(payment, PaymentStatus.PENDING, PaymentStatus.PAID, paid_at=utcnow()):
            confirm_or_refund(payment)
    elif intent.status == "canceled":
        transition(payment, PaymentStatus.PENDING, PaymentStatus.EXPIRED)
        db.session.commit()
    elif intent.status == "requires_payment_method" and intent.failure:
        # The seat stays held: the person may try another card until the hold lapses.
        transition(
            payment, PaymentStatus.PENDING, PaymentStatus.FAILED, failure_reason=intent.failure
        )
        db.session.commit()
    return payment


def confirm_from_return(registration: Registration, *, person: Person) -> Payment | None:
    """The payer came back from Stripe.js: look the intent up (evidence), never trust the URL.

    Raises PaymentServiceUnavailable when Stripe does not answer in time: the payment stays
    pending for the webhook (or the reconcile job) to settle, and the seat stays held.
    """
    if registration.person_id != person.id:
        raise NotFound(_("Not found."))
    stripe = gateway()
    payment = db.session.scalar(
        select(Payment)
        .where(
            Payment.registration_id == registration.id, Payment.method == PaymentMethod.CARD.value
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if stripe is None or payment is None or not payment.stripe_payment_intent_id:
        return payment
    try:
        return settle_intent(stripe.retrieve_intent(payment.stripe_payment_intent_id))
    except (GatewayUnavailable, PaymentServiceUnavailable) as error:
        db.session.rollback()
        current_app.logger.warning(
            "Stripe unavailable on the return page of payment %s: %s", payment.id, error
        )
        raise PaymentServiceUnavailable(_not_confirmed_yet(registration)) from error


def _not_confirmed_yet(registration: Registration) -> str:
    # The payer has most likely just paid: say so, and do not invite them to pay again.
    held = held_until(registration)
    if held is None:
        return _(
            "The payment service cannot be reached right now, so your payment is not "
            "confirmed yet; this page will show it once Stripe confirms it."
        )
    return _(
        "The payment service cannot be reached right now, so your payment is not "
        "confirmed yet. Your seat stays held until %(time)s; this page will show the "
        "payment once Stripe confirms it.",
        time=held,
    )

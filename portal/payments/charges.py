"""Paying for a registered purpose (``payments.purposes``) rather than a seat: a qualified
invoice with the lines the purpose sells, or a card payment through Stripe. Either ends, once
paid, in ``settlement.confirm_or_refund``, which hands the payment to its purpose.

These functions add to the caller's transaction and do not commit unless they say so: the
purpose's own change (a dues charge issued) and the payment commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Person
from portal.errors import InvalidInput, InvalidTransition
from portal.extensions import db
from portal.language import gettext as _
from portal.payments.cards import CardCheckout, settle_intent
from portal.payments.invoices import _addressee, _configured_issuer, _next_invoice_number
from portal.payments.models import Invoice, InvoiceLine, Payment, PaymentMethod, PaymentStatus
from portal.payments.states import PaymentRefused, PaymentServiceUnavailable, tokyo_today
from portal.payments.stripe_gateway import GatewayError, GatewayUnavailable, gateway


@dataclass(frozen=True)
class ChargeLine:
    """A line of what is sold: description, price including tax (minor units), tax rate."""

    description: str
    amount: int
    tax_rate: int


def open_charge_payment(purpose: str, purpose_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(
            Payment.purpose == purpose,
            Payment.purpose_id == purpose_id,
            Payment.status == PaymentStatus.PENDING.value,
        )
    )


def issue_invoice(
    *,
    purpose: str,
    purpose_id: int,
    person: Person,
    company: str,
    recipient_name: str,
    lines: list[ChargeLine],
    due_on: date,
    currency: str = "JPY",
) -> Invoice:
    """A qualified invoice (rule 13) for the lines, added to the transaction (no commit).

    Raises InvalidInput while the issuer's registration number or bank account is missing or
    without a company, InvalidTransition when a payment for the same thing is open.
    """
    issuer = _configured_issuer()
    company, recipient_name = _addressee(company, recipient_name)
    if not company:
        raise InvalidInput(_("Enter the company or institution the invoice is addressed to."))
    if open_charge_payment(purpose, purpose_id) is not None:
        raise InvalidTransition(_("A payment for this is already open."))
    total = sum(line.amount for line in lines)
    issued_on = tokyo_today()
    payment = Payment(
        purpose=purpose,
        purpose_id=purpose_id,
        person_id=person.id,
        method=PaymentMethod.INVOICE.value,
        amount=total,
        currency=currency,
    )
    invoice = Invoice(
        payment=payment,
        number=_next_invoice_number(issued_on.year),
        issued_on=issued_on,
        due_on=max(due_on, issued_on),
        issuer_name=current_app.config["INVOICE_ISSUER_NAME"],
        issuer_registration_number=issuer.registration_number,
        issuer_address=current_app.config.get("INVOICE_ISSUER_ADDRESS", ""),
        bank_account=issuer.bank_account,
        recipient_company=company,
        recipient_name=recipient_name,
        currency=currency,
        total=total,
        lines=[
            InvoiceLine(
                description=line.description,
                quantity=1,
                unit_amount=line.amount,
                tax_rate=line.tax_rate,
            )
            for line in lines
        ],
    )
    db.session.add(payment)
    db.session.flush()
    return invoice


def start_card_payment(
    *, purpose: str, purpose_id: int, person: Person, amount: int, currency: str = "JPY"
) -> CardCheckout:
    """Create (or reuse) the PaymentIntent for the thing; commits the new payment.

    Raises InvalidInput when card payment is not configured, InvalidTransition when an invoice
    is open for it, PaymentRefused when Stripe refuses, PaymentServiceUnavailable when Stripe
    does not answer (nothing is written).
    """
    stripe = gateway()
    if stripe is None:
        raise InvalidInput(_("Card payment is not available on this portal."))
    try:
        payment = open_charge_payment(purpose, purpose_id)
        if payment is not None and payment.method == PaymentMethod.INVOICE:
            raise InvalidTransition(_("An invoice was already issued for this."))
        if payment is not None and payment.stripe_payment_intent_id:
            intent = stripe.retrieve_intent(payment.stripe_payment_intent_id)
            if intent.client_secret and intent.status not in ("succeeded", "canceled"):
                return CardCheckout(payment, intent.client_secret)
            settle_intent(intent)
            db.session.refresh(payment)
            if payment.status == PaymentStatus.PAID:
                raise InvalidTransition(_("This is paid already."))
        attempt = 1 + len(
            db.session.scalars(
                select(Payment.id).where(
                    Payment.purpose == purpose, Payment.purpose_id == purpose_id
                )
            ).all()
        )
        intent = stripe.create_intent(
            amount=amount,
            currency=currency,
            metadata={"purpose": purpose, "id": str(purpose_id)},
            # Derived from the thing and attempt: a retried request never charges twice.
            idempotency_key=f"{purpose}-{purpose_id}-attempt-{attempt}",
        )
    except GatewayUnavailable as error:
        db.session.rollback()
        current_app.logger.warning("Stripe unavailable for %s %s: %s", purpose, purpose_id, error)
        raise PaymentServiceUnavailable(
            _("The payment service cannot be reached right now. Please try again shortly.")
        ) from error
    except GatewayError as error:
        raise PaymentRefused(
            _("The payment could not be started: %(reason)s", reason=str(error))
        ) from error
    payment = Payment(
        purpose=purpose,
        purpose_id=purpose_id,
        person_id=person.id,
        method=PaymentMethod.CARD.value,
        amount=amount,
        currency=currency,
        stripe_payment_intent_id=intent.id,
        attempt=attempt,
    )
    db.session.add(payment)
    db.session.commit()
    assert intent.client_secret
    return CardCheckout(payment, intent.client_secret)


def confirm_card_from_return(purpose: str, purpose_id: int) -> Payment | None:
    """The payer came back from Stripe.js: ask Stripe how the latest card payment stands
    (rule 6). Raises PaymentServiceUnavailable when Stripe does not answer."""
    payment = db.session.scalar(
        select(Payment)
        .where(
            Payment.purpose == purpose,
            Payment.purpose_id == purpose_id,
            Payment.method == PaymentMethod.CARD.value,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    stripe = gateway()
    if stripe is None or payment is None or not payment.stripe_payment_intent_id:
        return payment
    try:
        return settle_intent(stripe.retrieve_intent(payment.stripe_payment_intent_id))
    except GatewayUnavailable as error:
        db.session.rollback()
        raise PaymentServiceUnavailable(
            _(
                "The payment service cannot be reached right now, so your payment is not "
                "confirmed yet; this page will show it once Stripe confirms it."
            )
        ) from error

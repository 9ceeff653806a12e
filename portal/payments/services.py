"""The payment state machine and its transitions (DOMAIN rules 5 and 6).

    pending ──(Stripe says succeeded / staff record the transfer)──▶ paid
    pending ──(card declined)──▶ failed          pending ──(intent cancelled)──▶ expired
    paid ──(refund of part)──▶ partially_refunded ──(rest refunded)──▶ refunded

A payment becomes paid only on evidence from Stripe — a webhook whose signature verifies,
or a look-up of the PaymentIntent — never because a browser came back. Every transition is
a conditional UPDATE, so when the webhook, the return page and the reconcile command race,
exactly one wins and mail goes out once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from portal.events import holds, leaving
from portal.events.models import Registration, RegistrationStatus
from portal.extensions import db
from portal.i18n import format_datetime_in
from portal.locking import lock_rows
from portal.notifications.services import external_url, queue_mail
from portal.payments.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    StripeEvent,
)
from portal.payments.stripe_gateway import (
    GatewayError,
    GatewayUnavailable,
    Intent,
    InvalidSignature,
    StripeGateway,
    gateway,
)

TOKYO = ZoneInfo("Asia/Tokyo")


class PaymentRefused(DomainError):
    """The card was declined or the provider refused; the message says what to do."""


class PaymentServiceUnavailable(DomainError):
    """Stripe could not be reached or did not answer in time; nothing was changed here, so
    the person (or the next run of a job) may simply try again."""


def _tokyo_today() -> date:
    return utcnow().astimezone(TOKYO).date()


def _require_payable(registration: Registration, person: Person) -> None:
    if registration.person_id != person.id:
        raise NotFound(_("Not found."))
    if registration.status != RegistrationStatus.AWAITING_PAYMENT:
        raise InvalidTransition(_("This registration is not waiting for a payment."))


def _held_until(registration: Registration) -> str | None:
    """When the seat's hold lapses, on the event's clock and naming its zone (rule 9)."""
    hold = registration.hold_expires_at
    if hold is None or registration.status != RegistrationStatus.AWAITING_PAYMENT:
        return None
    zone = registration.event.timezone
    return f"{format_datetime_in(hold, zone)} {hold.astimezone(ZoneInfo(zone)).tzname()}"


def _unavailable_message(registration: Registration) -> str:
    held_until = _held_until(registration)
    if held_until is None:
        return _("The payment service cannot be reached right now. Please try again shortly.")
    return _(
        "The payment service cannot be reached right now. "
        "Your seat stays held until %(time)s; please try again.",
        time=held_until,
    )


def open_payment(registration: Registration) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(
            Payment.registration_id == registration.id,
            Payment.status == PaymentStatus.PENDING.value,
        )
    )


# --- card payments ---------------------------------------------------------------------------


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
    _require_payable(registration, person)
    try:
        return _start_card_payment(stripe, registration, person)
    except GatewayUnavailable as error:
        db.session.rollback()
        current_app.logger.warning(
            "Stripe unavailable while starting payment for registration %s: %s",
            registration.id,
            error,
        )
        raise PaymentServiceUnavailable(_unavailable_message(registration)) from error


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
        _require_payable(registration, person)
    if payment is not None and payment.method == PaymentMethod.INVOICE:
        raise InvalidTransition(_("An invoice was already issued for this registration."))
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
        if _transition(payment, PaymentStatus.PENDING, PaymentStatus.PAID, paid_at=utcnow()):
            _after_paid(payment)
    elif intent.status == "canceled":
        _transition(payment, PaymentStatus.PENDING, PaymentStatus.EXPIRED)
        db.session.commit()
    elif intent.status == "requires_payment_method" and intent.failure:
        # The seat stays held: the person may try another card until the hold lapses.
        _transition(
            payment, PaymentStatus.PENDING, PaymentStatus.FAILED, failure_reason=intent.failure
        )
        db.session.commit()
    return payment


def _transition(
    payment: Payment, source: PaymentStatus, target: PaymentStatus, **values: Any
) -> bool:
    """Move the payment if it is still in ``source``; True for the one caller that did."""
    result = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == source.value)
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    db.session.refresh(payment)
    return True


def _after_paid(payment: Payment) -> None:
    """Confirm the registration; if its hold lapsed and the seat is gone, refund at once."""
    registration = db.session.get(Registration, payment.registration_id)
    assert registration is not None
    record(
        "payment.paid",
        actor=None,
        subject_type="payment",
        subject_id=payment.id,
        organization_id=registration.event.host_id,
        method=payment.method,
        amount=payment.amount,
        currency=payment.currency,
    )
    if holds.confirm_paid(registration):
        db.session.commit()
        return
    if registration.status == RegistrationStatus.CANCELLED and holds.reinstate_paid(registration):
        db.session.commit()
        return
    # Paid and refunded in one commit: if Stripe cannot refund now, the payment stays pending
    # and the next webhook delivery or reconcile run tries again, rather than keeping the
    # money of someone without a seat.
    _refund_automatically(payment, registration)


def _refund_automatically(payment: Payment, registration: Registration) -> None:
    refund(
        payment,
        actor=None,
        amount=payment.amount,
        reason="The payment arrived after the held seat had gone to someone else.",
        automatic=True,
    )
    person = registration.person
    queue_mail(
        to=person.email,
        template="payments/refunded_seat_gone",
        locale=person.preferred_locale,
        person_id=person.id,
        person=person,
        registration=registration,
        event=registration.event,
        payment=payment,
        event_url=external_url("events.detail", slug=registration.event.slug),
    )
    db.session.commit()


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
        # The payer has most likely just paid: say so, and do not invite them to pay again.
        held_until = _held_until(registration)
        if held_until is None:
            message = _(
                "The payment service cannot be reached right now, so your payment is not "
                "confirmed yet; this page will show it once Stripe confirms it."
            )
        else:
            message = _(
                "The payment service cannot be reached right now, so your payment is not "
                "confirmed yet. Your seat stays held until %(time)s; this page will show the "
                "payment once Stripe confirms it.",
                time=held_until,
            )
        raise PaymentServiceUnavailable(message) from error


# --- webhooks and reconciliation --------------------------------------------------------------


class WebhookRejected(Exception):
    """The request is not a genuine Stripe event; answer 400."""


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
        _sync_refunds(obj)
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


def _sync_refunds(charge: dict[str, Any]) -> None:
    """A refund made outside the portal (Stripe's dashboard): record what we did not know."""
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
    payment.refunded_amount = reported
    payment.status = (
        PaymentStatus.REFUNDED.value
        if reported == payment.amount
        else PaymentStatus.PARTIALLY_REFUNDED.value
    )


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


# --- refunds ----------------------------------------------------------------------------------


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
    if amount <= 0:
        db.session.rollback()
        raise InvalidInput(_("Enter an amount above zero."))
    if amount > payment.refundable:
        db.session.rollback()
        raise InvalidInput(
            _(
                "At most %(amount)s can be refunded.",
                amount=_money(payment.refundable, payment.currency),
            )
        )
    stripe_refund_id = None
    if payment.method == PaymentMethod.CARD:
        # Staff may wait for a retry; an automatic refund runs while a webhook waits and the
        # payment's lock is held.
        stripe = gateway(retry=actor is not None)
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
        stripe_refund_id = result.id
    entry = Refund(
        payment=payment,
        amount=amount,
        reason=reason.strip(),
        stripe_refund_id=stripe_refund_id,
        automatic=automatic,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(entry)
    payment.refunded_amount += amount
    payment.status = (
        PaymentStatus.REFUNDED.value
        if payment.refunded_amount == payment.amount
        else PaymentStatus.PARTIALLY_REFUNDED.value
    )
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


# --- invoices and bank transfers --------------------------------------------------------------


@dataclass(frozen=True)
class TaxLine:
    rate: int
    #: Total of the lines at this rate, tax included.
    total: int
    #: Consumption tax in that total, rounded down once for the rate (qualified invoice rule).
    tax: int


class Taxable(Protocol):
    """A line of a sale: its consumption tax rate (percent) and amount, tax included."""

    @property
    def tax_rate(self) -> int: ...

    @property
    def amount(self) -> int: ...


@dataclass(frozen=True)
class Sold:
    """A sale without an invoice (a card payment), as one line at its rate."""

    tax_rate: int
    amount: int


def tax_summary(lines: Iterable[Taxable]) -> list[TaxLine]:
    """Per tax rate: the total and the tax in it, rounded down once per rate per document, never
    line by line (the qualified invoice rule: per-line rounding can differ by a yen per line)."""
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.tax_rate] = totals.get(line.tax_rate, 0) + line.amount
    return [
        TaxLine(rate, total, total * rate // (100 + rate))
        for rate, total in sorted(totals.items(), reverse=True)
    ]


def tax_rate_of(registration: Registration) -> int:
    """The consumption tax rate in a registration's price: its ticket type's, for yen prices
    (the only ones the editor lets carry Japanese consumption tax); none for others."""
    return registration.ticket_type.tax_rate if registration.currency == "JPY" else 0


def payment_taxes(payment: Payment) -> list[TaxLine]:
    """What a payment's receipt declares per rate: its invoice's lines, or the ticket sold."""
    if payment.invoice is not None:
        return tax_summary(payment.invoice.lines)
    registration = payment.registration
    rate = tax_rate_of(registration) if registration is not None else 0
    return tax_summary([Sold(rate, payment.amount)])


def transaction_day(payment: Payment) -> date | None:
    """The date of the transaction a qualified invoice or receipt names: the day the event is
    held, on its own clock (rule 9), since the fee buys taking part in it."""
    registration = payment.registration
    if registration is None:
        return None
    event = registration.event
    return event.starts_at.astimezone(ZoneInfo(event.timezone)).date()


def _next_invoice_number(year: int) -> str:
    """The year's next number, without gaps or duplicates even when invoices are issued at once."""
    counter = db.session.get(InvoiceCounter, year)
    if counter is None:
        db.session.add(InvoiceCounter(year=year, last=0))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
    # UPDATE … RETURNING locks the counter row on both databases: no gaps, no duplicates.
    last = db.session.execute(
        update(InvoiceCounter)
        .where(InvoiceCounter.year == year)
        .values(last=InvoiceCounter.last + 1)
        .returning(InvoiceCounter.last)
    ).scalar_one()
    return f"LJ-{year}-{last:06d}"


def _due_on(registration: Registration, issued_on: date) -> date:
    days = int(current_app.config.get("INVOICE_DUE_DAYS", 14))
    event_day = registration.event.starts_at.astimezone(TOKYO).date()
    # Due before the event, so the seat is paid for when the person arrives.
    return max(issued_on, min(issued_on + timedelta(days=days), event_day - timedelta(days=1)))


def request_invoice(
    registration: Registration, *, person: Person, company: str, recipient_name: str = ""
) -> Invoice:
    """Issue a qualified invoice for a held seat; the seat stays held until it is paid.

    Raises InvalidInput without a company name or when the issuer's registration number or
    bank account is not configured (nothing is written), InvalidTransition when nothing is
    owed or a card payment is open.
    """
    _require_payable(registration, person)
    number_of_issuer = current_app.config.get("INVOICE_REGISTRATION_NUMBER")
    if not number_of_issuer:
        raise InvalidInput(
            _("Invoices cannot be issued yet: the issuer's registration number is not configured.")
        )
    bank_account = (current_app.config.get("INVOICE_BANK_ACCOUNT") or "").strip()
    if not bank_account:
        raise InvalidInput(
            _("Invoices cannot be issued yet: the bank account to pay into is not configured.")
        )
    company, recipient_name = _addressee(company, recipient_name)
    if not company:
        raise InvalidInput(_("Enter the company or institution the invoice is addressed to."))
    existing = open_payment(registration)
    if existing is not None:
        if existing.method == PaymentMethod.INVOICE and existing.invoice is not None:
            return existing.invoice
        raise InvalidTransition(_("A card payment is in progress for this registration."))
    issued_on = _tokyo_today()
    payment = Payment(
        registration_id=registration.id,
        person_id=person.id,
        method=PaymentMethod.INVOICE.value,
        amount=registration.price,
        currency=registration.currency,
    )
    invoice = Invoice(
        payment=payment,
        number=_next_invoice_number(issued_on.year),
        issued_on=issued_on,
        due_on=_due_on(registration, issued_on),
        issuer_name=current_app.config["INVOICE_ISSUER_NAME"],
        issuer_registration_number=number_of_issuer,
        issuer_address=current_app.config.get("INVOICE_ISSUER_ADDRESS", ""),
        bank_account=bank_account,
        recipient_company=company,
        recipient_name=recipient_name,
        currency=registration.currency,
        total=registration.price,
        lines=[
            InvoiceLine(
                description=_line_description(registration),
                quantity=1,
                unit_amount=registration.price,
                tax_rate=tax_rate_of(registration),
            )
        ],
    )
    db.session.add(payment)
    # Bank transfers take days: the seat stays held until paid or cancelled by staff.
    registration.hold_expires_at = None
    record(
        "invoice.issue",
        actor=person,
        subject_type="payment",
        subject_id=None,
        organization_id=registration.event.host_id,
        number=invoice.number,
    )
    queue_mail(
        to=person.email,
        template="payments/invoice_issued",
        locale=person.preferred_locale,
        person_id=person.id,
        person=person,
        invoice=invoice,
        event=registration.event,
        invoice_url=external_url("payments.invoice", invoice_number=invoice.number),
    )
    db.session.commit()
    return invoice


#: An honorific typed after a name out of habit; the invoice adds the right one itself.
_HONORIFIC = re.compile(r"[\s\u3000]*(御中|様|殿)$")


def _addressee(company: str, person: str) -> tuple[str, str]:
    """The company (with its department) and the person an invoice is addressed to, as typed
    but without honorifics: the invoice gives a company 御中 and a person 様, never both.
    A department typed as the person, with 御中 (経理部 御中), joins the company."""
    company, person = company.strip(), person.strip()
    if person.endswith("御中"):
        company, person = f"{company} {person}".strip(), ""
    return _HONORIFIC.sub("", company), _HONORIFIC.sub("", person)


def _line_description(registration: Registration) -> str:
    event, ticket = registration.event, registration.ticket_type
    title = event.title_ja or event.title_en
    name = ticket.name_ja or ticket.name_en
    return f"{title}（{name}）"


def record_bank_transfer(
    invoice: Invoice, *, actor: Person, paid_on: date, amount: int, payer_kana: str
) -> None:
    """Staff mark an invoice paid against a bank transfer; the registration is confirmed."""
    if not actor.is_staff:
        raise NotFound(_("Not found."))
    payment = invoice.payment
    if payment.status != PaymentStatus.PENDING:
        raise InvalidTransition(_("This invoice is not awaiting payment."))
    if amount != invoice.total:
        raise InvalidInput(
            _(
                "The transfer (%(paid)s) differs from the invoice total (%(total)s). "
                "Record it only when they match.",
                paid=_money(amount, invoice.currency),
                total=_money(invoice.total, invoice.currency),
            )
        )
    if paid_on > _tokyo_today():
        raise InvalidInput(_("The transfer date cannot be in the future."))
    if not payer_kana.strip():
        raise InvalidInput(_("Enter the payer's name as the bank statement shows it (in kana)."))
    if not _transition(payment, PaymentStatus.PENDING, PaymentStatus.PAID, paid_at=utcnow()):
        raise InvalidTransition(_("This invoice is not awaiting payment."))
    invoice.paid_on = paid_on
    invoice.transfer_amount = amount
    invoice.transfer_payer_kana = payer_kana.strip()
    invoice.recorded_by_id = actor.id
    record(
        "invoice.paid",
        actor=actor,
        subject_type="payment",
        subject_id=payment.id,
        organization_id=payment.registration.event.host_id if payment.registration else None,
        number=invoice.number,
    )
    _after_paid(payment)


def remind_overdue(*, every: timedelta = timedelta(days=7)) -> int:
    """Mail the payer of each overdue invoice, at most once per ``every``."""
    today = _tokyo_today()
    overdue = db.session.scalars(
        select(Invoice)
        .join(Invoice.payment)
        .where(Payment.status == PaymentStatus.PENDING.value, Invoice.due_on < today)
        .options(joinedload(Invoice.payment).joinedload(Payment.person))
    ).all()
    reminded = 0
    moment = utcnow()
    for invoice in overdue:
        if invoice.reminded_at and invoice.reminded_at > moment - every:
            continue
        person = invoice.payment.person
        if person is None:
            continue
        invoice.reminded_at = moment
        queue_mail(
            to=person.email,
            template="payments/invoice_overdue",
            locale=person.preferred_locale,
            person_id=person.id,
            person=person,
            invoice=invoice,
            invoice_url=external_url("payments.invoice", invoice_number=invoice.number),
        )
        reminded += 1
    db.session.commit()
    return reminded


def is_overdue(invoice: Invoice) -> bool:
    return invoice.payment.status == PaymentStatus.PENDING and invoice.due_on < _tokyo_today()


def _money(amount: int, currency: str) -> str:
    from portal.money import format_money

    return format_money(amount, currency)

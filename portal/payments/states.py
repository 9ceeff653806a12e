"""The payment state machine and its transitions (rules 5 and 6).

    pending ──(Stripe says succeeded / staff record the transfer)──▶ paid
    pending ──(card declined)──▶ failed          pending ──(intent cancelled)──▶ expired
    paid ──(refund of part)──▶ partially_refunded ──(rest refunded)──▶ refunded

A payment becomes paid only on evidence from Stripe — a webhook whose signature verifies,
or a look-up of the PaymentIntent — never because a browser came back. Every transition is
a conditional UPDATE, so when the webhook, the return page and the reconcile command race,
exactly one wins and mail goes out once.

The modules of the area by job, each importing only those before it: this one (shared),
``refunds``, ``settlement`` (what follows "paid"), ``cards``, ``webhooks`` (and reconciling),
``taxes``, ``invoices`` (and bank transfers, reminders).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from portal.accounts.models import Person
from portal.db import utcnow
from portal.errors import DomainError, InvalidTransition, NotFound
from portal.events.models import Registration, RegistrationStatus
from portal.extensions import db
from portal.language import gettext as _
from portal.payments.models import Payment, PaymentStatus
from portal.timefmt import moment

TOKYO = ZoneInfo("Asia/Tokyo")


class PaymentRefused(DomainError):
    """The card was declined or the provider refused; the message says what to do."""


class PaymentServiceUnavailable(DomainError):
    """Stripe could not be reached or did not answer in time; nothing was changed here, so
    the person (or the next run of a job) may simply try again."""


def tokyo_today() -> date:
    return utcnow().astimezone(TOKYO).date()


def require_payable(registration: Registration, person: Person) -> None:
    if registration.person_id != person.id:
        raise NotFound(_("Not found."))
    if registration.status != RegistrationStatus.AWAITING_PAYMENT:
        raise InvalidTransition(_("This registration is not waiting for a payment."))


def held_until(registration: Registration) -> str | None:
    """When the seat's hold lapses, on the event's clock and naming its zone (rule 9)."""
    hold = registration.hold_expires_at
    if hold is None or registration.status != RegistrationStatus.AWAITING_PAYMENT:
        return None
    return moment(hold, registration.event.timezone)


def unavailable_message(registration: Registration) -> str:
    held = held_until(registration)
    if held is None:
        return _("The payment service cannot be reached right now. Please try again shortly.")
    return _(
        "The payment service cannot be reached right now. "
        "Your seat stays held until %(time)s; please try again.",
        time=held,
    )


def open_payment(registration: Registration) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(
            Payment.registration_id == registration.id,
            Payment.status == PaymentStatus.PENDING.value,
        )
    )


def transition(
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

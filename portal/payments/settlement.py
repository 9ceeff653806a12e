"""What follows a payment becoming paid, by card or by bank transfer: its registration is
confirmed, or, when the seat went to someone else meanwhile, the money goes back at once."""

from __future__ import annotations

from collections.abc import Callable

from portal.audit.services import record
from portal.events import holds
from portal.events.models import Registration, RegistrationStatus
from portal.extensions import db
from portal.notifications.services import external_url, mail_person
from portal.payments.models import Payment
from portal.payments.purposes import purpose_of
from portal.payments.refunds import refund


def confirm_or_refund(payment: Payment) -> None:
    """Confirm the registration; if its hold lapsed and the seat is gone, refund at once.

    Commits. Raises what ``refund`` raises when an automatic refund cannot be made: nothing
    is kept then, the payment stays pending, and the next try settles it.
    """
    purpose = purpose_of(payment)
    if purpose is not None:
        _settle_purpose(payment, purpose.settle)
        return
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


def _settle_purpose(payment: Payment, settle: Callable[[Payment], None]) -> None:
    """A payment for a registered purpose (dues): audited here, the rest is the purpose's."""
    record(
        "payment.paid",
        actor=None,
        subject_type="payment",
        subject_id=payment.id,
        organization_id=None,
        method=payment.method,
        amount=payment.amount,
        currency=payment.currency,
        purpose=payment.purpose,
    )
    settle(payment)


def _refund_automatically(payment: Payment, registration: Registration) -> None:
    refund(
        payment,
        actor=None,
        amount=payment.amount,
        reason="The payment arrived after the held seat had gone to someone else.",
        automatic=True,
    )
    mail_person(
        registration.person,
        "payments/refunded_seat_gone",
        registration=registration,
        event=registration.event,
        payment=payment,
        event_url=external_url("events.detail", slug=registration.event.slug),
    )
    db.session.commit()

"""What follows a payment becoming paid, by card or by bank transfer: its registration is
confirmed, or, when the seat went to someone else meanwhile, the money goes back at once."""

from __future__ import annotations

from portal.audit.services import record
from portal.events import holds
from portal.events.models import Registration, RegistrationStatus
from portal.extensions import db
from portal.notifications.services import external_url, mail_person
from portal.payments.models import Payment
from portal.payments.refunds import refund


def confirm_or_refund(payment: Payment) -> None:
    """Confirm the registration; if its hold lapsed and the seat is gone, refund at once.

    Commits. Raises what ``refund`` raises when an automatic refund cannot be made: nothing
    is kept then, the payment stays pending, and the next try settles it.
    """
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
    mail_person(
        registration.person,
        "payments/refunded_seat_gone",
        registration=registration,
        event=registration.event,
        payment=payment,
        event_url=external_url("events.detail", slug=registration.event.slug),
    )
    db.session.commit()

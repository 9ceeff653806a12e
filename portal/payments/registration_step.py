"""How the registration form continues to paying (``portal.events.payment_step``): by card
while Stripe is set up, else by invoice; a card goes straight to the card form, an invoice to
its addressee form."""

from __future__ import annotations

from portal.events.payment_step import Continuation, PaymentStep
from portal.language import gettext as _
from portal.payments.models import PaymentMethod
from portal.payments.stripe_gateway import card_payments_enabled


def methods() -> list[tuple[str, str]]:
    offered = [(PaymentMethod.INVOICE.value, _("Invoice and bank transfer"))]
    if card_payments_enabled():
        offered.insert(0, (PaymentMethod.CARD.value, _("Card (Stripe)")))
    return offered


def continuation(method: str) -> Continuation:
    if method == PaymentMethod.CARD and card_payments_enabled():
        # The card page starts (or resumes) the payment, which is a POST: the browser posts
        # the registration form on to it (307 keeps the method and the CSRF token).
        return Continuation("payments.card", 307)
    return Continuation("payments.pay", 303, anchor="invoice-title")


STEP = PaymentStep(methods=methods, continuation=continuation)

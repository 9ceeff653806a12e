"""Where a registration for a paid ticket goes next, decided by the area that takes payments.

Events may not import payments (payments is built on events). The payments area registers
here how a held seat is paid: the methods it offers now (card only while Stripe is set up),
and the address each method continues at. The registration form then asks for the method
beside the ticket, so that one press of "Register" leads straight to paying.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Continuation:
    endpoint: str
    #: 307 posts the registration form on (the card step starts a payment, a POST); 303 gets.
    code: int
    anchor: str | None = None


@dataclass(frozen=True)
class PaymentStep:
    #: (value, label) of each method offered now, the first the default.
    methods: Callable[[], list[tuple[str, str]]]
    #: Where a seat held for payment by that method continues (endpoint of a registration id).
    continuation: Callable[[str], Continuation]


_STEP: dict[str, PaymentStep] = {}


def register(step: PaymentStep) -> None:
    """The payments area's step (again: an app built twice replaces it)."""
    _STEP["payments"] = step


def current() -> PaymentStep | None:
    return _STEP.get("payments")

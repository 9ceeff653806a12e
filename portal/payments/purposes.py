"""What a payment may pay for besides a seat: a registry the higher areas register with.

Payments sit below the areas that sell something else (membership dues): those register a
``Purpose`` under a name, and a payment whose ``purpose`` names it is settled, described and
taxed through it. Payments never import them (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.payments.models import Payment


@dataclass(frozen=True)
class Purpose:
    #: The name stored in ``Payment.purpose``.
    name: str
    #: Called in the transaction that made the payment paid; adds what follows and commits.
    settle: Callable[[Payment], None]
    #: One line saying what was paid for, in the current language (receipts, lists).
    describe: Callable[[Payment], str]
    #: The consumption tax rate in the amount (percent), for receipts of card payments.
    tax_rate: int = 0
    #: The date of the transaction a receipt names; None for "the day it was paid".
    transaction_day: Callable[[Payment], date | None] | None = None


_PURPOSES: dict[str, Purpose] = {}


def register(purpose: Purpose) -> None:
    """Add a purpose (again: an app built twice replaces it)."""
    _PURPOSES[purpose.name] = purpose


def purpose_of(payment: Payment) -> Purpose | None:
    """The registered purpose of a payment, None for a seat's payment; KeyError for a purpose
    no area registered (a payment that cannot be settled must not pass silently)."""
    if payment.purpose is None:
        return None
    return _PURPOSES[payment.purpose]

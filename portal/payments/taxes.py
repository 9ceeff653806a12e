"""Consumption tax in what was sold, as invoices and receipts declare it (rule 13)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from zoneinfo import ZoneInfo

from portal.events.models import Registration
from portal.payments.models import Payment
from portal.payments.purposes import purpose_of


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
    purpose = purpose_of(payment)
    if purpose is not None:
        return tax_summary([Sold(purpose.tax_rate, payment.amount)])
    registration = payment.registration
    rate = tax_rate_of(registration) if registration is not None else 0
    return tax_summary([Sold(rate, payment.amount)])


def transaction_day(payment: Payment) -> date | None:
    """The date of the transaction a qualified invoice or receipt names: the day the event is
    held, on its own clock (rule 9), since the fee buys taking part in it; for another purpose,
    the day that purpose names."""
    purpose = purpose_of(payment)
    if purpose is not None:
        return purpose.transaction_day(payment) if purpose.transaction_day else None
    registration = payment.registration
    if registration is None:
        return None
    event = registration.event
    return event.starts_at.astimezone(ZoneInfo(event.timezone)).date()

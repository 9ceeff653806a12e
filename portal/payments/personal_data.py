"""The payments area's part of a person's data: payments, refunds and invoices.

Registered with ``portal.accounts.personal_data``; see there for the order and transaction.
Payments and invoices are accounting records the law makes LINK-J keep for seven years:
deleting an account unlinks them from it and keeps each invoice as it was issued (its
addressee is part of a qualified invoice), nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts import personal_data
from portal.accounts.models import Person
from portal.events.models import Registration
from portal.extensions import db
from portal.language import gettext as _
from portal.payments.models import Invoice, Payment

TOKYO = ZoneInfo("Asia/Tokyo")
#: LINK-J's fiscal year ends on 31 March, like most Japanese associations'.
FISCAL_YEAR_END_MONTH = 3
#: Books and copies of qualified invoices are kept this many years (Corporation Tax Act and
#: Consumption Tax Act), counted from the day after the fiscal year's tax return is due.
RETENTION_YEARS = 7


def kept_until(day: date) -> date:
    """The last day a record of ``day`` is kept: seven years from the day after the tax
    return of its fiscal year is due (two months after the year ends: 31 May)."""
    fiscal_end_year = day.year + (1 if day.month > FISCAL_YEAR_END_MONTH else 0)
    return date(fiscal_end_year + RETENTION_YEARS, 5, 31)


def _payments(person: Person) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment)
            .outerjoin(Registration, Registration.id == Payment.registration_id)
            .where(or_(Payment.person_id == person.id, Registration.person_id == person.id))
            .options(
                joinedload(Payment.registration).joinedload(Registration.event),
                joinedload(Payment.invoice).selectinload(Invoice.lines),
                selectinload(Payment.refunds),
            )
            .order_by(Payment.id)
        ).unique()
    )


def _last_day(payment: Payment) -> date:
    """The latest day something was booked for the payment (made, paid, refunded, invoiced)."""
    moments = [payment.created_at, payment.paid_at, *(r.created_at for r in payment.refunds)]
    days = [m.astimezone(TOKYO).date() for m in moments if m is not None]
    if payment.invoice is not None:
        days += [d for d in (payment.invoice.issued_on, payment.invoice.paid_on) if d]
    return max(days)


def _export(person: Person) -> Mapping[str, Any]:
    when = personal_data.when
    payments = _payments(person)
    return {
        "payments": [
            {
                "event": p.registration.event.slug if p.registration else None,
                "method": p.method,
                "status": p.status,
                "amount": p.amount,
                "currency": p.currency,
                "refunded_amount": p.refunded_amount,
                "created_at": when(p.created_at),
                "paid_at": when(p.paid_at),
                "refunds": [
                    {"amount": r.amount, "created_at": when(r.created_at)} for r in p.refunds
                ],
                "invoice": p.invoice.number if p.invoice else None,
                "kept_until": kept_until(_last_day(p)).isoformat(),
            }
            for p in payments
        ],
        "invoices": [
            {
                "number": invoice.number,
                "issued_on": invoice.issued_on.isoformat(),
                "due_on": invoice.due_on.isoformat(),
                "recipient_company": invoice.recipient_company,
                "recipient_name": invoice.recipient_name,
                "total": invoice.total,
                "currency": invoice.currency,
                "paid_on": invoice.paid_on.isoformat() if invoice.paid_on else None,
                "lines": [
                    {
                        "description": line.description,
                        "quantity": line.quantity,
                        "unit_amount": line.unit_amount,
                        "tax_rate": line.tax_rate,
                    }
                    for line in invoice.lines
                ],
                "kept_until": kept_until(_last_day(p)).isoformat(),
            }
            for p in payments
            if (invoice := p.invoice) is not None
        ],
    }


def _erase(person: Person, moment: datetime) -> Mapping[str, int]:
    payments = _payments(person)
    for payment in payments:
        # The record stays for the books; nothing links it to the account any more.
        payment.person_id = None
        payment.failure_reason = ""
    return {"payments_kept": len(payments)}


def _kept(person: Person, day: date) -> list[personal_data.Kept]:
    payments = _payments(person)
    if not payments:
        return []
    return [
        personal_data.Kept(
            what=_(
                "Your payments and invoices: amounts, dates, card or invoice, refunds, and each "
                "invoice as issued, with the company and name it is addressed to. They are no "
                "longer linked to your account."
            ),
            why=_(
                "Japanese tax law requires LINK-J to keep its books and copies of the qualified "
                "invoices it issues for seven years from the day after the tax return for the "
                "fiscal year is due."
            ),
            until=max(kept_until(_last_day(p)) for p in payments),
        )
    ]


personal_data.register(
    personal_data.PersonalDataArea(
        position=40,
        name="payments",
        export=_export,
        erase=_erase,
        kept=_kept,
        tables=("payment",),
    )
)

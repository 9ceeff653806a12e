"""Read-only queries for the staff's payment pages, in a fixed number of statements."""

from __future__ import annotations

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.accounts.search import person_matches
from portal.events.models import Registration, RegistrationStatus
from portal.events.queries import registrations_to_show
from portal.extensions import db
from portal.payments.models import Invoice, Payment, PaymentStatus

PAGE_SIZE = 50


@dataclass(frozen=True)
class PaymentFilters:
    status: str = ""
    method: str = ""
    currency: str = ""
    search: str = ""


def _filtered(filters: PaymentFilters) -> Select:
    query = select(Payment)
    if filters.status:
        query = query.where(Payment.status == filters.status)
    if filters.method:
        query = query.where(Payment.method == filters.method)
    if filters.currency:
        query = query.where(Payment.currency == filters.currency.upper())
    matches = person_matches(
        filters.search,
        Invoice.number,
        Invoice.recipient_company,
        Payment.stripe_payment_intent_id,
    )
    if matches is not None:
        query = (
            query.outerjoin(Person, Payment.person_id == Person.id)
            .outerjoin(Invoice, Invoice.payment_id == Payment.id)
            .where(matches)
        )
    return query


def _options() -> tuple:
    return (
        joinedload(Payment.person),
        joinedload(Payment.invoice),
        joinedload(Payment.registration).joinedload(Registration.event),
    )


def payments_page(filters: PaymentFilters, *, page: int = 1) -> Pagination:
    query = (
        _filtered(filters)
        .options(*_options())
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)


def all_payments(filters: PaymentFilters) -> list[Payment]:
    query = _filtered(filters).options(*_options()).order_by(Payment.created_at, Payment.id)
    return list(db.session.scalars(query))


def totals_by_currency(filters: PaymentFilters) -> list[tuple[str, int, int, int]]:
    """Per currency: number of payments, amount received (paid ones), amount refunded."""
    subquery = _filtered(filters).subquery()
    received = func.sum(subquery.c.amount).filter(
        subquery.c.status.in_(
            [
                PaymentStatus.PAID.value,
                PaymentStatus.PARTIALLY_REFUNDED.value,
                PaymentStatus.REFUNDED.value,
            ]
        )
    )
    rows = db.session.execute(
        select(
            subquery.c.currency,
            func.count(subquery.c.id),
            func.coalesce(received, 0),
            func.coalesce(func.sum(subquery.c.refunded_amount), 0),
        )
        .group_by(subquery.c.currency)
        .order_by(subquery.c.currency)
    ).all()
    return [(currency, count, int(paid), int(refunded)) for currency, count, paid, refunded in rows]


def payment_detail(payment_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .options(*_options(), joinedload(Payment.refunds))
    )


def unpaid_invoices() -> list[Invoice]:
    return list(
        db.session.scalars(
            select(Invoice)
            .join(Invoice.payment)
            .where(Payment.status == PaymentStatus.PENDING.value)
            .options(joinedload(Invoice.payment).joinedload(Payment.person))
            .order_by(Invoice.due_on, Invoice.id)
        )
    )


@dataclass(frozen=True)
class PaymentDue:
    """A held seat the person still has to pay for, and the invoice issued for it, if any."""

    registration: Registration
    invoice: Invoice | None


def payments_due(person: Person, shown: list[Registration] | None = None) -> list[PaymentDue]:
    """The person's registrations awaiting payment, the soonest deadline first, each with
    the invoice of its open payment (two statements, however many; one when the caller
    read ``events.queries.registrations_to_show`` already, as ``shown``)."""
    if shown is None:
        shown = registrations_to_show(person)
    awaiting = RegistrationStatus.AWAITING_PAYMENT.value
    registrations = sorted(
        (r for r in shown if r.status == awaiting),
        key=lambda r: (r.hold_expires_at is None, r.hold_expires_at or r.created_at, r.id),
    )
    if not registrations:
        return []
    invoices = {
        invoice.payment.registration_id: invoice
        for invoice in db.session.scalars(
            select(Invoice)
            .join(Invoice.payment)
            .where(
                Payment.registration_id.in_([r.id for r in registrations]),
                Payment.status == PaymentStatus.PENDING.value,
            )
            .options(joinedload(Invoice.payment))
        )
    }
    return [PaymentDue(r, invoices.get(r.id)) for r in registrations]

"""Qualified invoices (rule 13) for held seats, bank transfers recorded by staff, and reminders
of overdue invoices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.events.models import Registration
from portal.extensions import db
from portal.language import gettext as _
from portal.money import format_money
from portal.notifications.services import external_url, mail_person
from portal.payments.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from portal.payments.settlement import confirm_or_refund
from portal.payments.states import (
    TOKYO,
    open_payment,
    require_payable,
    tokyo_today,
    transition,
)
from portal.payments.taxes import tax_rate_of


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


@dataclass(frozen=True)
class _Issuer:
    registration_number: str
    bank_account: str


def _configured_issuer() -> _Issuer:
    """The issuer's registration number and bank account; InvalidInput while either is
    missing, since an invoice without them is no qualified invoice and cannot be paid."""
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
    return _Issuer(number_of_issuer, bank_account)


def request_invoice(
    registration: Registration, *, person: Person, company: str, recipient_name: str = ""
) -> Invoice:
    """Issue a qualified invoice for a held seat; the seat stays held until it is paid.

    Raises InvalidInput without a company name or when the issuer's registration number or
    bank account is not configured (nothing is written), InvalidTransition when nothing is
    owed or a card payment is open.
    """
    require_payable(registration, person)
    issuer = _configured_issuer()
    company, recipient_name = _addressee(company, recipient_name)
    if not company:
        raise InvalidInput(_("Enter the company or institution the invoice is addressed to."))
    existing = open_payment(registration)
    if existing is not None:
        if existing.method == PaymentMethod.INVOICE and existing.invoice is not None:
            return existing.invoice
        raise InvalidTransition(_("A card payment is in progress for this registration."))
    invoice = _new_invoice(registration, person, issuer, company, recipient_name)
    db.session.add(invoice.payment)
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
    mail_person(
        person,
        "payments/invoice_issued",
        invoice=invoice,
        event=registration.event,
        invoice_url=external_url("payments.invoice", invoice_number=invoice.number),
    )
    db.session.commit()
    return invoice


def _new_invoice(
    registration: Registration,
    person: Person,
    issuer: _Issuer,
    company: str,
    recipient_name: str,
) -> Invoice:
    issued_on = tokyo_today()
    payment = Payment(
        registration_id=registration.id,
        person_id=person.id,
        method=PaymentMethod.INVOICE.value,
        amount=registration.price,
        currency=registration.currency,
    )
    return Invoice(
        payment=payment,
        number=_next_invoice_number(issued_on.year),
        issued_on=issued_on,
        due_on=_due_on(registration, issued_on),
        issuer_name=current_app.config["INVOICE_ISSUER_NAME"],
        issuer_registration_number=issuer.registration_number,
        issuer_address=current_app.config.get("INVOICE_ISSUER_ADDRESS", ""),
        bank_account=issuer.bank_account,
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
                paid=format_money(amount, invoice.currency),
                total=format_money(invoice.total, invoice.currency),
            )
        )
    if paid_on > tokyo_today():
        raise InvalidInput(_("The transfer date cannot be in the future."))
    if not payer_kana.strip():
        raise InvalidInput(_("Enter the payer's name as the bank statement shows it (in kana)."))
    if not transition(payment, PaymentStatus.PENDING, PaymentStatus.PAID, paid_at=utcnow()):
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
    confirm_or_refund(payment)


def remind_overdue(*, every: timedelta = timedelta(days=7)) -> int:
    """Mail the payer of each overdue invoice, at most once per ``every``."""
    today = tokyo_today()
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
        mail_person(
            person,
            "payments/invoice_overdue",
            invoice=invoice,
            invoice_url=external_url("payments.invoice", invoice_number=invoice.number),
        )
        reminded += 1
    db.session.commit()
    return reminded


def is_overdue(invoice: Invoice) -> bool:
    return invoice.payment.status == PaymentStatus.PENDING and invoice.due_on < tokyo_today()

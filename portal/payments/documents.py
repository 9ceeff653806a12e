"""Invoices (適格請求書) and receipts (領収書) as PDF, in the reader's language.

Every character is drawn with IPAex Gothic, shipped in ``portal/fonts`` and embedded as a
subset: a font the PDF only names renders blank in viewers without Japanese fonts of their
own, and the text can still be extracted again (tests read the PDF back).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import force_locale
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from portal.i18n import localized, person_name
from portal.language import gettext as _
from portal.language import pgettext
from portal.money import format_money
from portal.payments.models import Invoice, Payment, PaymentMethod
from portal.payments.purposes import purpose_of
from portal.payments.states import TOKYO
from portal.payments.taxes import TaxLine, payment_taxes, tax_summary, transaction_day
from portal.timefmt import local_span, long_day

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

FONT = "IPAexGothic"
FONT_FILE = Path(__file__).resolve().parent.parent / "fonts" / "ipaexg.ttf"


@cache
def _registered_font() -> str:
    # Read when the first document is drawn, not when the app starts. TTFont embeds only the
    # glyphs a document uses (a subset), never the whole 6 MB file. reportlab's PDF machinery
    # is imported here too: most processes of the portal never draw a document.
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT


def addressee(company: str, person: str, *, receipt: bool = False) -> list[str]:
    """Whom a document is addressed to, a line each: in Japanese 会社名 御中 for a company alone,
    else the company above 氏名 様 (never both honorifics); a person alone is 様."""
    if company and not person:
        if receipt:
            return [pgettext("receipt to a company", "Received from: %(name)s", name=company)]
        return [pgettext("invoice to a company", "Bill to: %(name)s", name=company)]
    if not company:
        if receipt:
            return [_("Received from: %(name)s", name=person)]
        return [pgettext("invoice to a person", "Bill to: %(name)s", name=person)]
    if receipt:
        above = pgettext(
            "receipt to a person at a company", "Received from: %(name)s", name=company
        )
    else:
        above = pgettext("invoice to a person at a company", "Bill to: %(name)s", name=company)
    return [above, _("Attn: %(name)s", name=person)]


@dataclass
class _Writer:
    canvas: Canvas
    y: float = A4[1] - 25 * mm
    left: float = 20 * mm
    right: float = A4[0] - 20 * mm

    def line(self, text: str, *, size: int = 10, gap: float = 6 * mm, right: str = "") -> None:
        self.canvas.setFont(FONT, size)
        self.canvas.drawString(self.left, self.y, text)
        if right:
            self.canvas.drawRightString(self.right, self.y, right)
        self.y -= gap

    def rule(self) -> None:
        self.canvas.line(self.left, self.y + 3 * mm, self.right, self.y + 3 * mm)
        self.y -= 3 * mm

    def taxes(self, taxes: list[TaxLine], currency: str) -> None:
        """Per rate, the total and the consumption tax in it, with the rate."""
        for tax in taxes:
            if tax.rate:
                self.line(
                    _(
                        "Total at %(rate)d%%: %(total)s (consumption tax %(tax)s)",
                        rate=tax.rate,
                        total=format_money(tax.total, currency),
                        tax=format_money(tax.tax, currency),
                    )
                )
            else:
                self.line(
                    _("Total not taxable: %(total)s", total=format_money(tax.total, currency))
                )

    def issuer(self, name: str, number: str | None, address: str = "") -> None:
        self.line(_("Issuer: %(name)s", name=name))
        if number:
            self.line(_("Registration number: %(number)s", number=number))
        if address:
            self.line(address)


def _new(title: str, language: str) -> tuple[io.BytesIO, _Writer]:
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    _registered_font()
    # The first font set is the embedded one: reportlab's default (Helvetica) would otherwise
    # be named in the page, unembedded.
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=FONT, lang=language)
    canvas.setTitle(title)
    canvas.setAuthor("LINK-J Partner Portal")
    return buffer, _Writer(canvas)


def invoice_pdf(invoice: Invoice, language: str) -> bytes:
    """The qualified invoice: issuer and registration number, addressee, date of the
    transaction, lines with their rate, per-rate totals and tax, and where to pay."""
    with force_locale(language):
        buffer, out = _new(_("Invoice %(number)s", number=invoice.number), language)
        out.line(_("Invoice (qualified invoice)"), size=18, gap=10 * mm)
        for line in addressee(invoice.recipient_company, invoice.recipient_name):
            out.line(line, size=12, gap=7 * mm)
        out.y -= 4 * mm
        out.line(_("Invoice number: %(number)s", number=invoice.number))
        out.line(_("Date of issue: %(date)s", date=long_day(invoice.issued_on)))
        day = transaction_day(invoice.payment)
        if day:
            out.line(_("Date of the transaction: %(date)s", date=long_day(day)))
        out.line(_("Due date: %(date)s", date=long_day(invoice.due_on)))
        registration = invoice.payment.registration
        if registration is not None:
            event = registration.event
            # On the event's own clock, naming it (rule 9): the invoice has no viewer.
            when = local_span(event.starts_at, event.ends_at, event.timezone, language)
            out.line(_("Event: %(time)s", time=when))
        out.y -= 4 * mm
        out.issuer(invoice.issuer_name, invoice.issuer_registration_number, invoice.issuer_address)
        out.y -= 6 * mm
        out.line(_("Description"), right=_("Amount (tax included)"))
        out.rule()
        for item in invoice.lines:
            rate = (
                _("%(rate)d%% taxable", rate=item.tax_rate) if item.tax_rate else _("not taxable")
            )
            out.line(
                f"{item.description} × {item.quantity} ({rate})",
                right=format_money(item.amount, invoice.currency),
            )
        out.rule()
        out.taxes(tax_summary(invoice.lines), invoice.currency)
        out.line(_("Total due"), size=13, right=format_money(invoice.total, invoice.currency))
        if invoice.bank_account:
            out.y -= 4 * mm
            out.line(_("Please transfer to: %(account)s", account=invoice.bank_account))
        out.line(_("Please quote the invoice number with your transfer."))
        out.canvas.showPage()
        out.canvas.save()
    return buffer.getvalue()


def receipt_addressee(payment: Payment) -> list[str]:
    """An invoice's receipt goes to whom the invoice did; a card payment's to the payer."""
    invoice = payment.invoice
    if payment.method == PaymentMethod.INVOICE and invoice is not None:
        return addressee(invoice.recipient_company, invoice.recipient_name, receipt=True)
    return addressee("", person_name(payment.person), receipt=True)


def receipt_pdf(payment: Payment, language: str) -> bytes:
    """A receipt (領収書) for a paid payment, with what a qualified invoice carries: per-rate
    totals and tax, the issuer's registration number, the date of the transaction."""
    with force_locale(language):
        buffer, out = _new(_("Receipt"), language)
        out.line(_("Receipt"), size=18, gap=10 * mm)
        for line in receipt_addressee(payment):
            out.line(line, size=12, gap=7 * mm)
        out.y -= 4 * mm
        out.line(
            _("Amount received"), size=13, right=format_money(payment.amount, payment.currency)
        )
        out.taxes(payment_taxes(payment), payment.currency)
        if payment.refunded_amount:
            out.line(_("Refunded"), right=format_money(payment.refunded_amount, payment.currency))
        purpose = purpose_of(payment)
        if purpose is not None:
            out.line(_("For: %(description)s", description=purpose.describe(payment)))
        elif payment.registration is not None:
            out.line(
                _(
                    "For: %(description)s",
                    description=localized(payment.registration.event, "title"),
                )
            )
        day = transaction_day(payment)
        if day:
            out.line(_("Date of the transaction: %(date)s", date=long_day(day)))
        if payment.paid_at:
            paid_on = payment.paid_at.astimezone(TOKYO).date()
            out.line(_("Paid on: %(date)s", date=long_day(paid_on)))
        out.line(_("Receipt number: R-%(id)06d", id=payment.id))
        method = _("card") if payment.method == "card" else _("bank transfer")
        out.line(_("Payment method: %(method)s", method=method))
        out.y -= 6 * mm
        invoice = payment.invoice
        if invoice is not None:
            out.issuer(invoice.issuer_name, invoice.issuer_registration_number)
        else:
            out.issuer(
                current_app.config["INVOICE_ISSUER_NAME"],
                current_app.config.get("INVOICE_REGISTRATION_NUMBER"),
            )
        out.canvas.showPage()
        out.canvas.save()
    return buffer.getvalue()

"""Invoices (適格請求書) and receipts (領収書) as PDF, in the reader's language.

reportlab's built-in Japanese CID font needs no font file on the server, and its text can be
extracted again (tests read the PDF back).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from portal.i18n import format_day
from portal.money import format_money
from portal.payments.models import Invoice, Payment
from portal.payments.services import tax_summary

FONT = "HeiseiKakuGo-W5"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


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


def _new(title: str) -> tuple[io.BytesIO, _Writer]:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("LINK-J Partner Portal")
    return buffer, _Writer(canvas)


def invoice_pdf(invoice: Invoice, language: str) -> bytes:
    """The qualified invoice: issuer and registration number, date, lines, per-rate totals
    and tax, and the recipient."""
    with force_locale(language):
        buffer, out = _new(_("Invoice %(number)s", number=invoice.number))
        out.line(_("Invoice (qualified invoice)"), size=18, gap=10 * mm)
        out.line(_("%(company)s (recipient)", company=invoice.recipient_company), size=12)
        if invoice.recipient_name:
            out.line(invoice.recipient_name)
        out.y -= 4 * mm
        out.line(_("Invoice number: %(number)s", number=invoice.number))
        out.line(_("Date of issue: %(date)s", date=format_day(invoice.issued_on)))
        out.line(_("Due date: %(date)s", date=format_day(invoice.due_on)))
        out.y -= 4 * mm
        out.line(_("Issuer: %(name)s", name=invoice.issuer_name))
        out.line(_("Registration number: %(number)s", number=invoice.issuer_registration_number))
        if invoice.issuer_address:
            out.line(invoice.issuer_address)
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
        for tax in tax_summary(invoice.lines):
            if tax.rate:
                out.line(
                    _(
                        "Total at %(rate)d%%: %(total)s (consumption tax %(tax)s)",
                        rate=tax.rate,
                        total=format_money(tax.total, invoice.currency),
                        tax=format_money(tax.tax, invoice.currency),
                    )
                )
            else:
                out.line(
                    _(
                        "Total not taxable: %(total)s",
                        total=format_money(tax.total, invoice.currency),
                    )
                )
        out.line(_("Total due"), size=13, right=format_money(invoice.total, invoice.currency))
        if invoice.bank_account:
            out.y -= 4 * mm
            out.line(_("Please transfer to: %(account)s", account=invoice.bank_account))
        out.line(_("Please quote the invoice number with your transfer."))
        out.canvas.showPage()
        out.canvas.save()
    return buffer.getvalue()


def receipt_pdf(payment: Payment, *, payer: str, description: str, language: str) -> bytes:
    """A receipt (領収書) for a paid payment."""
    with force_locale(language):
        buffer, out = _new(_("Receipt"))
        out.line(_("Receipt"), size=18, gap=10 * mm)
        out.line(_("Received from: %(name)s", name=payer), size=12)
        out.y -= 4 * mm
        out.line(
            _("Amount received"), size=13, right=format_money(payment.amount, payment.currency)
        )
        if payment.refunded_amount:
            out.line(_("Refunded"), right=format_money(payment.refunded_amount, payment.currency))
        out.line(_("For: %(description)s", description=description))
        if payment.paid_at:
            out.line(_("Paid on: %(date)s", date=format_day(payment.paid_at.date())))
        out.line(_("Receipt number: R-%(id)06d", id=payment.id))
        method = _("card") if payment.method == "card" else _("bank transfer")
        out.line(_("Payment method: %(method)s", method=method))
        out.y -= 6 * mm
        issuer = (
            payment.invoice.issuer_name
            if payment.invoice
            else current_app.config["INVOICE_ISSUER_NAME"]
        )
        number = (
            payment.invoice.issuer_registration_number
            if payment.invoice
            else current_app.config.get("INVOICE_REGISTRATION_NUMBER")
        )
        out.line(_("Issuer: %(name)s", name=issuer))
        if number:
            out.line(_("Registration number: %(number)s", number=number))
        out.canvas.showPage()
        out.canvas.save()
    return buffer.getvalue()

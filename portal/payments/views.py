"""Paying for a held seat (card or invoice), invoices and receipts, and Stripe's webhook."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from portal.events.models import Registration
from portal.extensions import csrf, db
from portal.i18n import current_language, localized, person_name
from portal.language import gettext as _
from portal.pages import acting_person, on_refusal, own_or_404
from portal.payments import cards, documents, invoices, webhooks
from portal.payments.checkout_page import card_page
from portal.payments.forms import InvoiceRequestForm
from portal.payments.models import Invoice, Payment, PaymentStatus
from portal.payments.states import PaymentServiceUnavailable, open_payment
from portal.payments.stripe_gateway import card_payments_enabled
from portal.payments.taxes import tax_summary, transaction_day

blueprint = Blueprint("payments", __name__, url_prefix="/payments")


def _own_registration(registration_id: int) -> Registration:
    return own_or_404(Registration, registration_id)


@blueprint.get("/registrations/<int:registration_id>")
@login_required
def pay(registration_id: int) -> str:
    registration = _own_registration(registration_id)
    return render_template(
        "payments/pay.html",
        registration=registration,
        event=registration.event,
        card_enabled=card_payments_enabled(),
        open_payment=open_payment(registration),
        invoice_form=InvoiceRequestForm(recipient_name=person_name(current_user)),
    )


@blueprint.post("/registrations/<int:registration_id>/card")
@login_required
def card(registration_id: int) -> str | BaseResponse:
    registration = _own_registration(registration_id)
    on_refusal(to=url_for("payments.pay", registration_id=registration_id))
    checkout = cards.start_card_payment(registration, person=acting_person())
    return card_page(
        checkout,
        description=localized(registration.event, "title"),
        return_url=url_for("payments.card_return", registration_id=registration_id, _external=True),
    )


@blueprint.get("/registrations/<int:registration_id>/return")
@login_required
def card_return(registration_id: int) -> BaseResponse:
    registration = _own_registration(registration_id)
    on_refusal(to=url_for("payments.pay", registration_id=registration_id))
    # The browser's word is no evidence: ask Stripe how the payment stands (rule 6).
    try:
        payment = cards.confirm_from_return(registration, person=acting_person())
    except PaymentServiceUnavailable as error:
        # Not a refusal: the payment is most likely made, and the ticket page shows it once
        # Stripe confirms, so a warning there rather than an error on the payment page.
        flash(error.message, "warning")
        return redirect(url_for("events.ticket", registration_id=registration_id))
    db.session.refresh(registration)
    if payment is not None and payment.status == PaymentStatus.PAID:
        flash(_("Thank you: your payment is received and your seat confirmed."), "success")
    elif payment is not None and payment.status == PaymentStatus.FAILED:
        flash(
            _(
                "The card was declined (%(reason)s). Try another card.",
                reason=payment.failure_reason,
            ),
            "error",
        )
        return redirect(url_for("payments.pay", registration_id=registration_id))
    else:
        flash(
            _("Your payment is being processed; this page will show it once Stripe confirms."),
            "info",
        )
    return redirect(url_for("events.ticket", registration_id=registration_id))


@blueprint.post("/registrations/<int:registration_id>/invoice")
@login_required
def request_invoice(registration_id: int) -> BaseResponse:
    registration = _own_registration(registration_id)
    form = InvoiceRequestForm()
    if not form.validate_on_submit():
        flash(_("Enter the company or institution the invoice is addressed to."), "error")
        return redirect(url_for("payments.pay", registration_id=registration_id))
    on_refusal(to=url_for("payments.pay", registration_id=registration_id))
    invoice = invoices.request_invoice(
        registration,
        person=acting_person(),
        company=form.company.data,
        recipient_name=form.recipient_name.data or "",
    )
    flash(
        _(
            "Invoice %(number)s is issued. Your seat stays held until it is paid.",
            number=invoice.number,
        ),
        "success",
    )
    return redirect(url_for("payments.invoice", invoice_number=invoice.number))


def _visible_invoice(invoice_number: str) -> Invoice:
    invoice = db.session.scalar(select(Invoice).where(Invoice.number == invoice_number))
    if invoice is None or not (
        current_user.is_staff or invoice.payment.person_id == current_user.id
    ):
        abort(404)
    return invoice


@blueprint.get("/invoices/<invoice_number>")
@login_required
def invoice(invoice_number: str) -> str:
    invoice = _visible_invoice(invoice_number)
    return render_template(
        "payments/invoice.html",
        invoice=invoice,
        addressee=documents.addressee(invoice.recipient_company, invoice.recipient_name),
        transaction_day=transaction_day(invoice.payment),
        taxes=tax_summary(invoice.lines),
        overdue=invoices.is_overdue(invoice),
    )


@blueprint.get("/invoices/<invoice_number>.pdf")
@login_required
def invoice_pdf(invoice_number: str) -> Response:
    invoice = _visible_invoice(invoice_number)
    return Response(
        documents.invoice_pdf(invoice, current_language()),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{invoice.number}.pdf"'},
    )


@blueprint.get("/receipts/<int:payment_id>.pdf")
@login_required
def receipt_pdf(payment_id: int) -> Response:
    payment = db.session.get(Payment, payment_id)
    if payment is None or not (current_user.is_staff or payment.person_id == current_user.id):
        abort(404)
    if payment.status not in (
        PaymentStatus.PAID,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ):
        abort(404)
    return Response(
        documents.receipt_pdf(payment, current_language()),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="receipt-{payment.id}.pdf"'},
    )


@blueprint.post("/stripe/webhook")
@csrf.exempt
def stripe_webhook() -> tuple[str, int]:
    """Stripe's webhook: signed by Stripe or 400, and 5xx whenever processing failed, so
    Stripe delivers it again (``webhooks.receive_webhook``)."""
    return webhooks.receive_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))


@blueprint.app_template_global()
def payment_for(registration: Registration) -> Payment | None:
    """The registration's latest payment, for ticket pages."""
    return db.session.scalar(
        select(Payment)
        .where(Payment.registration_id == registration.id)
        .order_by(Payment.id.desc())
        .limit(1)
    )

"""Staff pages for money: every payment, refunds, unpaid invoices and bank transfers."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from portal.accounts.factors.state import require_recent_factor
from portal.admin.access import management_blueprint, require_staff
from portal.csvfile import csv_text
from portal.extensions import db
from portal.i18n import localized, person_name
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.language import lazy_pgettext
from portal.money import format_money, to_decimal
from portal.pages import acting_person, on_refusal, page_number
from portal.payments import queries
from portal.payments.invoices import is_overdue, record_bank_transfer
from portal.payments.management_forms import BankTransferForm, RefundForm
from portal.payments.models import Invoice, Payment, PaymentMethod, PaymentStatus
from portal.payments.purposes import purpose_of
from portal.payments.refunds import refund
from portal.timefmt import DEFAULT_TIMEZONE, iso

blueprint = management_blueprint("payments_manage", __name__)
# Every page here is LINK-J's secretariat's: partner admins manage no money.
blueprint.before_request(require_staff)

PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: _l("Pending"),
    PaymentStatus.PAID: _l("Paid"),
    PaymentStatus.PARTIALLY_REFUNDED: _l("Partly refunded"),
    # A status (返金済み), unlike the "Refunded" heading of an amount (返金額).
    PaymentStatus.REFUNDED: lazy_pgettext("payment status", "Refunded"),
    PaymentStatus.FAILED: _l("Failed"),
    PaymentStatus.EXPIRED: _l("Expired"),
}
PAYMENT_METHOD_LABELS = {PaymentMethod.CARD: _l("Card"), PaymentMethod.INVOICE: _l("Invoice")}


@blueprint.app_template_global()
def payment_status_label(status: str) -> str:
    return str(PAYMENT_STATUS_LABELS[PaymentStatus(status)])


@blueprint.app_template_global()
def payment_method_label(method: str) -> str:
    return str(PAYMENT_METHOD_LABELS[PaymentMethod(method)])


@blueprint.app_template_global()
def payment_for_what(payment: Payment) -> str:
    """What a payment pays for: its event, or what its registered purpose says (dues)."""
    purpose = purpose_of(payment)
    if purpose is not None:
        return purpose.describe(payment)
    return localized(payment.registration.event, "title") if payment.registration else ""


def _filters() -> queries.PaymentFilters:
    status = request.args.get("status", "")
    method = request.args.get("method", "")
    return queries.PaymentFilters(
        status=status if status in set(PaymentStatus) else "",
        method=method if method in set(PaymentMethod) else "",
        currency=request.args.get("currency", "")[:3],
        search=request.args.get("q", "")[:100],
    )


@blueprint.get("/payments")
def payments() -> str:
    filters = _filters()
    return render_template(
        "payments/manage/index.html",
        filters=filters,
        page=queries.payments_page(filters, page=page_number()),
        totals=queries.totals_by_currency(filters),
        statuses=list(PaymentStatus),
        methods=list(PaymentMethod),
    )


@blueprint.get("/payments.csv")
def payments_csv() -> Response:
    header = [
        _("Payment"),
        _("Created"),
        _("Method"),
        _("Status"),
        _("Currency"),
        _("Amount"),
        _("Refunded"),
        _("Payer"),
        _("Email"),
        _("Event"),
        _("Invoice number"),
        _("Stripe"),
    ]
    rows = (
        [
            payment.id,
            iso(payment.created_at, DEFAULT_TIMEZONE),
            payment.method,
            payment.status,
            payment.currency,
            # Plain numbers in the major unit, so spreadsheets can add them up.
            to_decimal(payment.amount, payment.currency),
            to_decimal(payment.refunded_amount, payment.currency),
            person_name(payment.person) if payment.person else "",
            payment.person.email if payment.person else "",
            payment_for_what(payment),
            payment.invoice.number if payment.invoice else "",
            payment.stripe_payment_intent_id or "",
        ]
        for payment in queries.all_payments(_filters())
    )
    return Response(
        csv_text(header, rows).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="payments.csv"'},
    )


@blueprint.route("/payments/<int:payment_id>", methods=["GET", "POST"])
def payment(payment_id: int) -> str | BaseResponse | tuple[str, int]:
    payment = queries.payment_detail(payment_id) or abort(404)
    form = RefundForm()
    if request.method == "POST":
        require_recent_factor()  # rule 17
    if form.validate_on_submit():
        on_refusal("payments/manage/detail.html", payment=payment, form=form)
        amount = form.amount_in_minor_units(payment.currency)
        refund(payment, actor=acting_person(), amount=amount, reason=form.reason.data)
        flash(_("Refunded %(amount)s.", amount=format_money(amount, payment.currency)), "success")
        return redirect(url_for("payments_manage.payment", payment_id=payment.id))
    status = 400 if form.errors else 200
    return render_template("payments/manage/detail.html", payment=payment, form=form), status


@blueprint.get("/invoices")
def invoices() -> str:
    return render_template(
        "payments/manage/invoices.html",
        invoices=queries.unpaid_invoices(),
        is_overdue=is_overdue,
    )


@blueprint.route("/invoices/<invoice_number>/paid", methods=["GET", "POST"])
def invoice_paid(invoice_number: str) -> str | BaseResponse | tuple[str, int]:
    invoice = db.session.scalar(
        db.select(Invoice).where(Invoice.number == invoice_number)
    ) or abort(404)
    form = BankTransferForm()
    if form.validate_on_submit():
        on_refusal("payments/manage/invoice_paid.html", invoice=invoice, form=form)
        record_bank_transfer(
            invoice,
            actor=acting_person(),
            paid_on=form.paid_on.data,
            amount=form.amount_in_minor_units(invoice.currency),
            payer_kana=form.payer_kana.data,
        )
        flash(_("Invoice %(number)s is recorded as paid.", number=invoice.number), "success")
        return redirect(url_for("payments_manage.invoices"))
    status = 400 if request.method == "POST" else 200
    return render_template("payments/manage/invoice_paid.html", invoice=invoice, form=form), status

"""Staff pages for money: every payment, refunds, unpaid invoices and bank transfers."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from portal.admin.views import _actor, _page, _require_staff, blueprint
from portal.csvfile import csv_text
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.i18n import localized, person_name
from portal.money import format_money, to_decimal, to_minor
from portal.payments import queries, services
from portal.payments.forms import BankTransferForm, RefundForm
from portal.payments.models import Invoice, PaymentMethod, PaymentStatus

PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: _l("Pending"),
    PaymentStatus.PAID: _l("Paid"),
    PaymentStatus.PARTIALLY_REFUNDED: _l("Partly refunded"),
    PaymentStatus.REFUNDED: _l("Refunded"),
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
    _require_staff()
    filters = _filters()
    return render_template(
        "admin/payments/index.html",
        filters=filters,
        page=queries.payments_page(filters, page=_page()),
        totals=queries.totals_by_currency(filters),
        statuses=list(PaymentStatus),
        methods=list(PaymentMethod),
    )


@blueprint.get("/payments.csv")
def payments_csv() -> Response:
    _require_staff()
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
            payment.created_at.isoformat(timespec="seconds"),
            payment.method,
            payment.status,
            payment.currency,
            # Plain numbers in the major unit, so spreadsheets can add them up.
            to_decimal(payment.amount, payment.currency),
            to_decimal(payment.refunded_amount, payment.currency),
            person_name(payment.person) if payment.person else "",
            payment.person.email if payment.person else "",
            localized(payment.registration.event, "title") if payment.registration else "",
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
    _require_staff()
    payment = queries.payment_detail(payment_id) or abort(404)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            amount = to_minor(form.amount.data, payment.currency)
        except ValueError:
            form.amount.errors.append(
                _("Enter the amount with the currency's decimals, e.g. 5000 or 25.50.")
            )
        else:
            try:
                services.refund(payment, actor=_actor(), amount=amount, reason=form.reason.data)
            except NotFound:
                abort(404)
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "error")
                return render_template(
                    "admin/payments/detail.html", payment=payment, form=form
                ), 400
            flash(
                _("Refunded %(amount)s.", amount=format_money(amount, payment.currency)), "success"
            )
            return redirect(url_for("admin.payment", payment_id=payment.id))
    status = 400 if form.errors else 200
    return render_template("admin/payments/detail.html", payment=payment, form=form), status


@blueprint.get("/invoices")
def invoices() -> str:
    _require_staff()
    return render_template(
        "admin/payments/invoices.html",
        invoices=queries.unpaid_invoices(),
        is_overdue=services.is_overdue,
    )


@blueprint.route("/invoices/<invoice_number>/paid", methods=["GET", "POST"])
def invoice_paid(invoice_number: str) -> str | BaseResponse | tuple[str, int]:
    _require_staff()
    invoice = db.session.scalar(
        db.select(Invoice).where(Invoice.number == invoice_number)
    ) or abort(404)
    form = BankTransferForm()
    if form.validate_on_submit():
        try:
            amount = to_minor(form.amount.data, invoice.currency)
        except ValueError:
            form.amount.errors.append(
                _("Enter the amount with the currency's decimals, e.g. 5000 or 25.50.")
            )
        else:
            try:
                services.record_bank_transfer(
                    invoice,
                    actor=_actor(),
                    paid_on=form.paid_on.data,
                    amount=amount,
                    payer_kana=form.payer_kana.data,
                )
            except NotFound:
                abort(404)
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "error")
            else:
                flash(
                    _("Invoice %(number)s is recorded as paid.", number=invoice.number), "success"
                )
                return redirect(url_for("admin.invoices"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/payments/invoice_paid.html", invoice=invoice, form=form), status

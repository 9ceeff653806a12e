"""The payment columns of an event's registrations CSV (``portal.events.export_columns``):
how each registration was paid and its invoice number, one statement for all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.events.export_columns import ExportColumns
from portal.events.models import Registration
from portal.extensions import db
from portal.language import gettext as _
from portal.payments.management import PAYMENT_STATUS_LABELS
from portal.payments.models import Payment, PaymentMethod


def headers() -> list[str]:
    return [_("Payment method"), _("Payment status"), _("Invoice number")]


def values(registrations: Sequence[Registration]) -> Mapping[int, list[str]]:
    """Each registration's latest payment: its method, its state and its invoice's number."""
    ids = [r.id for r in registrations]
    if not ids:
        return {}
    latest: dict[int, Payment] = {}
    for payment in db.session.scalars(
        select(Payment)
        .where(Payment.registration_id.in_(ids))
        .options(joinedload(Payment.invoice))
        .order_by(Payment.id)
    ):
        latest[payment.registration_id] = payment  # later attempts replace earlier ones
    methods = {PaymentMethod.CARD.value: _("Card"), PaymentMethod.INVOICE.value: _("Invoice")}
    return {
        registration_id: [
            methods.get(payment.method, payment.method),
            payment_status_label(payment.status),
            payment.invoice.number if payment.invoice else "",
        ]
        for registration_id, payment in latest.items()
    }


def payment_status_label(status: str) -> str:
    return str(PAYMENT_STATUS_LABELS.get(status, status))


COLUMNS = ExportColumns(headers=headers, values=values)

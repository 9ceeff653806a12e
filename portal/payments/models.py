"""Payments, refunds, qualified invoices, and the Stripe events already processed."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import TimestampMixin, UTCDateTime, one_of, utcnow
from portal.extensions import db


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    INVOICE = "invoice"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    EXPIRED = "expired"


class Payment(TimestampMixin, db.Model):
    """One attempt to pay for a registration (or a registered purpose), by card or by invoice
    (rules 5 and 6)."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint(one_of("method", PaymentMethod), name="method"),
        CheckConstraint(one_of("status", PaymentStatus), name="status"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded"),
        CheckConstraint("length(currency) = 3", name="currency"),
        # One open payment per registration at a time: a second "Pay" reuses the first.
        Index(
            "uq_payment_open",
            "registration_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_payment_status_created", "status", "created_at"),
        # A payment for something other than a seat (``payments.purposes``): one open at a time.
        Index(
            "uq_payment_open_purpose",
            "purpose",
            "purpose_id",
            unique=True,
            sqlite_where=text("status = 'pending' AND purpose IS NOT NULL"),
            postgresql_where=text("status = 'pending' AND purpose IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="RESTRICT"), index=True
    )
    #: What a payment not for a seat pays for: a purpose registered in ``payments.purposes``
    #: (for example "dues") and the id of the thing it pays within that purpose.
    purpose: Mapped[str | None] = mapped_column(String(32))
    purpose_id: Mapped[int | None]
    #: Who pays; emptied if they delete their account (the payment record stays).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING.value)
    #: In the currency's minor unit (JPY: yen).
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    refunded_amount: Mapped[int] = mapped_column(default=0)
    #: Stripe's PaymentIntent for card payments.
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: Numbers the card attempts of a registration, for the idempotency key.
    attempt: Mapped[int] = mapped_column(default=1)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str] = mapped_column(Text, default="")

    registration = relationship("Registration")
    person = relationship("Person")
    refunds: Mapped[list[Refund]] = relationship(
        back_populates="payment", order_by="Refund.id", cascade="all, delete-orphan"
    )
    invoice: Mapped[Invoice | None] = relationship(back_populates="payment", uselist=False)

    @property
    def refundable(self) -> int:
        return (
            self.amount - self.refunded_amount
            if self.status in ("paid", "partially_refunded")
            else 0
        )


class Refund(db.Model):
    __tablename__ = "refund"
    __table_args__ = (CheckConstraint("amount > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payment.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: Set when the portal refunded by itself (a payment that arrived after its seat was gone).
    automatic: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class Invoice(db.Model):
    """A qualified invoice (適格請求書): what the issuer, recipient and tax lines were then."""

    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payment.id", ondelete="CASCADE"), unique=True
    )
    #: "LJ-2026-000042": year and a sequence without gaps per year.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    issued_on: Mapped[date]
    due_on: Mapped[date]
    issuer_name: Mapped[str] = mapped_column(String(300))
    #: 適格請求書発行事業者登録番号: "T" and 13 digits.
    issuer_registration_number: Mapped[str] = mapped_column(String(14))
    issuer_address: Mapped[str] = mapped_column(Text, default="")
    bank_account: Mapped[str] = mapped_column(Text, default="")
    recipient_company: Mapped[str] = mapped_column(String(300))
    recipient_name: Mapped[str] = mapped_column(String(300), default="")
    currency: Mapped[str] = mapped_column(String(3))
    #: Total including tax, in minor units.
    total: Mapped[int]
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_on: Mapped[date | None]
    #: The bank transfer as staff recorded it.
    transfer_amount: Mapped[int | None]
    transfer_payer_kana: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    payment: Mapped[Payment] = relationship(back_populates="invoice")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan"
    )


class InvoiceLine(db.Model):
    __tablename__ = "invoice_line"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity"),
        CheckConstraint("tax_rate IN (0, 8, 10)", name="tax_rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(default=1)
    #: Price per unit including consumption tax, in minor units.
    unit_amount: Mapped[int]
    #: Consumption tax rate in percent: 10 standard, 8 reduced, 0 not taxable.
    tax_rate: Mapped[int] = mapped_column(default=0)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


class InvoiceCounter(db.Model):
    """The last invoice number used in a year; incremented atomically."""

    __tablename__ = "invoice_counter"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class StripeEvent(db.Model):
    """A webhook event already taken in: its id's uniqueness makes redelivery harmless."""

    __tablename__ = "stripe_event"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

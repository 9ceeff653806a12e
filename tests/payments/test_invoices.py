"""Qualified invoices (適格請求書), their tax arithmetic and PDF, bank transfers, money formats."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from portal.config import ConfigurationError, load_settings
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.events import services as events
from portal.extensions import db
from portal.money import format_money, to_minor
from portal.notifications.models import OutboxMessage
from portal.payments import documents, services
from portal.payments.models import InvoiceLine
from tests.accounts.conftest import add_person
from tests.events.conftest import add_event, ticket

pytestmark = pytest.mark.usefixtures("network")

REGISTRATION_NUMBER = "T1010401089234"


@pytest.fixture(autouse=True)
def issuer(app: Flask):  # noqa: ANN201
    saved = {k: app.config[k] for k in ("INVOICE_REGISTRATION_NUMBER", "INVOICE_BANK_ACCOUNT")}
    app.config.update(
        INVOICE_REGISTRATION_NUMBER=REGISTRATION_NUMBER,
        INVOICE_BANK_ACCOUNT="三井住友銀行 日本橋支店 普通 1234567 "
        "シヤ）ライフサイエンスイノベーシヨン",
    )
    yield
    app.config.update(saved)


def _held(price: int = 11000, tax_rate: int = 10, currency: str = "JPY"):  # noqa: ANN202
    event = add_event(
        starts_in=timedelta(days=40),
        tickets=(
            {
                "audience": "non_member",
                "price": price,
                "currency": currency,
                "tax_rate": tax_rate,
                "name_en": "General",
                "name_ja": "一般",
            },
        ),
    )
    return events.register(add_person(), event, ticket_type_id=ticket(event, "non_member").id)


def test_invoice_carries_every_qualified_invoice_field() -> None:
    registration = _held(price=11000, tax_rate=10)

    invoice = services.request_invoice(
        registration,
        person=registration.person,
        company="日本橋製薬株式会社",
        recipient_name="経理部 御中",
    )

    assert invoice.number.startswith(f"LJ-{invoice.issued_on.year}-") and len(invoice.number) == 14
    assert (
        invoice.issuer_name
        == "一般社団法人ライフサイエンス・イノベーション・ネットワーク・ジャパン"
    )
    assert invoice.issuer_registration_number == REGISTRATION_NUMBER
    assert (invoice.recipient_company, invoice.recipient_name) == (
        "日本橋製薬株式会社",
        "経理部 御中",
    )
    assert invoice.issued_on <= invoice.due_on < registration.event.starts_at.date()
    [line] = invoice.lines
    assert (line.description, line.unit_amount, line.tax_rate) == (
        "再生医療産業化フォーラム（一般）",
        11000,
        10,
    )
    [tax] = services.tax_summary(invoice.lines)
    assert (tax.rate, tax.total, tax.tax) == (10, 11000, 1000)
    assert invoice.total == 11000 and invoice.payment.status == "pending"
    db.session.refresh(registration)
    assert registration.status == "awaiting_payment" and registration.hold_expires_at is None
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds[-1] == "payments/invoice_issued"


def _lines(*items: tuple[int, int, int]) -> list[InvoiceLine]:
    return [
        InvoiceLine(description="x", unit_amount=unit, quantity=quantity, tax_rate=rate)
        for unit, quantity, rate in items
    ]


def test_tax_is_rounded_once_per_rate_per_invoice() -> None:
    # Three ¥1,005 items at 10%: per line the tax would be ¥91 each (¥273); once on the
    # total of ¥3,015 it is ¥274, which is what a qualified invoice must show.
    [tax] = services.tax_summary(_lines((1005, 1, 10), (1005, 1, 10), (1005, 1, 10)))

    assert (tax.total, tax.tax) == (3015, 274)


def test_each_rate_has_its_own_total_and_tax() -> None:
    taxes = services.tax_summary(_lines((2200, 2, 10), (1080, 1, 8), (500, 1, 0)))

    assert [(t.rate, t.total, t.tax) for t in taxes] == [
        (10, 4400, 400),
        (8, 1080, 80),
        (0, 500, 0),
    ]


def test_invoice_numbers_follow_each_other_without_gaps() -> None:
    numbers = []
    for _ in range(3):
        registration = _held()
        numbers.append(
            services.request_invoice(registration, person=registration.person, company="A社").number
        )

    sequence = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]


def test_invoice_needs_a_company_and_changes_nothing_without() -> None:
    registration = _held()

    with pytest.raises(InvalidInput, match="company or institution"):
        services.request_invoice(registration, person=registration.person, company=" ")

    assert services.open_payment(registration) is None


def test_invoice_needs_the_issuers_registration_number(app: Flask) -> None:
    registration = _held()
    app.config["INVOICE_REGISTRATION_NUMBER"] = None

    with pytest.raises(InvalidInput, match="registration number"):
        services.request_invoice(registration, person=registration.person, company="A社")


def test_the_registration_number_must_be_t_and_13_digits(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ConfigurationError, match="T followed by 13 digits"):
        load_settings(tmp_path, {"INVOICE_REGISTRATION_NUMBER": "1010401089234"})
    assert (
        load_settings(tmp_path, {"INVOICE_REGISTRATION_NUMBER": REGISTRATION_NUMBER})[
            "INVOICE_REGISTRATION_NUMBER"
        ]
        == REGISTRATION_NUMBER
    )


def test_asking_twice_returns_the_same_invoice() -> None:
    registration = _held()
    first = services.request_invoice(registration, person=registration.person, company="A社")
    second = services.request_invoice(registration, person=registration.person, company="A社")

    assert first.id == second.id


def test_invoice_pdf_in_japanese_carries_the_fields() -> None:
    registration = _held(price=11000, tax_rate=10)
    invoice = services.request_invoice(
        registration, person=registration.person, company="日本橋製薬株式会社"
    )

    with force_locale("ja"):
        text = PdfReader(io.BytesIO(documents.invoice_pdf(invoice, "ja"))).pages[0].extract_text()

    for expected in (
        "適格請求書",
        invoice.number,
        "日本橋製薬株式会社",
        "登録番号：" + REGISTRATION_NUMBER,
        "日本橋製薬株式会社 御中",
        "一般社団法人ライフサイエンス・イノベーション・ネットワーク・ジャパン",
        "10%対象",
        "11,000円",
        "消費税 1,000円",
        "三井住友銀行",
    ):
        assert expected in text, (expected, text)


def test_invoice_pdf_in_english() -> None:
    registration = _held(price=11000, tax_rate=10)
    invoice = services.request_invoice(
        registration, person=registration.person, company="Nihonbashi Pharma K.K."
    )

    text = PdfReader(io.BytesIO(documents.invoice_pdf(invoice, "en"))).pages[0].extract_text()

    assert "Invoice (qualified invoice)" in text
    assert f"Registration number: {REGISTRATION_NUMBER}" in text
    assert "Total at 10%: ¥11,000 (consumption tax ¥1,000)" in text


def test_invoice_page_and_pdf_for_the_payer_only(client: FlaskClient) -> None:
    registration = _held()
    invoice = services.request_invoice(registration, person=registration.person, company="A社")
    with client.session_transaction() as session:
        session["_user_id"] = registration.person.get_id()

    page = client.get(f"/payments/invoices/{invoice.number}", headers={"Accept-Language": "ja"})
    pdf = client.get(f"/payments/invoices/{invoice.number}.pdf")

    assert page.status_code == 200 and REGISTRATION_NUMBER in page.get_data(as_text=True)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    with client.session_transaction() as session:
        session["_user_id"] = add_person().get_id()
    assert client.get(f"/payments/invoices/{invoice.number}").status_code == 404
    assert client.get(f"/payments/invoices/{invoice.number}.pdf").status_code == 404


# --- bank transfers -------------------------------------------------------------------------


@pytest.fixture
def staff_member(organizer):  # noqa: ANN001, ANN201
    return organizer


def test_staff_mark_an_invoice_paid_against_the_transfer(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = services.request_invoice(registration, person=registration.person, company="A社")

    services.record_bank_transfer(
        invoice,
        actor=staff_member,
        paid_on=date.today(),
        amount=11000,
        payer_kana="ニホンバシセイヤク（カ",
    )

    db.session.refresh(registration)
    assert (
        invoice.payment.status == "paid" and invoice.transfer_payer_kana == "ニホンバシセイヤク（カ"
    )
    assert registration.status == "confirmed"


def test_a_transfer_of_another_amount_is_refused(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = services.request_invoice(registration, person=registration.person, company="A社")

    with pytest.raises(InvalidInput, match="differs from the invoice total"):
        services.record_bank_transfer(
            invoice, actor=staff_member, paid_on=date.today(), amount=10000, payer_kana="エー"
        )

    assert invoice.payment.status == "pending"


def test_only_staff_record_transfers_and_only_once(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = services.request_invoice(registration, person=registration.person, company="A社")

    with pytest.raises(NotFound):
        services.record_bank_transfer(
            invoice,
            actor=registration.person,
            paid_on=date.today(),
            amount=11000,
            payer_kana="エー",
        )
    services.record_bank_transfer(
        invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
    )
    with pytest.raises(InvalidTransition):
        services.record_bank_transfer(
            invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
        )


def test_bank_transfer_refund_is_recorded_without_stripe(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = services.request_invoice(registration, person=registration.person, company="A社")
    services.record_bank_transfer(
        invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
    )

    refund = services.refund(
        invoice.payment, actor=staff_member, amount=11000, reason="Event cancelled"
    )

    assert refund.stripe_refund_id is None and invoice.payment.status == "refunded"


def test_overdue_invoices_are_flagged_and_reminded_once_a_week(staff_member) -> None:  # noqa: ANN001
    registration = _held()
    invoice = services.request_invoice(registration, person=registration.person, company="A社")
    invoice.due_on = date.today() - timedelta(days=2)
    db.session.commit()

    assert services.is_overdue(invoice)
    assert services.remind_overdue() == 1
    assert services.remind_overdue() == 0
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("payments/invoice_overdue") == 1


def test_receipt_pdf_for_a_paid_invoice(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = services.request_invoice(
        registration, person=registration.person, company="日本橋製薬株式会社"
    )
    services.record_bank_transfer(
        invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
    )

    text = (
        PdfReader(
            io.BytesIO(
                documents.receipt_pdf(
                    invoice.payment,
                    payer="日本橋製薬株式会社",
                    description="フォーラム",
                    language="ja",
                )
            )
        )
        .pages[0]
        .extract_text()
    )

    assert "領収書" in text and "日本橋製薬株式会社" in text and "11,000円" in text


# --- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (5000, "JPY", "en", "¥5,000"),
        (5000, "JPY", "ja", "5,000円"),
        (5000, "USD", "en", "$50.00"),
        (1250, "EUR", "en", "€12.50"),
        (800, "GBP", "en", "£8.00"),
    ],
)
def test_money_is_formatted_per_locale(
    amount: int, currency: str, language: str, expected: str
) -> None:
    with force_locale(language):
        assert format_money(amount, currency) == expected


def test_typed_amounts_become_minor_units_without_floats() -> None:
    from decimal import Decimal

    assert to_minor(Decimal("50.00"), "USD") == 5000
    assert to_minor(Decimal("5000"), "JPY") == 5000
    with pytest.raises(ValueError):
        to_minor(Decimal("0.5"), "JPY")

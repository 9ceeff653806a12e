"""Qualified invoices (適格請求書), their tax arithmetic and PDF, bank transfers, money formats."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select

from portal.accounts.models import Person
from portal.config import ConfigurationError, load_settings
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.events import registering
from portal.events.models import Event, Registration
from portal.extensions import db
from portal.money import format_money, to_minor
from portal.notifications.models import OutboxMessage
from portal.payments import documents, invoices, refunds, states
from portal.payments.models import Invoice, InvoiceLine
from portal.payments.taxes import tax_summary
from tests.factories import add_event, add_person, org, ticket
from tests.payments.pdfs import drawn, fonts, ink, text_of
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

REGISTRATION_NUMBER = "T1010401089234"
JA = {"Accept-Language": "ja"}


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
    return registering.register(add_person(), event, ticket_type_id=ticket(event, "non_member").id)


def test_invoice_carries_every_qualified_invoice_field() -> None:
    registration = _held(price=11000, tax_rate=10)

    invoice = invoices.request_invoice(
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
    # A department typed with 御中 joins the company: the invoice says 御中 once, itself.
    assert (invoice.recipient_company, invoice.recipient_name) == ("日本橋製薬株式会社 経理部", "")
    assert invoice.issued_on <= invoice.due_on < registration.event.starts_at.date()
    [line] = invoice.lines
    assert (line.description, line.unit_amount, line.tax_rate) == (
        "再生医療産業化フォーラム（一般）",
        11000,
        10,
    )
    [tax] = tax_summary(invoice.lines)
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
    [tax] = tax_summary(_lines((1005, 1, 10), (1005, 1, 10), (1005, 1, 10)))

    assert (tax.total, tax.tax) == (3015, 274)


def test_each_rate_has_its_own_total_and_tax() -> None:
    taxes = tax_summary(_lines((2200, 2, 10), (1080, 1, 8), (500, 1, 0)))

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
            invoices.request_invoice(registration, person=registration.person, company="A社").number
        )

    sequence = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]


def test_invoice_needs_a_company_and_changes_nothing_without() -> None:
    registration = _held()

    with pytest.raises(InvalidInput, match="company or institution"):
        invoices.request_invoice(registration, person=registration.person, company=" ")

    assert states.open_payment(registration) is None


def test_invoice_needs_the_issuers_registration_number(app: Flask) -> None:
    registration = _held()
    app.config["INVOICE_REGISTRATION_NUMBER"] = None

    with pytest.raises(InvalidInput, match="registration number"):
        invoices.request_invoice(registration, person=registration.person, company="A社")


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
    first = invoices.request_invoice(registration, person=registration.person, company="A社")
    second = invoices.request_invoice(registration, person=registration.person, company="A社")

    assert first.id == second.id


def test_invoice_pdf_in_japanese_carries_the_fields(tmp_path: Path) -> None:
    registration = _held(price=11000, tax_rate=10)
    invoice = invoices.request_invoice(
        registration, person=registration.person, company="日本橋製薬株式会社"
    )

    pdf = documents.invoice_pdf(invoice, "ja")

    text = text_of(pdf)
    event_day = registration.event.starts_at.astimezone(ZoneInfo("Asia/Tokyo")).date()
    for expected in (
        "適格請求書",
        invoice.number,
        "日本橋製薬株式会社 御中",
        "登録番号：" + REGISTRATION_NUMBER,
        "一般社団法人ライフサイエンス・イノベーション・ネットワーク・ジャパン",
        f"取引年月日：{event_day.year}年{event_day.month}月{event_day.day}日",
        "10%対象",
        "10%対象 合計 11,000円（消費税 1,000円）",
        "三井住友銀行",
    ):
        assert expected in text, (expected, text)
    assert "様" not in text  # 御中 or 様, never both
    assert ink(pdf, drawn(pdf, "日本橋製薬株式会社 御中"), tmp_path) > 50


def test_invoice_pdf_in_english(tmp_path: Path) -> None:
    registration = _held(price=11000, tax_rate=10)
    invoice = invoices.request_invoice(
        registration,
        person=registration.person,
        company="Nihonbashi Pharma K.K.",
        recipient_name="Taro Yamada",
    )

    pdf = documents.invoice_pdf(invoice, "en")

    text = text_of(pdf)
    assert "Invoice (qualified invoice)" in text
    assert "Bill to: Nihonbashi Pharma K.K.\nAttn: Taro Yamada" in text
    assert f"Registration number: {REGISTRATION_NUMBER}" in text
    assert "Date of the transaction: " in text
    assert "Total at 10%: ¥11,000 (consumption tax ¥1,000)" in text
    assert ink(pdf, drawn(pdf, "Bill to: Nihonbashi Pharma K.K."), tmp_path) > 50
    # The issuer's name is Japanese in an English invoice too: drawn, not left blank.
    assert ink(pdf, drawn(pdf, "ライフサイエンス"), tmp_path) > 50


def test_a_person_at_the_company_is_addressed_with_sama_and_the_company_without_onchu() -> None:
    registration = _held()
    invoice = invoices.request_invoice(
        registration,
        person=registration.person,
        company="日本橋製薬株式会社",
        recipient_name="山田 太郎 様",  # typed out of habit: the invoice adds its own
    )

    text = text_of(documents.invoice_pdf(invoice, "ja"))

    assert invoice.recipient_name == "山田 太郎"
    assert "日本橋製薬株式会社\n山田 太郎 様\n" in text
    assert "御中" not in text and "様 様" not in text


@pytest.mark.parametrize(
    ("company", "person", "receipt", "language", "lines"),
    [
        ("日本橋製薬株式会社", "", False, "ja", ["日本橋製薬株式会社 御中"]),
        ("日本橋製薬株式会社", "山田 太郎", False, "ja", ["日本橋製薬株式会社", "山田 太郎 様"]),
        ("", "山田 太郎", False, "ja", ["山田 太郎 様"]),
        ("日本橋製薬株式会社", "", True, "ja", ["日本橋製薬株式会社 御中"]),
        ("日本橋製薬株式会社", "山田 太郎", True, "ja", ["日本橋製薬株式会社", "山田 太郎 様"]),
        ("", "山田 太郎", True, "ja", ["山田 太郎 様"]),
        (
            "Nihonbashi Pharma K.K.",
            "Taro Yamada",
            False,
            "en",
            ["Bill to: Nihonbashi Pharma K.K.", "Attn: Taro Yamada"],
        ),
        ("Nihonbashi Pharma K.K.", "", True, "en", ["Received from: Nihonbashi Pharma K.K."]),
        ("", "Taro Yamada", True, "en", ["Received from: Taro Yamada"]),
    ],
)
def test_a_company_gets_onchu_and_a_person_sama_never_both(
    company: str, person: str, receipt: bool, language: str, lines: list[str]
) -> None:
    with force_locale(language):
        assert documents.addressee(company, person, receipt=receipt) == lines


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_font_of_the_invoice_and_the_receipt_is_embedded(
    staff_member,  # noqa: ANN001
    language: str,
) -> None:
    registration = _held(price=11000)
    invoice = invoices.request_invoice(
        registration, person=registration.person, company="日本橋製薬株式会社"
    )
    invoices.record_bank_transfer(
        invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
    )

    for pdf in (
        documents.invoice_pdf(invoice, language),
        documents.receipt_pdf(invoice.payment, language),
    ):
        used = fonts(pdf)
        assert used and all(embedded for _name, embedded in used), used


def test_a_pdf_that_only_names_its_japanese_font_renders_blank_here(tmp_path: Path) -> None:
    """The control: what the invoices were before, drawn with reportlab's built-in Japanese
    font that PDFs only name. Rendered with no font to stand in, it shows no ink, so the ink
    the tests above find comes from the font the portal embeds."""
    buffer = io.BytesIO()
    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    canvas = Canvas(buffer)
    canvas.setFont("HeiseiKakuGo-W5", 12)
    canvas.drawString(72, 720, "日本橋製薬株式会社 御中")
    canvas.save()
    pdf = buffer.getvalue()

    assert fonts(pdf) and not any(embedded for _name, embedded in fonts(pdf))
    assert ink(pdf, drawn(pdf, "御中"), tmp_path) == 0


def test_invoice_page_and_pdf_for_the_payer_only(client: FlaskClient) -> None:
    registration = _held()
    invoice = invoices.request_invoice(registration, person=registration.person, company="A社")
    login(client, registration.person)

    page = client.get(f"/payments/invoices/{invoice.number}", headers={"Accept-Language": "ja"})
    pdf = client.get(f"/payments/invoices/{invoice.number}.pdf")

    assert page.status_code == 200 and REGISTRATION_NUMBER in page.get_data(as_text=True)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    login(client, add_person())
    assert client.get(f"/payments/invoices/{invoice.number}").status_code == 404
    assert client.get(f"/payments/invoices/{invoice.number}.pdf").status_code == 404


# --- through the pages: from the tax rate staff choose to the member's invoice ----------------


def _log_in(client: FlaskClient, person) -> None:  # noqa: ANN001
    login(client, person)


def _event_with_a_taxed_ticket(client: FlaskClient, staff: Person) -> Event:
    """Staff create and publish, on the admin pages, an event LINK-J hosts with a ¥11,000
    ticket at the standard rate."""
    starts = (utcnow() + timedelta(days=60)).astimezone(ZoneInfo("Asia/Tokyo"))
    starts = starts.replace(hour=18, minute=0, second=0, microsecond=0)
    _log_in(client, staff)
    created = client.post(
        "/admin/events/new",
        data={
            "title_en": "Nihonbashi partnering night",
            "title_ja": "日本橋パートナリングの夕べ",
            "slug": "nihonbashi-night",
            "kind": "networking",
            "language": "both",
            "host": str(org("link-j").id),
            "timezone": "Asia/Tokyo",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "capacity": "30",
            "visibility": "public",
            "reminder_hours_before": "24",
            "ticket_types-0-audience": "non_member",
            "ticket_types-0-name_en": "General",
            "ticket_types-0-name_ja": "一般",
            "ticket_types-0-price": "11,000",
            "ticket_types-0-currency": "JPY",
            "ticket_types-0-tax_rate": "10",
            "ticket_types-0-active": "y",
        },
        headers={"Accept-Language": "en"},
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    assert client.post("/admin/events/nihonbashi-night/publish").status_code == 302
    return db.session.scalar(select(Event).where(Event.slug == "nihonbashi-night"))


def _seat_held_on_the_page(client: FlaskClient, event: Event, member: Person) -> Registration:
    _log_in(client, member)
    general = next(t for t in event.ticket_types if t.audience == "non_member")
    registered = client.post(f"/events/{event.slug}/register", data={"ticket_type": general.id})
    assert registered.status_code == 302
    db.session.expire_all()
    return db.session.scalar(select(Registration).where(Registration.person_id == member.id))


def test_the_tax_rate_staff_choose_reaches_the_members_invoice_page_and_pdf(
    client: FlaskClient,
    staff_member,  # noqa: ANN001
) -> None:
    event = _event_with_a_taxed_ticket(client, staff_member)
    registration = _seat_held_on_the_page(client, event, add_person())

    issued = client.post(
        f"/payments/registrations/{registration.id}/invoice",
        data={"company": "日本橋製薬株式会社", "recipient_name": ""},
        headers=JA,
    )
    assert issued.status_code == 302
    page = client.get(issued.location, headers=JA)
    pdf = client.get(issued.location + ".pdf", headers=JA)

    html = page.get_data(as_text=True)
    text = text_of(pdf.data)
    assert "<td>10%</td>" in html and "10%対象 合計（消費税 1,000円）" in html
    assert "日本橋パートナリングの夕べ（一般） × 1 (10%対象)" in text
    assert "10%対象 合計 11,000円（消費税 1,000円）" in text
    assert "対象外" not in text
    assert "日本橋製薬株式会社 御中" in html and "取引年月日" in html


def test_without_a_bank_account_production_refuses_the_invoice_and_says_why(
    app: Flask,
    client: FlaskClient,
    staff_member,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    production = load_settings(
        tmp_path,
        {
            "PORTAL_ENV": "production",
            "SECRET_KEY": "x" * 32,
            "DATABASE_URL": "postgresql://portal@db/portal",
            "INVOICE_REGISTRATION_NUMBER": REGISTRATION_NUMBER,
        },
    )
    event = _event_with_a_taxed_ticket(client, staff_member)
    registration = _seat_held_on_the_page(client, event, add_person())
    app.config.update(
        PORTAL_ENV="production", INVOICE_BANK_ACCOUNT=production["INVOICE_BANK_ACCOUNT"]
    )
    try:
        refused = client.post(
            f"/payments/registrations/{registration.id}/invoice",
            data={"company": "日本橋製薬株式会社"},
            headers=JA,
            follow_redirects=True,
        )
    finally:
        app.config["PORTAL_ENV"] = "development"

    assert production["INVOICE_BANK_ACCOUNT"] == ""
    assert "振込先の口座が設定されていないため、請求書を発行できません。" in refused.get_data(
        as_text=True
    )
    assert states.open_payment(registration) is None
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
    db.session.refresh(registration)
    assert registration.status == "awaiting_payment" and registration.hold_expires_at is not None


def test_outside_production_the_demo_has_a_placeholder_account(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})

    assert "デモ" in settings["INVOICE_BANK_ACCOUNT"]
    assert load_settings(tmp_path, {"INVOICE_BANK_ACCOUNT": "みずほ銀行 本店 普通 1"})[
        "INVOICE_BANK_ACCOUNT"
    ] == ("みずほ銀行 本店 普通 1")


def test_tax_is_rounded_once_per_rate_on_the_invoice_page_and_pdf(
    client: FlaskClient,
) -> None:
    registration = _held(price=1005, tax_rate=10)
    invoice = invoices.request_invoice(registration, person=registration.person, company="A社")
    # Three ¥1,005 items at 10% and one at 8%: line by line the 10% tax would be 3 × ¥91.
    invoice.lines = [
        InvoiceLine(description=f"資料 {n}", unit_amount=1005, quantity=1, tax_rate=10)
        for n in (1, 2, 3)
    ] + [InvoiceLine(description="弁当", unit_amount=1080, quantity=1, tax_rate=8)]
    invoice.total = 3 * 1005 + 1080
    invoice.payment.amount = invoice.total
    db.session.commit()
    _log_in(client, registration.person)

    html = client.get(f"/payments/invoices/{invoice.number}", headers=JA).get_data(as_text=True)
    text = text_of(client.get(f"/payments/invoices/{invoice.number}.pdf", headers=JA).data)

    assert "10%対象 合計（消費税 274円）" in html and "8%対象 合計（消費税 80円）" in html
    assert "10%対象 合計 3,015円（消費税 274円）" in text
    assert "8%対象 合計 1,080円（消費税 80円）" in text


def test_receipt_of_a_card_payment_is_addressed_to_the_payer_with_sama(
    client: FlaskClient,
    stripe_on: str,
    pay_with_card,  # noqa: ANN001
    staff_member,  # noqa: ANN001
) -> None:
    event = _event_with_a_taxed_ticket(client, staff_member)
    member = add_person(family_name="佐藤", given_name="花子")
    registration = _seat_held_on_the_page(client, event, member)
    started = client.post(f"/payments/registrations/{registration.id}/card")
    assert started.status_code == 200
    payment = states.open_payment(registration)
    pay_with_card(payment.stripe_payment_intent_id)
    client.get(f"/payments/registrations/{registration.id}/return")  # Stripe is asked
    db.session.refresh(payment)
    assert payment.status == "paid"

    text = text_of(client.get(f"/payments/receipts/{payment.id}.pdf", headers=JA).data)

    for expected in (
        "佐藤 花子 様",
        "10%対象 合計 11,000円（消費税 1,000円）",
        "登録番号：" + REGISTRATION_NUMBER,
        "取引年月日：",
        "お支払方法：カード",
    ):
        assert expected in text, (expected, text)
    assert "御中" not in text


# --- bank transfers -------------------------------------------------------------------------


@pytest.fixture
def staff_member(organizer):  # noqa: ANN001, ANN201
    return organizer


def test_staff_mark_an_invoice_paid_against_the_transfer(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = invoices.request_invoice(registration, person=registration.person, company="A社")

    invoices.record_bank_transfer(
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
    invoice = invoices.request_invoice(registration, person=registration.person, company="A社")

    with pytest.raises(InvalidInput, match="differs from the invoice total"):
        invoices.record_bank_transfer(
            invoice, actor=staff_member, paid_on=date.today(), amount=10000, payer_kana="エー"
        )

    assert invoice.payment.status == "pending"


def test_only_staff_record_transfers_and_only_once(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = invoices.request_invoice(registration, person=registration.person, company="A社")

    with pytest.raises(NotFound):
        invoices.record_bank_transfer(
            invoice,
            actor=registration.person,
            paid_on=date.today(),
            amount=11000,
            payer_kana="エー",
        )
    invoices.record_bank_transfer(
        invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
    )
    with pytest.raises(InvalidTransition):
        invoices.record_bank_transfer(
            invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
        )


def test_bank_transfer_refund_is_recorded_without_stripe(staff_member) -> None:  # noqa: ANN001
    registration = _held(price=11000)
    invoice = invoices.request_invoice(registration, person=registration.person, company="A社")
    invoices.record_bank_transfer(
        invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
    )

    refund = refunds.refund(
        invoice.payment, actor=staff_member, amount=11000, reason="Event cancelled"
    )

    assert refund.stripe_refund_id is None and invoice.payment.status == "refunded"


def test_overdue_invoices_are_flagged_and_reminded_once_a_week(staff_member) -> None:  # noqa: ANN001
    registration = _held()
    invoice = invoices.request_invoice(registration, person=registration.person, company="A社")
    invoice.due_on = date.today() - timedelta(days=2)
    db.session.commit()

    assert invoices.is_overdue(invoice)
    assert invoices.remind_overdue() == 1
    assert invoices.remind_overdue() == 0
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds.count("payments/invoice_overdue") == 1


def test_receipt_of_a_paid_invoice_shows_the_tax_per_rate_and_the_addressee(
    staff_member,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    registration = _held(price=11000)
    invoice = invoices.request_invoice(
        registration, person=registration.person, company="日本橋製薬株式会社"
    )
    invoices.record_bank_transfer(
        invoice, actor=staff_member, paid_on=date.today(), amount=11000, payer_kana="エー"
    )

    pdf = documents.receipt_pdf(invoice.payment, "ja")

    text = text_of(pdf)
    event_day = registration.event.starts_at.astimezone(ZoneInfo("Asia/Tokyo")).date()
    for expected in (
        "領収書",
        "日本橋製薬株式会社 御中",
        "11,000円",
        "10%対象 合計 11,000円（消費税 1,000円）",
        "登録番号：" + REGISTRATION_NUMBER,
        f"取引年月日：{event_day.year}年{event_day.month}月{event_day.day}日",
        "再生医療産業化フォーラム",
    ):
        assert expected in text, (expected, text)
    assert ink(pdf, drawn(pdf, "日本橋製薬株式会社 御中"), tmp_path) > 50


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

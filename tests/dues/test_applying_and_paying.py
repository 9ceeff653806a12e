"""Applying through the form, the staff queue's steps, and paying the joining invoice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import Person
from portal.db import utcnow
from portal.dues.fiscal import first_year_dues, fiscal_year_end, fiscal_year_of
from portal.dues.models import DuesCharge, DuesPlan, MemberPlan, MembershipApplication
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.payments.invoices import record_bank_transfer
from portal.payments.models import Invoice
from portal.payments.states import tokyo_today
from tests.dues.applications import CORPORATE_NUMBER, approved
from tests.factories import add_person
from tests.roles import login


def _kinds() -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


def _form(**changes: str) -> dict[str, str]:
    values = {
        "company_name": "日本橋バイオ株式会社",
        "company_name_kana": "にほんばしばいお",
        "corporate_number": "７１２３４５６７８９０１２",
        "address": "東京都中央区日本橋本町2-3-11",
        "representative_name": "山田 太郎",
        "billing_name": "経理部 鈴木",
        "billing_email": "billing@nihonbashi-bio.example",
        "agree": "y",
    }
    return {**values, **changes}


def test_applying_through_the_form_records_the_terms_version_and_mails(
    client: FlaskClient, dues_plans: dict[str, DuesPlan]
) -> None:
    person = add_person("rep@nihonbashi-bio.example")
    login(client, person)
    assert "特別会員A" in client.get("/membership/plans", headers={"Accept-Language": "ja"}).text

    response = client.post("/membership/apply/A", data=_form())

    assert response.status_code == 302
    application = db.session.scalar(select(MembershipApplication))
    assert application.terms_version == 1
    assert application.corporate_number == CORPORATE_NUMBER
    assert application.company_name_kana == "ニホンバシバイオ"  # hiragana typed, katakana kept
    assert _kinds() == ["dues/application_received"]
    page = client.get(f"/membership/applications/{application.id}")
    assert "Submitted" in page.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"corporate_number": "6123456789012"}, "first digit must check"),
        ({"agree": ""}, "Agree to LINK-J"),
        ({"company_name_kana": "Nihonbashi 漢字"}, "katakana"),
        ({"billing_email": ""}, "required"),
    ],
)
def test_bad_application_is_refused_beside_its_field_and_changes_nothing(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], changes: dict[str, str], message: str
) -> None:
    login(client, add_person("rep@nihonbashi-bio.example"))

    response = client.post("/membership/apply/A", data=_form(**changes))

    assert response.status_code == 400
    assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(MembershipApplication)) == 0
    assert _kinds() == []


def test_staff_queue_orientation_and_approval_issue_a_qualified_invoice(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    person = add_person("rep@nihonbashi-bio.example")
    login(client, person)
    client.post("/membership/apply/B", data=_form())
    application = db.session.scalar(select(MembershipApplication))

    login(client, staff)
    assert "日本橋バイオ株式会社" in client.get("/admin/dues/applications").text
    client.post(
        f"/admin/dues/applications/{application.id}/changes", data={"message": "住所に建物名を"}
    )
    login(client, person)
    page = client.get(f"/membership/applications/{application.id}")
    assert "住所に建物名を" in page.text
    client.post(
        f"/membership/applications/{application.id}/edit",
        data=_form(address="東京都中央区日本橋本町2-3-11 日本橋ライフサイエンスビルディング"),
    )
    login(client, staff)
    start = (utcnow() + timedelta(days=5)).astimezone(tz=None)
    client.post(
        f"/admin/dues/applications/{application.id}/slots",
        data={"slot1": start.strftime("%Y-%m-%d 10:00"), "mode1": "in_person", "place1": "5F"},
    )
    db.session.expire_all()
    assert application.status == "orientation_proposed"
    login(client, person)
    client.post(
        f"/membership/applications/{application.id}/slot", data={"slot": application.slots[0].id}
    )
    ics = client.get(f"/membership/applications/{application.id}/orientation.ics")
    assert ics.mimetype == "text/calendar" and b"BEGIN:VEVENT" in ics.data
    login(client, staff)
    client.post(f"/admin/dues/applications/{application.id}/approve")

    db.session.expire_all()
    charge = db.session.scalar(select(DuesCharge))
    plan = dues_plans["B"]
    assert charge.amount == plan.initial_fee + first_year_dues(plan, tokyo_today())
    invoice = db.session.scalar(select(Invoice))
    assert invoice.recipient_company == "日本橋バイオ株式会社"
    assert invoice.total == charge.amount
    assert {line.tax_rate for line in invoice.lines} == {10}
    assert _kinds()[-1] == "dues/approved"
    assert "dues/orientation_booked" in _kinds()


def test_another_persons_application_is_not_found(
    client: FlaskClient, dues_plans: dict[str, DuesPlan]
) -> None:
    login(client, add_person("rep@nihonbashi-bio.example"))
    client.post("/membership/apply/A", data=_form())
    application = db.session.scalar(select(MembershipApplication))
    login(client, add_person("other@example.com"))
    assert client.get(f"/membership/applications/{application.id}").status_code == 404
    assert client.get("/admin/dues/applications").status_code == 403


def test_paid_invoice_verifies_the_membership_to_31_march_with_the_plans_seats(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    person = add_person("rep@nihonbashi-bio.example")
    approved(person, dues_plans["A"], staff)
    invoice = db.session.scalar(select(Invoice))

    record_bank_transfer(
        invoice,
        actor=staff,
        paid_on=tokyo_today(),
        amount=invoice.total,
        payer_kana="ニホンバシバイオ",
    )

    db.session.expire_all()
    member_plan = db.session.scalar(select(MemberPlan))
    end = fiscal_year_end(fiscal_year_of(tokyo_today()))
    assert member_plan.paid_through == end
    membership = member_plan.membership
    assert membership.status == "verified" and membership.valid_until == end
    assert membership.company.seat_count == 20
    assert membership.member_number == member_plan.number
    login(client, person)
    card = client.get("/membership/card")
    assert member_plan.number in card.text and "<svg" in card.text
    pdf = client.get("/membership/card.pdf")
    assert pdf.mimetype == "application/pdf"


def test_first_year_dues_follow_the_plans_mid_year_rule(dues_plans: dict[str, DuesPlan]) -> None:
    a, c = dues_plans["A"], dues_plans["C"]
    assert first_year_dues(a, date(2026, 4, 1)) == 660_000
    assert first_year_dues(a, date(2026, 10, 15)) == 660_000 * 6 // 12
    assert first_year_dues(a, date(2027, 3, 2)) == 55_000
    assert first_year_dues(c, date(2027, 3, 2)) == 33_000  # full year whenever joined

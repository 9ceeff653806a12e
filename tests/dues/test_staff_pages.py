"""Staff's dues pages: plans through the form, paying a dues invoice through the payments
page, the fiscal year's dues with its CSV, and the card lookup a scanned QR opens."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Person
from portal.audit.models import AuditEntry
from portal.dues import queries
from portal.dues.card import card_token
from portal.dues.fiscal import fiscal_year_of
from portal.dues.models import DuesCharge, DuesPlan, MemberPlan
from portal.extensions import db
from portal.payments.invoices import record_bank_transfer
from portal.payments.models import Invoice
from portal.payments.states import tokyo_today
from tests.dues.applications import approved
from tests.factories import add_person
from tests.roles import login

PLAN_FORM = {
    "code": "d",
    "name_ja": "賛助会員D",
    "name_en": "Supporting Membership D",
    "kind": "corporate",
    "initial_fee": "55,000",
    "annual_dues": "１１０,０００",
    "seats": "3",
    "member_rates": "y",
    "open_for_applications": "y",
    "mid_year_rule": "by_month",
    "grace_days": "14",
}


def test_staff_create_a_plan_through_the_form_audited(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    login(client, staff)
    response = client.post("/admin/dues/plans/new", data=PLAN_FORM)
    assert response.status_code == 302
    plan = db.session.scalar(select(DuesPlan).where(DuesPlan.code == "D"))
    assert (plan.initial_fee, plan.annual_dues, plan.seats, plan.grace_days) == (
        55_000,
        110_000,
        3,
        14,
    )
    assert db.session.scalar(
        select(AuditEntry.action).where(AuditEntry.subject_type == "dues_plan")
    )
    assert "賛助会員D" in client.get("/membership/plans", headers={"Accept-Language": "ja"}).text


def test_a_bad_plan_is_refused_and_changes_nothing(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    login(client, staff)
    for changes in ({"annual_dues": "12.5"}, {"seats": ""}, {"code": "A"}):
        response = client.post("/admin/dues/plans/new", data={**PLAN_FORM, **changes})
        assert response.status_code == 400
    assert db.session.scalar(select(DuesPlan).where(DuesPlan.code == "D")) is None


def test_members_never_reach_the_staff_pages(
    client: FlaskClient, dues_plans: dict[str, DuesPlan]
) -> None:
    login(client, add_person())
    for url in ("/admin/dues/plans", "/admin/dues/applications", "/admin/dues/report"):
        assert client.get(url).status_code == 403


def test_dues_invoice_marked_paid_through_the_payments_page_and_reported(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    paying = add_person("rep@nihonbashi-bio.example")
    approved(paying, dues_plans["A"], staff)
    approved(add_person("late@other-bio.example"), dues_plans["B"], staff)
    invoice = db.session.scalars(select(Invoice).order_by(Invoice.id)).first()
    login(client, staff)
    assert "LINK-J" in client.get("/admin/payments").text

    response = client.post(
        f"/admin/invoices/{invoice.number}/paid",
        data={
            "paid_on": tokyo_today().isoformat(),
            "amount": str(invoice.total),
            "payer_kana": "ニホンバシバイオ",
        },
    )

    assert response.status_code == 302
    member = db.session.scalar(select(MemberPlan).where(MemberPlan.person_id == paying.id))
    assert member.membership.status == "verified"
    year = fiscal_year_of(tokyo_today())
    report = client.get(f"/admin/dues/report?year={year}").text
    assert "Dues for fiscal year" in report
    rows = list(csv.reader(io.StringIO(client.get(f"/admin/dues/report.csv?year={year}").text)))
    assert len(rows) == 3
    statuses = {row[0]: row[5] for row in rows[1:]}
    assert sorted(statuses.values()) == ["open", "paid"]
    assert rows[1][12] == invoice.number


def test_overdue_charges_are_reported_by_age(
    dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    approved(add_person("rep@nihonbashi-bio.example"), dues_plans["A"], staff)
    charge = db.session.scalar(select(DuesCharge))
    summary = queries.year_summary(charge.fiscal_year, charge.due_on + timedelta(days=45))
    assert summary.outstanding_amount == charge.amount
    assert summary.overdue["31–60"] == charge.amount


def test_the_card_lookup_knows_a_signed_card_and_nothing_else(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    person = add_person("hanako@u.example")
    approved(person, dues_plans["A"], staff)
    invoice = db.session.scalar(select(Invoice))
    record_bank_transfer(
        invoice, actor=staff, paid_on=tokyo_today(), amount=invoice.total, payer_kana="カ"
    )
    member = db.session.scalar(select(MemberPlan))
    token = card_token(member)
    login(client, staff)
    page = client.get(f"/admin/dues/card/{token}")
    assert "A LINK-J member in good standing." in page.text and member.number in page.text
    assert client.get(f"/admin/dues/card/{token[:-2]}xx").status_code == 404
    login(client, person)
    assert client.get(f"/admin/dues/card/{token}").status_code == 403


def test_reception_reads_the_cards_qr_code_as_the_check_in_page_does(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    approved(add_person("rep@nihonbashi-bio.example"), dues_plans["A"], staff)
    invoice = db.session.scalar(select(Invoice))
    record_bank_transfer(
        invoice, actor=staff, paid_on=tokyo_today(), amount=invoice.total, payer_kana="カ"
    )
    member = db.session.scalar(select(MemberPlan))
    scanned = f"http://portal.example/admin/dues/card/{card_token(member)}"
    login(client, staff)
    assert "Reception" in client.get("/admin/").text

    answer = client.post(
        "/admin/dues/reception", data={"code": scanned}, headers={"Accept": "application/json"}
    )
    typed = client.post("/admin/dues/reception", data={"code": member.number.lower()})
    unknown = client.post(
        "/admin/dues/reception",
        data={"code": "LJ-A-999999"},
        headers={"Accept": "application/json"},
    )

    assert answer.status_code == 200 and answer.json["ok"]
    assert member.number in answer.json["detail"]
    assert typed.status_code == 200 and "LINK-J member:" in typed.text
    assert (
        unknown.status_code == 400
        and unknown.json["message"] == "No membership card has this code."
    )

"""Renewal (run twice, issued once), reminders, lapse at the end of grace stopping the member
price on an event page, plan change and resignation (rule 20)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import Person
from portal.dues import changes, renewal
from portal.dues.models import DuesCharge, DuesPlan, MemberPlan
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.payments.invoices import record_bank_transfer
from portal.payments.models import Invoice
from portal.payments.states import tokyo_today
from tests.dues.applications import approved
from tests.factories import add_event, add_person
from tests.roles import login


def _paid_member(plan: DuesPlan, staff: Person, email: str) -> MemberPlan:
    person = add_person(email)
    approved(person, plan, staff)
    invoice = db.session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    record_bank_transfer(
        invoice, actor=staff, paid_on=tokyo_today(), amount=invoice.total, payer_kana="カ"
    )
    return db.session.scalar(select(MemberPlan).where(MemberPlan.person_id == person.id))


def _joined_last_year(member_plan: MemberPlan) -> None:
    """As if the member had paid through 31 March of this year (fiscal year 2025)."""
    member_plan.paid_through = date(2026, 3, 31)
    member_plan.membership.valid_until = date(2026, 3, 31)
    db.session.commit()


def _count(kind: str | None = None) -> int:
    query = select(func.count()).select_from(DuesCharge).where(DuesCharge.kind == "annual")
    return db.session.scalar(query)


def test_renewal_run_twice_issues_once(
    app: Flask, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    a = _paid_member(dues_plans["A"], staff, "a@corp-a.example")
    b = _paid_member(dues_plans["B"], staff, "b@corp-b.example")
    year = a.paid_through.year  # the fiscal year after the one paid for

    runner = app.test_cli_runner()
    first = runner.invoke(args=["dues", "renew", "--fiscal-year", str(year)])
    second = runner.invoke(args=["dues", "renew", "--fiscal-year", str(year)])

    assert "2 dues charges issued" in first.output
    assert "0 dues charges issued" in second.output
    assert _count() == 2
    charges = db.session.scalars(select(DuesCharge).where(DuesCharge.kind == "annual")).all()
    assert {c.amount for c in charges} == {660_000, 330_000}
    assert {c.due_on for c in charges} == {date(year, 3, 31)}
    assert b.id in {c.member_plan_id for c in charges}
    kinds = list(db.session.scalars(select(OutboxMessage.kind)))
    assert kinds.count("dues/renewal_issued") == 2


def test_reminders_go_once_before_and_once_after_the_due_date(
    dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    member = _paid_member(dues_plans["A"], staff, "a@corp-a.example")
    year = member.paid_through.year
    renewal.renew(year)
    due = date(year, 3, 31)

    assert renewal.remind(today=due - timedelta(days=30)) == renewal.Reminded(0, 0)
    assert renewal.remind(today=due - timedelta(days=10)) == renewal.Reminded(1, 0)
    assert renewal.remind(today=due - timedelta(days=9)) == renewal.Reminded(0, 0)
    assert renewal.remind(today=due + timedelta(days=1)) == renewal.Reminded(0, 1)
    assert renewal.remind(today=due + timedelta(days=2)) == renewal.Reminded(0, 0)


def _your_price(client: FlaskClient, slug: str) -> str:
    page = client.get(f"/events/{slug}")
    return page.text.split("Your price:", 1)[1].split("</strong>", 1)[0]


def test_lapse_at_the_end_of_grace_stops_the_member_price(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    plan = dues_plans["A"]
    member = _paid_member(plan, staff, "a@corp-a.example")
    _joined_last_year(member)
    plan.grace_days = 365  # staff gave a long grace period: treatment goes on meanwhile
    db.session.commit()
    renewal.renew(2026)
    event = add_event(
        tickets=(
            {"audience": "linkj_member", "price": 1000, "tax_rate": 10},
            {"audience": "non_member", "price": 5000, "tax_rate": 10},
        )
    )
    login(client, member.person)
    assert "¥1,000" in _your_price(client, event.slug)
    assert renewal.lapse() == 0  # still within grace

    plan.grace_days = 30  # staff shorten it: grace ended on 30 April
    db.session.commit()
    assert renewal.lapse() == 1
    assert renewal.lapse() == 0  # once

    db.session.expire_all()
    assert member.ended_on == date(2026, 5, 1) and member.end_reason == "lapsed"
    assert member.membership.status == "expired"
    assert db.session.scalar(select(DuesCharge.status).where(DuesCharge.kind == "annual")) == (
        "cancelled"
    )
    assert "¥5,000" in _your_price(client, event.slug)
    assert "dues/lapsed" in list(db.session.scalars(select(OutboxMessage.kind)))


def test_plan_change_next_year_takes_effect_at_renewal(
    dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    member = _paid_member(dues_plans["A"], staff, "a@corp-a.example")
    changes.change_plan(member, dues_plans["B"], person=member.person, at_once=False)
    renewal.renew(member.paid_through.year)
    db.session.expire_all()
    assert member.plan.code == "B"
    assert member.membership.company.seat_count == 5


def test_plan_change_at_once_charges_the_difference_and_changes_seats(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    member = _paid_member(dues_plans["B"], staff, "b@corp-b.example")
    login(client, member.person)
    response = client.post("/membership/plan", data={"plan": dues_plans["A"].id, "at_once": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    charge = db.session.scalar(select(DuesCharge).where(DuesCharge.kind == "plan_change"))
    assert charge is not None and charge.amount > 0
    assert member.plan.code == "A" and member.membership.company.seat_count == 20
    # Back to the cheaper plan at once is refused, changing nothing.
    client.post("/membership/plan", data={"plan": dues_plans["B"].id, "at_once": "y"})
    db.session.expire_all()
    assert member.plan.code == "A"


def test_resigning_issues_no_more_dues(
    client: FlaskClient, dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    member = _paid_member(dues_plans["A"], staff, "a@corp-a.example")
    login(client, member.person)
    client.post("/membership/resign", data={"confirm": "RESIGN"})
    db.session.expire_all()
    assert member.end_reason == "resigned"
    assert member.membership.status == "verified"  # paid through 31 March
    assert renewal.renew(member.paid_through.year) == 0

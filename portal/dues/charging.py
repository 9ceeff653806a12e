"""Dues charges and their payment: issued on approval and at renewal, paid by qualified invoice
(corporate plans) or by card (individual plans), and what follows once paid (rules 19, 20).

A charge is a purpose of ``payments`` ("dues"): payments settle it through ``settle_paid``
without importing this area (``payments.purposes``).
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from portal.accounts.companies import add_company
from portal.accounts.memberships import add_membership_claim, record_verification
from portal.accounts.models import MembershipKind, Person, VerificationSource
from portal.audit.services import record
from portal.db import utcnow
from portal.dues.fiscal import (
    DUES_TAX_RATE,
    first_year_dues,
    fiscal_year_end,
    fiscal_year_of,
)
from portal.dues.hub import hub, live_hub_membership
from portal.dues.models import (
    ChargeKind,
    ChargeStatus,
    DuesCharge,
    DuesPlan,
    MemberPlan,
    MembershipApplication,
    PlanKind,
)
from portal.errors import InvalidTransition, NotFound
from portal.extensions import db
from portal.i18n import localized
from portal.language import gettext as _
from portal.notifications.services import external_url, mail_person
from portal.payments import charges
from portal.payments.cards import CardCheckout
from portal.payments.models import Invoice, Payment
from portal.payments.purposes import Purpose
from portal.payments.states import tokyo_today

PURPOSE = "dues"


def _due_days() -> int:
    return int(current_app.config.get("DUES_DUE_DAYS", 30))


def new_member_plan(application: MembershipApplication) -> MemberPlan:
    member_plan = MemberPlan(
        person_id=application.person_id,
        plan=application.plan,
        application=application,
        # A placeholder until the id is known; the number names the plan and the id.
        number=f"new-{secrets.token_hex(8)}",
    )
    db.session.add(member_plan)
    db.session.flush()
    member_plan.number = f"LJ-{application.plan.code}-{member_plan.id:06d}"
    return member_plan


def issue_joining_charge(application: MembershipApplication) -> DuesCharge:
    """The initial fee and the first fiscal year's dues (rule 19), in the caller's
    transaction; for a corporate plan its qualified invoice too."""
    today = tokyo_today()
    plan = application.plan
    member_plan = new_member_plan(application)
    dues = first_year_dues(plan, today)
    charge = DuesCharge(
        member_plan=member_plan,
        plan=plan,
        kind=ChargeKind.JOINING.value,
        fiscal_year=fiscal_year_of(today),
        initial_fee=plan.initial_fee,
        dues=dues,
        amount=plan.initial_fee + dues,
        due_on=today + timedelta(days=_due_days()),
    )
    db.session.add(charge)
    db.session.flush()
    if plan.kind == PlanKind.CORPORATE:
        invoice_charge(charge)
    return charge


def _line_names(charge: DuesCharge) -> tuple[str, str]:
    plan = charge.plan
    name = plan.name_ja or plan.name_en
    year = f"{charge.fiscal_year}年度"
    return f"{name} 入会金", f"{name} 年会費（{year}）"


def invoice_charge(charge: DuesCharge) -> Invoice:
    """The charge's qualified invoice (rule 13), addressed as the application gave it."""
    application = charge.member_plan.application
    person = charge.member_plan.person
    fee_line, dues_line = _line_names(charge)
    lines = []
    if charge.initial_fee:
        lines.append(charges.ChargeLine(fee_line, charge.initial_fee, DUES_TAX_RATE))
    if charge.dues:
        description = dues_line
        if charge.kind == ChargeKind.PLAN_CHANGE:
            description = f"{dues_line} 差額"
        lines.append(charges.ChargeLine(description, charge.dues, DUES_TAX_RATE))
    return charges.issue_invoice(
        purpose=PURPOSE,
        purpose_id=charge.id,
        person=person,
        company=application.company_name if application else "",
        recipient_name=(application.billing_name if application else "") or "",
        lines=lines,
        due_on=charge.due_on,
    )


def pay_by_card(charge: DuesCharge, *, person: Person) -> CardCheckout:
    """Start (or resume) the card payment of an individual member's charge."""
    if charge.member_plan.person_id != person.id:
        raise NotFound(_("Not found."))
    if charge.status != ChargeStatus.OPEN:
        raise InvalidTransition(_("Nothing is owed for this."))
    return charges.start_card_payment(
        purpose=PURPOSE, purpose_id=charge.id, person=person, amount=charge.amount
    )


def confirm_card_return(charge: DuesCharge, *, person: Person) -> Payment | None:
    if charge.member_plan.person_id != person.id:
        raise NotFound(_("Not found."))
    return charges.confirm_card_from_return(PURPOSE, charge.id)


def charge_invoice(charge: DuesCharge) -> Invoice | None:
    """The charge's latest invoice, if it is paid by invoice."""
    return db.session.scalar(
        select(Invoice)
        .join(Invoice.payment)
        .where(Payment.purpose == PURPOSE, Payment.purpose_id == charge.id)
        .order_by(Invoice.id.desc())
        .limit(1)
    )


def _verify(member_plan: MemberPlan, valid_until: date) -> bool:
    """Verify the member's LINK-J membership through the fiscal year paid; True when it was
    not verified before (the person is then told by accounts' own mail)."""
    person = member_plan.person
    plan = member_plan.plan
    membership = live_hub_membership(person)
    if membership is not None and membership.status == "verified":
        membership.valid_until = max(membership.valid_until or valid_until, valid_until)
        if membership.company is not None:
            membership.company.valid_until = membership.valid_until
            membership.company.seat_count = plan.seats or membership.company.seat_count
        member_plan.membership = membership
        return False
    if plan.kind == PlanKind.CORPORATE:
        application = member_plan.application
        add_company(
            hub(),
            actor=None,
            name=application.company_name if application else person.affiliation,
            email_domain=person.email_normalized.rsplit("@", 1)[-1],
            seat_count=plan.seats or 1,
            primary_contact=person,
            valid_until=valid_until,
        )
        db.session.flush()
        membership = live_hub_membership(person)
    else:
        if membership is None:
            membership = add_membership_claim(person, hub(), kind=MembershipKind.INDIVIDUAL.value)
            db.session.flush()
        record_verification(
            membership,
            actor=None,
            valid_until=valid_until,
            via=VerificationSource.MANUAL,
            reason="LINK-J dues paid",
        )
    assert membership is not None
    membership.member_number = member_plan.number
    member_plan.membership = membership
    return True


def settle_paid(payment: Payment) -> None:
    """Payments' hook once a dues payment is paid: the charge is paid and the membership
    verified through the fiscal year's 31 March (rule 20); commits."""
    charge = db.session.get(DuesCharge, payment.purpose_id)
    assert charge is not None
    if charge.status == ChargeStatus.PAID:
        db.session.commit()
        return
    charge.status = ChargeStatus.PAID.value
    charge.paid_at = utcnow()
    member_plan = charge.member_plan
    newly = False
    if charge.kind != ChargeKind.PLAN_CHANGE:
        end = fiscal_year_end(charge.fiscal_year)
        member_plan.paid_through = max(member_plan.paid_through or end, end)
        member_plan.joined_on = member_plan.joined_on or tokyo_today()
        member_plan.ended_on = None
        newly = _verify(member_plan, member_plan.paid_through)
    record(
        "dues.paid",
        actor=None,
        subject_type="dues_charge",
        subject_id=charge.id,
        organization_id=None,
        fiscal_year=charge.fiscal_year,
        amount=charge.amount,
    )
    if not newly:
        mail_person(
            member_plan.person,
            "dues/paid",
            charge=charge,
            plan=charge.plan,
            card_url=external_url("dues.card"),
        )
    db.session.commit()


def describe(payment: Payment) -> str:
    charge = db.session.get(DuesCharge, payment.purpose_id)
    if charge is None:
        return _("LINK-J membership dues")
    return _(
        "LINK-J membership: %(plan)s, fiscal year %(year)d",
        plan=localized(charge.plan, "name"),
        year=charge.fiscal_year,
    )


def _transaction_day(payment: Payment) -> date | None:
    # Dues buy membership of the fiscal year: the transaction is dated when it is charged.
    charge = db.session.get(DuesCharge, payment.purpose_id)
    return charge.created_at.date() if charge is not None else None


DUES_PURPOSE = Purpose(
    name=PURPOSE,
    settle=settle_paid,
    describe=describe,
    tax_rate=DUES_TAX_RATE,
    transaction_day=_transaction_day,
)


def open_charges(member_plan: MemberPlan) -> list[DuesCharge]:
    return list(
        db.session.scalars(
            select(DuesCharge)
            .where(
                DuesCharge.member_plan_id == member_plan.id,
                DuesCharge.status == ChargeStatus.OPEN.value,
            )
            .order_by(DuesCharge.id)
        )
    )


def plan_price(plan: DuesPlan) -> int:
    return plan.annual_dues

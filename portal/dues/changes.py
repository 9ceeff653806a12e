"""What a member changes themselves: their plan (next fiscal year, or at once paying the
difference for the months left) and resigning (退会)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.accounts.models import Person
from portal.audit.services import record
from portal.dues.charging import _due_days, invoice_charge
from portal.dues.fiscal import fiscal_year_of, months_left
from portal.dues.models import ChargeKind, DuesCharge, DuesPlan, MemberPlan, PlanKind
from portal.dues.renewal import end_member
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.services import external_url, mail_person
from portal.payments.states import tokyo_today


def current_member_plan(person: Person) -> MemberPlan | None:
    """The person's member plan that has not ended (paid or awaiting its first payment)."""
    return db.session.scalar(
        select(MemberPlan)
        .where(MemberPlan.person_id == person.id, MemberPlan.ended_on.is_(None))
        .order_by(MemberPlan.id.desc())
        .limit(1)
    )


def _require_member(member_plan: MemberPlan, person: Person) -> None:
    if member_plan.person_id != person.id:
        raise NotFound(_("Not found."))
    if member_plan.ended_on is not None or member_plan.paid_through is None:
        raise InvalidTransition(_("Only a paid-up member can do this."))


def change_plan(
    member_plan: MemberPlan, new_plan: DuesPlan, *, person: Person, at_once: bool
) -> DuesCharge | None:
    """Change to ``new_plan`` from next fiscal year, or at once: then the difference in annual
    dues for the months left (counting this month) is charged now, and the plan and its seats
    change today. A cheaper plan waits for next year (dues paid are not refunded)."""
    _require_member(member_plan, person)
    if new_plan.id == member_plan.plan_id:
        raise InvalidInput(_("This is your plan already."), field="plan")
    if new_plan.kind != member_plan.plan.kind:
        raise InvalidInput(
            _("A corporate plan and an individual plan differ: apply anew for the other."),
            field="plan",
        )
    if not at_once:
        member_plan.next_plan = new_plan
        _audit(member_plan, person, new_plan, "next_year")
        db.session.commit()
        return None
    today = tokyo_today()
    difference = (new_plan.annual_dues - member_plan.plan.annual_dues) * months_left(today) // 12
    if difference <= 0:
        raise InvalidInput(_("A cheaper plan takes effect from next fiscal year."), field="at_once")
    year = fiscal_year_of(today)
    if db.session.scalar(
        select(DuesCharge.id).where(
            DuesCharge.member_plan_id == member_plan.id,
            DuesCharge.fiscal_year == year,
            DuesCharge.kind == ChargeKind.PLAN_CHANGE.value,
        )
    ):
        raise InvalidTransition(_("The plan was changed at once this fiscal year already."))
    member_plan.plan = new_plan
    member_plan.next_plan = None
    charge = DuesCharge(
        member_plan=member_plan,
        plan=new_plan,
        kind=ChargeKind.PLAN_CHANGE.value,
        fiscal_year=year,
        dues=difference,
        amount=difference,
        due_on=today + timedelta(days=_due_days()),
    )
    db.session.add(charge)
    db.session.flush()
    membership = member_plan.membership
    if membership is not None and membership.company is not None and new_plan.seats:
        membership.company.seat_count = new_plan.seats
    if new_plan.kind == PlanKind.CORPORATE:
        invoice_charge(charge)
    _audit(member_plan, person, new_plan, "at_once", difference=difference)
    mail_person(
        person, "dues/plan_changed", plan=new_plan, charge=charge, pay_url=external_url("dues.mine")
    )
    db.session.commit()
    return charge


def _audit(
    member_plan: MemberPlan, person: Person, plan: DuesPlan, when: str, **details: int
) -> None:
    record(
        "dues.plan_change",
        actor=person,
        subject_type="member_plan",
        subject_id=member_plan.id,
        organization_id=None,
        plan=plan.code,
        when=when,
        **details,
    )


def resign(member_plan: MemberPlan, *, person: Person) -> None:
    """退会: no further dues are issued; membership continues to the end of the period paid
    for, and open charges are cancelled. Resigning while next year's dues are unpaid (in the
    grace period) ends the membership today."""
    _require_member(member_plan, person)
    today = tokyo_today()
    assert member_plan.paid_through is not None
    end = max(member_plan.paid_through + timedelta(days=1), today)
    end_member(member_plan, on=end, today=today, reason="resigned", actor=person)
    if end > today and member_plan.membership is not None:
        # The grace extension given at renewal goes: treatment ends with what was paid for.
        member_plan.membership.valid_until = member_plan.paid_through
    mail_person(person, "dues/resigned", plan=member_plan.plan, until=end - timedelta(days=1))
    db.session.commit()

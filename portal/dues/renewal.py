"""Renewal, reminders and lapse (rule 20): next year's dues issued in March to every member,
reminders before and after the due date, member treatment kept through the plan's grace
period after 31 March, and the membership ended when the grace period ends unpaid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.memberships import record_end
from portal.accounts.models import Person
from portal.audit.services import record
from portal.db import utcnow
from portal.dues.charging import invoice_charge
from portal.dues.fiscal import fiscal_year_end, grace_end
from portal.dues.models import ChargeKind, ChargeStatus, DuesCharge, MemberPlan, PlanKind
from portal.extensions import db
from portal.notifications.services import external_url, mail_person
from portal.payments.models import Payment, PaymentStatus
from portal.payments.states import tokyo_today, transition

#: Days before the due date the first reminder goes out.
REMIND_BEFORE_DAYS = 14


def _renewable(fiscal_year: int) -> list[MemberPlan]:
    """Members paid through the end of the year before, not resigned or lapsed, whose
    membership staff have not revoked."""
    candidates = list(
        db.session.scalars(
            select(MemberPlan)
            .where(
                MemberPlan.ended_on.is_(None),
                MemberPlan.paid_through == fiscal_year_end(fiscal_year - 1),
            )
            .options(joinedload(MemberPlan.plan), joinedload(MemberPlan.next_plan))
            .order_by(MemberPlan.id)
        ).unique()
    )
    return [m for m in candidates if m.membership is not None and m.membership.status == "verified"]


def _charge_exists(member_plan: MemberPlan, fiscal_year: int) -> bool:
    return (
        db.session.scalar(
            select(DuesCharge.id).where(
                DuesCharge.member_plan_id == member_plan.id,
                DuesCharge.fiscal_year == fiscal_year,
                DuesCharge.kind == ChargeKind.ANNUAL.value,
            )
        )
        is not None
    )


def renew(fiscal_year: int) -> int:
    """Issue the fiscal year's dues to every member who has none yet; returns how many.

    Safe to run again (and at once from two places): the unique constraint on member, year
    and kind lets one charge in, and a member already charged is skipped. A plan change
    chosen for "next year" takes effect here.
    """
    issued = 0
    for member_plan in _renewable(fiscal_year):
        if _charge_exists(member_plan, fiscal_year):
            continue
        try:
            with db.session.begin_nested():
                _issue_annual(member_plan, fiscal_year)
        except IntegrityError:
            continue  # another run issued it meanwhile
        db.session.commit()
        issued += 1
    return issued


def _issue_annual(member_plan: MemberPlan, fiscal_year: int) -> None:
    if member_plan.next_plan is not None:
        member_plan.plan = member_plan.next_plan
        member_plan.next_plan = None
    plan = member_plan.plan
    charge = DuesCharge(
        member_plan=member_plan,
        plan=plan,
        kind=ChargeKind.ANNUAL.value,
        fiscal_year=fiscal_year,
        dues=plan.annual_dues,
        amount=plan.annual_dues,
        due_on=fiscal_year_end(fiscal_year - 1),
    )
    db.session.add(charge)
    db.session.flush()
    # Treatment continues through the grace period while the dues are unpaid (rule 20).
    membership = member_plan.membership
    if membership is not None and membership.status == "verified":
        membership.valid_until = max(
            membership.valid_until or date.min, grace_end(plan, fiscal_year)
        )
        if membership.company is not None:
            membership.company.seat_count = plan.seats or membership.company.seat_count
    if plan.kind == PlanKind.CORPORATE:
        invoice_charge(charge)
    mail_person(
        member_plan.person,
        "dues/renewal_issued",
        charge=charge,
        plan=plan,
        grace_until=grace_end(plan, fiscal_year),
        pay_url=external_url("dues.mine"),
    )


@dataclass(frozen=True)
class Reminded:
    before: int
    after: int


def remind(*, today: date | None = None) -> Reminded:
    """Mail each open charge once in the fortnight before its due date and once after it."""
    today = today or tokyo_today()
    moment = utcnow()
    open_charges = db.session.scalars(
        select(DuesCharge)
        .where(DuesCharge.status == ChargeStatus.OPEN.value)
        .options(joinedload(DuesCharge.member_plan), joinedload(DuesCharge.plan))
    ).all()
    before = after = 0
    for charge in open_charges:
        person = charge.member_plan.person
        if charge.due_on < today and charge.reminded_after_at is None:
            charge.reminded_after_at = moment
            template, after = "dues/reminder_overdue", after + 1
        elif (
            today <= charge.due_on <= today + timedelta(days=REMIND_BEFORE_DAYS)
            and charge.reminded_before_at is None
        ):
            charge.reminded_before_at = moment
            template, before = "dues/reminder_due", before + 1
        else:
            continue
        mail_person(
            person,
            template,
            charge=charge,
            plan=charge.plan,
            grace_until=grace_end(charge.plan, charge.fiscal_year),
            pay_url=external_url("dues.mine"),
        )
    db.session.commit()
    return Reminded(before, after)


def _close_open_payments(charge: DuesCharge) -> None:
    """An invoice of a charge no longer owed can no longer be paid."""
    for payment in db.session.scalars(
        select(Payment).where(
            Payment.purpose == "dues",
            Payment.purpose_id == charge.id,
            Payment.status == PaymentStatus.PENDING.value,
        )
    ):
        transition(payment, PaymentStatus.PENDING, PaymentStatus.EXPIRED)


def end_member(
    member_plan: MemberPlan,
    *,
    on: date,
    today: date,
    reason: str,
    actor: Person | None = None,
) -> None:
    """End a member's plan on ``on`` (no commit): open charges cancelled, the membership
    ended the day before (rule 3) once ``on`` has come."""
    member_plan.ended_on = on
    member_plan.end_reason = reason
    for charge in db.session.scalars(
        select(DuesCharge).where(
            DuesCharge.member_plan_id == member_plan.id,
            DuesCharge.status == ChargeStatus.OPEN.value,
        )
    ):
        charge.status = ChargeStatus.CANCELLED.value
        _close_open_payments(charge)
    # A membership paid beyond ``on``'s eve stays verified and expires on its own (rule 3).
    if member_plan.membership is not None and on <= today:
        record_end(member_plan.membership, actor=actor, reason=f"LINK-J membership {reason}", on=on)


def lapse(*, today: date | None = None) -> int:
    """End the members whose annual dues are unpaid after the plan's grace period (rule 20)."""
    today = today or tokyo_today()
    overdue = db.session.scalars(
        select(DuesCharge)
        .where(
            DuesCharge.status == ChargeStatus.OPEN.value,
            DuesCharge.kind == ChargeKind.ANNUAL.value,
        )
        .options(joinedload(DuesCharge.member_plan), joinedload(DuesCharge.plan))
    ).all()
    lapsed = 0
    for charge in overdue:
        last_day = grace_end(charge.plan, charge.fiscal_year)
        if today <= last_day:
            continue
        member_plan = charge.member_plan
        end_member(member_plan, on=last_day + timedelta(days=1), today=today, reason="lapsed")
        record(
            "dues.lapse",
            actor=None,
            subject_type="member_plan",
            subject_id=member_plan.id,
            organization_id=None,
            fiscal_year=charge.fiscal_year,
        )
        mail_person(member_plan.person, "dues/lapsed", plan=charge.plan, charge=charge)
        lapsed += 1
    db.session.commit()
    return lapsed

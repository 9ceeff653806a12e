"""Read-only queries of the dues pages: a member's charges and applications, the staff queue,
and dues and members by fiscal year."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Person
from portal.dues.models import (
    LIVE_APPLICATION_STATES,
    ChargeStatus,
    DuesCharge,
    DuesPlan,
    MemberPlan,
    MembershipApplication,
)
from portal.extensions import db


def charges_of(member_plan: MemberPlan) -> list[DuesCharge]:
    return list(
        db.session.scalars(
            select(DuesCharge)
            .where(DuesCharge.member_plan_id == member_plan.id)
            .options(joinedload(DuesCharge.plan))
            .order_by(DuesCharge.fiscal_year.desc(), DuesCharge.id.desc())
        )
    )


def standing_of(person: Person) -> tuple[MemberPlan | None, MembershipApplication | None]:
    """The person's member plan that has not ended (the latest, with its plan) and their
    latest application, in one statement: the dashboard shows both on every visit."""
    member_plan, application = db.session.execute(_standing(), {"person_id": person.id}).one()
    return member_plan, application


@functools.cache
def _standing() -> Select:
    # Built once: every dashboard runs it.
    plan_id = (
        select(func.max(MemberPlan.id))
        .where(MemberPlan.person_id == bindparam("person_id"), MemberPlan.ended_on.is_(None))
        .scalar_subquery()
    )
    application_id = (
        select(func.max(MembershipApplication.id))
        .where(MembershipApplication.person_id == bindparam("person_id"))
        .scalar_subquery()
    )
    return (
        select(MemberPlan, MembershipApplication)
        .select_from(Person)
        .outerjoin(MemberPlan, MemberPlan.id == plan_id)
        .outerjoin(MembershipApplication, MembershipApplication.id == application_id)
        .where(Person.id == bindparam("person_id"))
        .options(joinedload(MemberPlan.plan))
    )


def applications_of(person: Person) -> list[MembershipApplication]:
    return list(
        db.session.scalars(
            select(MembershipApplication)
            .where(MembershipApplication.person_id == person.id)
            .order_by(MembershipApplication.id.desc())
        )
    )


def application_queue(*, live_only: bool = True) -> list[MembershipApplication]:
    query = (
        select(MembershipApplication)
        .options(joinedload(MembershipApplication.plan), joinedload(MembershipApplication.person))
        .order_by(MembershipApplication.created_at)
    )
    if live_only:
        query = query.where(
            MembershipApplication.status.in_([s.value for s in LIVE_APPLICATION_STATES])
        )
    return list(db.session.scalars(query))


#: Overdue open charges by how many days past their due date: (label, first day, last day).
AGE_BUCKETS = (("1–30", 1, 30), ("31–60", 31, 60), ("61–90", 61, 90), ("91+", 91, 10**6))


@dataclass
class YearSummary:
    fiscal_year: int
    issued: int = 0
    issued_amount: int = 0
    paid: int = 0
    paid_amount: int = 0
    outstanding: int = 0
    outstanding_amount: int = 0
    #: Overdue open amounts by age bucket label.
    overdue: dict[str, int] = field(default_factory=dict)


def year_charges(fiscal_year: int) -> list[DuesCharge]:
    return list(
        db.session.scalars(
            select(DuesCharge)
            .where(DuesCharge.fiscal_year == fiscal_year)
            .options(
                joinedload(DuesCharge.plan),
                joinedload(DuesCharge.member_plan).joinedload(MemberPlan.person),
            )
            .order_by(DuesCharge.id)
        )
    )


def overdue_bucket(charge: DuesCharge, today: date) -> str | None:
    if charge.status != ChargeStatus.OPEN or charge.due_on >= today:
        return None
    age = (today - charge.due_on).days
    return next(label for label, first, last in AGE_BUCKETS if first <= age <= last)


def year_summary(fiscal_year: int, today: date) -> YearSummary:
    """Dues of the fiscal year: issued (not cancelled), paid, outstanding, overdue by age."""
    summary = YearSummary(fiscal_year, overdue={label: 0 for label, _, _ in AGE_BUCKETS})
    for charge in year_charges(fiscal_year):
        if charge.status == ChargeStatus.CANCELLED:
            continue
        summary.issued += 1
        summary.issued_amount += charge.amount
        if charge.status == ChargeStatus.PAID:
            summary.paid += 1
            summary.paid_amount += charge.amount
            continue
        summary.outstanding += 1
        summary.outstanding_amount += charge.amount
        bucket = overdue_bucket(charge, today)
        if bucket:
            summary.overdue[bucket] += charge.amount
    return summary


def fiscal_years() -> list[int]:
    return list(
        db.session.scalars(
            select(DuesCharge.fiscal_year).distinct().order_by(DuesCharge.fiscal_year.desc())
        )
    )


def members_by_plan() -> tuple[list[int], list[DuesPlan], dict[tuple[int, int], int]]:
    """Members paid up for each fiscal year, by the plan of the charge they paid."""
    rows = db.session.execute(
        select(DuesCharge.fiscal_year, DuesCharge.plan_id, func.count(DuesCharge.id))
        .where(DuesCharge.status == ChargeStatus.PAID.value, DuesCharge.kind != "plan_change")
        .group_by(DuesCharge.fiscal_year, DuesCharge.plan_id)
    ).all()
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for year, plan_id, count in rows:
        counts[(year, plan_id)] += count
    years = sorted({year for year, _ in counts})
    plans = list(db.session.scalars(select(DuesPlan).order_by(DuesPlan.code)))
    return years, plans, counts

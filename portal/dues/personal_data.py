"""A person's LINK-J membership applications, plans and dues: exported, and erased with their
account (rule 14). The invoices and payments of dues stay with the payments area's records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from portal.accounts import personal_data
from portal.accounts.models import Person
from portal.dues.applying import ApplicationDetails
from portal.dues.models import DuesCharge, MemberPlan, MembershipApplication
from portal.dues.renewal import end_member
from portal.extensions import db
from portal.payments.states import tokyo_today

_DETAILS = tuple(asdict(ApplicationDetails()))


def _applications(person: Person) -> list[MembershipApplication]:
    return list(
        db.session.scalars(
            select(MembershipApplication).where(MembershipApplication.person_id == person.id)
        )
    )


def _member_plans(person: Person) -> list[MemberPlan]:
    return list(db.session.scalars(select(MemberPlan).where(MemberPlan.person_id == person.id)))


def _export(person: Person) -> Mapping[str, Any]:
    when = personal_data.when
    return {
        "membership_applications": [
            {
                "plan": a.plan.code,
                "status": a.status,
                "terms_version": a.terms_version,
                "terms_agreed_at": when(a.terms_agreed_at),
                **{name: getattr(a, name) for name in _DETAILS},
            }
            for a in _applications(person)
        ],
        "linkj_memberships": [
            {
                "number": m.number,
                "plan": m.plan.code,
                "paid_through": m.paid_through.isoformat() if m.paid_through else None,
                "ended_on": m.ended_on.isoformat() if m.ended_on else None,
                "dues": [
                    {
                        "fiscal_year": c.fiscal_year,
                        "kind": c.kind,
                        "amount": c.amount,
                        "status": c.status,
                    }
                    for c in db.session.scalars(
                        select(DuesCharge).where(DuesCharge.member_plan_id == m.id)
                    )
                ],
            }
            for m in _member_plans(person)
        ],
    }


def _erase(person: Person, moment: datetime) -> Mapping[str, int]:
    today = tokyo_today()
    plans = _member_plans(person)
    for member_plan in plans:
        if member_plan.ended_on is None:
            # No dues follow a deleted account; an open invoice can no longer be paid.
            end_member(member_plan, on=today, today=today, reason="account deleted")
        db.session.delete(member_plan)
    applications = _applications(person)
    for application in applications:
        db.session.delete(application)
    return {"membership_applications_erased": len(applications), "member_plans_erased": len(plans)}


def _kept(person: Person, day: date) -> list[personal_data.Kept]:
    # What the books need of dues (invoices, payments) is the payments area's to keep.
    return []


personal_data.register(
    personal_data.PersonalDataArea(
        position=35,
        name="dues",
        export=_export,
        erase=_erase,
        kept=_kept,
        tables=("membership_application", "member_plan"),
    )
)

"""Plans, kept by LINK-J's staff: what each costs, what it opens, whether it takes applications."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select

from portal.accounts.models import Person
from portal.audit.services import record
from portal.dues.models import DuesPlan, MidYearRule, PlanKind
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.language import gettext as _


@dataclass(frozen=True)
class PlanTerms:
    """Everything staff set on a plan; the form and the service share this one definition."""

    code: str
    name_ja: str
    name_en: str
    kind: str
    initial_fee: int
    annual_dues: int
    seats: int | None
    member_rates: bool
    benefits: bool
    room_booking: bool
    open_for_applications: bool
    mid_year_rule: str
    grace_days: int
    description_ja: str = ""
    description_en: str = ""


def _checked(terms: PlanTerms) -> PlanTerms:
    if not terms.code.strip() or not (terms.name_ja.strip() or terms.name_en.strip()):
        raise InvalidInput(_("Give the plan a code and a name."), field="name_ja")
    if terms.kind not in set(PlanKind) or terms.mid_year_rule not in set(MidYearRule):
        raise InvalidInput(_("Choose the kind of plan and its mid-year rule."), field="kind")
    if terms.annual_dues <= 0 or terms.initial_fee < 0:
        raise InvalidInput(_("Annual dues must be more than zero."), field="annual_dues")
    seats = terms.seats
    if terms.kind == PlanKind.CORPORATE and not (seats and seats >= 1):
        raise InvalidInput(_("A corporate plan has at least one seat."), field="seats")
    if terms.kind == PlanKind.INDIVIDUAL:
        seats = None
    if terms.grace_days < 0 or terms.grace_days > 365:
        raise InvalidInput(_("The grace period is 0 to 365 days."), field="grace_days")
    return PlanTerms(**{**asdict(terms), "code": terms.code.strip().upper(), "seats": seats})


def save_plan(plan: DuesPlan | None, terms: PlanTerms, *, actor: Person) -> DuesPlan:
    """Create a plan (``plan`` None) or change one; staff only, audited (rule 7)."""
    if not actor.is_staff:
        raise NotFound(_("Not found."))
    terms = _checked(terms)
    clash = db.session.scalar(select(DuesPlan).where(DuesPlan.code == terms.code))
    if clash is not None and clash is not plan:
        raise InvalidInput(_("Another plan has this code."), field="code")
    if plan is None:
        plan = DuesPlan(**asdict(terms))
        db.session.add(plan)
    else:
        for name, value in asdict(terms).items():
            setattr(plan, name, value)
    db.session.flush()
    record(
        "dues.plan_save",
        actor=actor,
        subject_type="dues_plan",
        subject_id=plan.id,
        organization_id=None,
        code=plan.code,
        initial_fee=plan.initial_fee,
        annual_dues=plan.annual_dues,
    )
    db.session.commit()
    return plan


def plans(*, open_only: bool = False) -> list[DuesPlan]:
    query = select(DuesPlan).order_by(DuesPlan.code)
    if open_only:
        query = query.where(DuesPlan.open_for_applications.is_(True))
    return list(db.session.scalars(query))

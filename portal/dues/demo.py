"""The demo's plans: Special Membership A and B (corporate) and C (individual)."""

from __future__ import annotations

from sqlalchemy import select

from portal.dues.models import DuesPlan, MidYearRule, PlanKind
from portal.extensions import db

#: Plausible yen amounts, consumption tax (10 %) included.
DEMO_PLANS = (
    dict(
        code="A",
        name_ja="特別会員A",
        name_en="Special Membership A",
        kind=PlanKind.CORPORATE.value,
        initial_fee=110_000,
        annual_dues=660_000,
        seats=20,
        room_booking=True,
        mid_year_rule=MidYearRule.BY_MONTH.value,
    ),
    dict(
        code="B",
        name_ja="特別会員B",
        name_en="Special Membership B",
        kind=PlanKind.CORPORATE.value,
        initial_fee=55_000,
        annual_dues=330_000,
        seats=5,
        room_booking=True,
        mid_year_rule=MidYearRule.BY_MONTH.value,
    ),
    dict(
        code="C",
        name_ja="特別会員C（個人）",
        name_en="Special Membership C (individual)",
        kind=PlanKind.INDIVIDUAL.value,
        initial_fee=0,
        annual_dues=33_000,
        seats=None,
        room_booking=False,
        mid_year_rule=MidYearRule.FULL_YEAR.value,
    ),
)


def load_demo_plans() -> None:
    """Add plans A, B and C unless they exist (idempotent)."""
    for values in DEMO_PLANS:
        if db.session.scalar(select(DuesPlan.id).where(DuesPlan.code == values["code"])):
            continue
        db.session.add(DuesPlan(grace_days=30, **values))
    db.session.commit()

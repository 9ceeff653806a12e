"""LINK-J's fiscal year (April to March) and what the first year's dues are (rule 19)."""

from __future__ import annotations

from datetime import date, timedelta

from portal.dues.models import DuesPlan, MidYearRule

#: Consumption tax on membership fees and dues sold by LINK-J in Japan: the standard rate.
DUES_TAX_RATE = 10


def fiscal_year_of(day: date) -> int:
    """The fiscal year a day falls in, named by the year it starts: 2026-04-01…2027-03-31 is
    2026."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_end(fiscal_year: int) -> date:
    """31 March after the fiscal year's April: the last day its dues pay for."""
    return date(fiscal_year + 1, 3, 31)


def fiscal_year_start(fiscal_year: int) -> date:
    return date(fiscal_year, 4, 1)


def months_left(day: date) -> int:
    """Months of the fiscal year from the month of ``day`` through March, both counted."""
    return 16 - day.month if day.month >= 4 else 4 - day.month


def first_year_dues(plan: DuesPlan, joined_on: date) -> int:
    """Rule 19: the first fiscal year's dues, tax included. A plan joined "by month" pays the
    months left in the fiscal year, counting the month of joining, rounded down to the yen;
    a "full year" plan pays the whole year whenever it is joined."""
    if plan.mid_year_rule == MidYearRule.FULL_YEAR:
        return plan.annual_dues
    return plan.annual_dues * months_left(joined_on) // 12


def grace_end(plan: DuesPlan, fiscal_year: int) -> date:
    """Rule 20: the last day of member treatment for a member who has not paid the fiscal
    year's dues: the plan's grace days after the end of the year before."""
    return fiscal_year_end(fiscal_year - 1) + timedelta(days=plan.grace_days)

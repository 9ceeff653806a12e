"""How the dues area's states read, in the viewer's language."""

from __future__ import annotations

from flask import Blueprint

from portal.dues.models import (
    ApplicationStatus,
    ChargeKind,
    ChargeStatus,
    MidYearRule,
    OrientationMode,
    PlanKind,
)
from portal.language import lazy_gettext as _l

APPLICATION_STATUS = {
    ApplicationStatus.SUBMITTED: _l("Submitted"),
    ApplicationStatus.CHANGES_REQUESTED: _l("Changes requested"),
    ApplicationStatus.ORIENTATION_PROPOSED: _l("Orientation times offered"),
    ApplicationStatus.ORIENTATION_BOOKED: _l("Orientation booked"),
    ApplicationStatus.APPROVED: _l("Approved"),
    ApplicationStatus.DECLINED: _l("Declined"),
}
ORIENTATION_MODE = {
    OrientationMode.IN_PERSON: _l("in person at the Nihonbashi Life Science Building"),
    OrientationMode.ONLINE: _l("online"),
}
PLAN_KIND = {PlanKind.CORPORATE: _l("Corporate"), PlanKind.INDIVIDUAL: _l("Individual")}
MID_YEAR_RULE = {
    MidYearRule.FULL_YEAR: _l("Full year's dues whenever joining"),
    MidYearRule.BY_MONTH: _l("Dues by the months left in the fiscal year"),
}
CHARGE_KIND = {
    ChargeKind.JOINING: _l("Initial fee and first year's dues"),
    ChargeKind.ANNUAL: _l("Annual dues"),
    ChargeKind.PLAN_CHANGE: _l("Plan change difference"),
}
CHARGE_STATUS = {
    ChargeStatus.OPEN: _l("Unpaid"),
    ChargeStatus.PAID: _l("Paid"),
    ChargeStatus.CANCELLED: _l("Cancelled"),
}


def register_labels(blueprint: Blueprint) -> None:
    """Template globals of the dues pages and mail."""
    tables = {
        "application_status_label": APPLICATION_STATUS,
        "orientation_mode_label": ORIENTATION_MODE,
        "plan_kind_label": PLAN_KIND,
        "mid_year_rule_label": MID_YEAR_RULE,
        "charge_kind_label": CHARGE_KIND,
        "charge_status_label": CHARGE_STATUS,
    }
    for name, table in tables.items():
        blueprint.add_app_template_global(
            lambda value, table=table: str(table.get(value, value)), name
        )

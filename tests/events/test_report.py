"""The reciprocity report counts the other side's members at each side's events."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import create_app
from portal.benefits.report import REGISTRATION_COUNTERS, reciprocity_report
from portal.db import utcnow
from portal.events import leaving, registering
from portal.events.report import registrations_by_direction
from portal.extensions import db
from portal.organizations.models import Agreement
from tests.factories import add_consent, add_event, member_of, ticket

pytestmark = pytest.mark.usefixtures("network")


def _biocom_rows():  # noqa: ANN202
    agreement = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-biocom-2016"))
    report = reciprocity_report([agreement], kind="year", year=utcnow().year, timezone="Asia/Tokyo")
    return {
        (row.provider.slug, row.beneficiary.slug): row.per_period[-1].registrations
        for row in report.rows
    }


def test_the_events_area_registers_its_counter(app) -> None:  # noqa: ANN001
    assert registrations_by_direction in REGISTRATION_COUNTERS


def test_another_app_does_not_count_registrations_twice(app) -> None:  # noqa: ANN001
    create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})

    assert REGISTRATION_COUNTERS.count(registrations_by_direction) == 1


def test_members_of_each_side_at_the_other_sides_events_are_counted() -> None:
    linkj_event = add_event(host="link-j")
    biocom_event = add_event(host="biocom", tickets=({"audience": "non_member", "price": 0},))
    ucsd_event = add_event(
        host="ucsd", cohosts=("biocom",), tickets=({"audience": "non_member", "price": 0},)
    )
    for _ in range(2):
        registering.register(
            member_of("biocom"),
            linkj_event,
            ticket_type_id=ticket(linkj_event, "partner_member").id,
        )
    to_biocom, to_ucsd = member_of("link-j"), member_of("link-j")
    add_consent(to_biocom, "biocom")  # their data goes to the US organizers (APPI art. 28)
    add_consent(to_ucsd, "ucsd", "biocom")
    registering.register(
        to_biocom, biocom_event, ticket_type_id=ticket(biocom_event, "non_member").id
    )
    registering.register(to_ucsd, ucsd_event, ticket_type_id=ticket(ucsd_event, "non_member").id)
    # Not counted: LINK-J's own members at LINK-J's event, and a cancelled registration.
    registering.register(
        member_of("link-j"), linkj_event, ticket_type_id=ticket(linkj_event, "linkj_member").id
    )
    leaver = member_of("biocom")
    gone = registering.register(
        leaver, linkj_event, ticket_type_id=ticket(linkj_event, "partner_member").id
    )
    leaving.cancel_registration(gone, actor=leaver)

    assert _biocom_rows() == {("link-j", "biocom"): 2, ("biocom", "link-j"): 2}

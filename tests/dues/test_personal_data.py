"""A member's applications, plans and dues in their data export, and gone with their account;
an open dues invoice can no longer be paid (rule 14)."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts.models import Person
from portal.accounts.services import delete_account, export_personal_data
from portal.dues.models import DuesCharge, DuesPlan, MemberPlan, MembershipApplication
from portal.extensions import db
from portal.payments.models import Payment
from tests.dues.applications import CORPORATE_NUMBER, approved
from tests.factories import PASSWORD, add_person


def test_export_names_the_application_and_the_dues(
    dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    person = add_person("rep@nihonbashi-bio.example")
    approved(person, dues_plans["A"], staff)

    export = export_personal_data(person)

    application = export["membership_applications"][0]
    assert application["corporate_number"] == CORPORATE_NUMBER
    assert application["terms_version"] == 1
    assert export["linkj_memberships"][0]["dues"][0]["kind"] == "joining"


def test_deleting_the_account_erases_applications_and_closes_the_open_invoice(
    dues_plans: dict[str, DuesPlan], staff: Person
) -> None:
    person = add_person("rep@nihonbashi-bio.example")
    approved(person, dues_plans["A"], staff)

    delete_account(person, password=PASSWORD)

    for model in (MembershipApplication, MemberPlan, DuesCharge):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    payment = db.session.scalar(select(Payment))
    assert payment.status == "expired" and payment.person_id is None

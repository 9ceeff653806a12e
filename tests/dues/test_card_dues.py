"""An individual member pays by card against localstripe, webhook and all (rule 6)."""

from __future__ import annotations

from collections.abc import Callable

import stripe
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Person
from portal.dues.fiscal import fiscal_year_end, fiscal_year_of
from portal.dues.models import DuesCharge, DuesPlan, MemberPlan
from portal.extensions import db
from portal.payments.models import Payment
from portal.payments.states import tokyo_today
from tests.dues.applications import approved
from tests.factories import add_person
from tests.payments.stripe_helpers import wait_for_status
from tests.roles import login


def test_card_payment_by_webhook_makes_the_individual_member_verified(
    client: FlaskClient,
    dues_plans: dict[str, DuesPlan],
    staff: Person,
    webhooks: str,  # noqa: F811
    pay_with_card: Callable[..., None],  # noqa: F811
    stripe_client: stripe.StripeClient,  # noqa: F811
) -> None:
    person = add_person("hanako@u.example")
    approved(person, dues_plans["C"], staff)
    charge = db.session.scalar(select(DuesCharge))
    assert charge.amount == 33_000  # plan C: no initial fee, the full year whenever joined
    login(client, person)

    page = client.post(f"/membership/charges/{charge.id}/card")

    assert page.status_code == 200 and "card-form" in page.text
    payment = db.session.scalar(select(Payment).where(Payment.purpose == "dues"))
    intent = stripe_client.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    assert (intent.amount, intent.currency) == (33_000, "jpy")
    assert intent.metadata["purpose"] == "dues"
    pay_with_card(intent.id)

    assert wait_for_status(payment, "paid") == "paid"
    db.session.expire_all()
    member_plan = db.session.scalar(select(MemberPlan))
    assert charge.status == "paid"
    end = fiscal_year_end(fiscal_year_of(tokyo_today()))
    assert member_plan.membership.status == "verified"
    assert member_plan.membership.valid_until == end
    assert member_plan.membership.kind == "individual"
    assert (
        "Thank you"
        in client.get(f"/membership/charges/{charge.id}/return", follow_redirects=True).text
    )
    receipt = client.get(f"/payments/receipts/{payment.id}.pdf")
    assert receipt.mimetype == "application/pdf"


def test_card_payment_of_another_members_charge_is_not_found(
    client: FlaskClient,
    dues_plans: dict[str, DuesPlan],
    staff: Person,
    stripe_on: str,  # noqa: F811
) -> None:
    approved(add_person("hanako@u.example"), dues_plans["C"], staff)
    charge = db.session.scalar(select(DuesCharge))
    login(client, add_person("other@u.example"))
    assert client.post(f"/membership/charges/{charge.id}/card").status_code == 404
    assert db.session.scalar(select(Payment.id)) is None

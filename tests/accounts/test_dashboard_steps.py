"""What the dashboard asks of the person from their own account (accounts' steps)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from portal.db import utcnow
from portal.extensions import db
from tests.factories import add_membership, add_person
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network", "no_page_cache")

EN = {"Accept-Language": "en"}


def _dashboard(client: FlaskClient) -> str:
    return client.get("/account", headers=EN).get_data(as_text=True)


def test_a_membership_ending_soon_and_a_missing_affiliation_are_steps(
    client: FlaskClient,
) -> None:
    person = add_person()
    add_membership(person, "biocom", status="verified", valid_until=utcnow().date() + timedelta(20))
    login(client, person)

    html = _dashboard(client)

    assert "What needs you" in html
    assert "Your BIOCOM membership ends on" in html
    assert "Your profile has no affiliation" in html


def test_nothing_needs_a_member_in_good_standing(client: FlaskClient) -> None:
    person = add_person()
    person.affiliation = "Nihonbashi Pharma"
    db.session.commit()
    add_membership(
        person, "link-j", status="verified", valid_until=utcnow().date() + timedelta(300)
    )
    login(client, person)

    html = _dashboard(client)

    assert "Nothing needs you now." in html
    assert "ends on" not in html and "Services open to me" not in html


def test_someone_without_a_live_membership_is_asked_to_claim_one(client: FlaskClient) -> None:
    person = add_person(confirmed=False)
    add_membership(person, "biocom", status="rejected")
    login(client, person)

    html = _dashboard(client)

    assert "Please confirm your email address" in html
    assert "Benefits and member rates open once a membership is verified." in html

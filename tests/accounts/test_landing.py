"""Where a sign-in lands, and that every sign-in (the password, the link confirming an address)
opens a server-side session and passes the second factor of a person who has one."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts import tokens
from portal.accounts.models import LoginSession, Person, Role
from portal.extensions import db
from tests.accounts.test_second_factors import signed_in, with_app
from tests.factories import PASSWORD, add_person, add_role, org
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")


def _password(client: FlaskClient, person: Person) -> str:
    response = client.post("/login", data={"email": person.email, "password": PASSWORD})
    assert response.status_code == 302
    return response.location


def _confirm_link(person: Person) -> str:
    token = tokens.make_token(
        "confirm-email", {"person": person.id, "email": person.email_normalized}
    )
    return f"/confirm/{token}"


def _sessions(person: Person) -> list[LoginSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(LoginSession).where(LoginSession.person_id == person.id)))


def test_a_member_lands_on_the_dashboard_and_a_partner_admin_on_the_overview(
    client: FlaskClient,
) -> None:
    member = add_person()
    admin = add_role(add_person(), Role.PARTNER_ADMIN, org("biocom"))

    assert _password(client, member) == "/account"
    client.post("/logout")
    assert _password(client, admin) == "/admin/"
    # Signed in already: the login page sends the person to their own landing.
    assert client.get("/login").location == "/admin/"


def test_a_partner_admin_with_a_factor_lands_on_the_overview_after_the_factor(
    client: FlaskClient,
) -> None:
    admin = add_role(add_person(), Role.PARTNER_ADMIN, org("biocom"))
    totp = with_app(admin)

    assert urlsplit(_password(client, admin)).path == "/login/second-factor"
    assert not signed_in(client)
    done = client.post("/login/second-factor", data={"kind": "app", "code": totp.now()})

    assert done.location == "/admin/"
    assert [s.held_for for s in _sessions(admin)] == [None]
    # The sign-in passed the factor: the management pages need no confirmation (rule 17).
    assert client.get("/admin/").status_code == 200


def test_confirming_the_address_signs_in_with_a_session_of_its_own(client: FlaskClient) -> None:
    person = add_person(confirmed=False)

    response = client.post(_confirm_link(person))

    assert response.status_code == 302 and response.location == "/account"
    assert signed_in(client)
    (session,) = _sessions(person)
    assert session.held_for is None and session.ended_at is None


def test_confirming_the_address_of_a_person_with_a_factor_asks_for_the_factor(
    client: FlaskClient,
) -> None:
    staff = add_role(add_person(confirmed=False), Role.STAFF)
    totp = with_app(staff)

    response = client.post(_confirm_link(staff))

    assert urlsplit(response.location).path == "/login/second-factor"
    assert not signed_in(client)
    assert [s.held_for for s in _sessions(staff)] == ["second_factor"]
    done = client.post("/login/second-factor", data={"kind": "app", "code": totp.now()})
    assert done.location == "/admin/"
    assert signed_in(client)


def test_confirming_in_a_browser_where_someone_else_is_signed_in_ends_their_session(
    client: FlaskClient,
) -> None:
    other = add_person()
    login(client, other)
    person = add_person(confirmed=False)

    response = client.post(_confirm_link(person))

    assert response.location == "/account"
    assert [s.ended_at is not None for s in _sessions(other)] == [True]
    assert [s.ended_at is None for s in _sessions(person)] == [True]

"""``portal users …`` and ``portal memberships expire``: the services, from the server's shell.

The command line acts with no request and no signed-in actor (``actor=None``): refusals must
still end with a non-zero exit and a one-line reason, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from portal.accounts import passwords, services
from portal.accounts.memberships import today
from portal.accounts.models import Membership, Person, Role, RoleGrant
from portal.accounts.sessions import load_person_for_session
from portal.extensions import db
from tests.factories import PASSWORD, audit, count, org, session_id_for

pytestmark = pytest.mark.usefixtures("network")

ADMIN_PASSWORD = "Life-Science-Innovation-190"


@pytest.fixture
def cli(app: Flask) -> Iterator[Callable[..., Result]]:
    """Run ``portal ARGS…`` as an operator would: in an app context of its own."""
    runner: FlaskCliRunner = app.test_cli_runner()

    def run(*args: str) -> Result:
        with app.app_context():  # a fresh context, like a new `portal` process
            result = runner.invoke(args=list(args))
        db.session.expire_all()  # the command committed in its own session
        return result

    yield run


def assert_refused(result: Result, message: str) -> None:
    """Exit status 1 with the reason; no exception escaped the command (no traceback)."""
    assert isinstance(result.exception, SystemExit), f"the command crashed: {result.exception!r}"
    assert result.exit_code == 1
    assert message in result.output


def test_create_admin_makes_a_confirmed_admin_account(cli: Callable[..., Result]) -> None:
    result = cli("users", "create-admin", "Root@Link-J.org", "--password", ADMIN_PASSWORD)

    assert result.exit_code == 0, result.output
    assert "Root@link-j.org is an admin." in result.output
    person = services.find_person_by_email("root@link-j.org")
    assert person is not None
    assert person.is_admin and person.email_confirmed
    assert passwords.verify_password(person.password_hash, ADMIN_PASSWORD)
    [entry] = audit("role.grant")
    assert (entry.actor_id, entry.subject_id) == (None, person.id)


def test_create_admin_gives_an_existing_account_the_role_and_keeps_its_password(
    cli: Callable[..., Result], make_person: Callable[..., Person]
) -> None:
    person = make_person("ops@link-j.org")

    result = cli("users", "create-admin", "ops@link-j.org", "--password", ADMIN_PASSWORD)

    assert result.exit_code == 0, result.output
    db.session.refresh(person)
    assert person.is_admin
    assert passwords.verify_password(person.password_hash, PASSWORD)
    assert count(Person) == 1


def test_create_admin_refuses_a_weak_password(cli: Callable[..., Result]) -> None:
    result = cli("users", "create-admin", "root@link-j.org", "--password", "password123")

    assert_refused(result, "most common")
    assert count(Person) == 0


def test_grant_makes_someone_partner_admin_of_biocom(
    cli: Callable[..., Result], make_person: Callable[..., Person]
) -> None:
    person = make_person("office@biocom.example.org")

    result = cli("users", "grant", "partner_admin", "office@biocom.example.org", "--org", "biocom")

    assert result.exit_code == 0, result.output
    assert "office@biocom.example.org is now partner_admin of biocom." in result.output
    db.session.refresh(person)
    assert person.has_role(Role.PARTNER_ADMIN, org("biocom").id)
    [entry] = audit("role.grant")
    assert (entry.actor_id, entry.reason) == (None, "command line")


def test_grant_to_an_unknown_organization_is_refused(
    cli: Callable[..., Result], make_person: Callable[..., Person]
) -> None:
    make_person("office@biocom.example.org")

    result = cli("users", "grant", "partner_admin", "office@biocom.example.org", "--org", "nope")

    assert_refused(result, "no organization with the slug nope")
    assert count(RoleGrant) == 0


def test_grant_to_an_unknown_address_is_refused(cli: Callable[..., Result]) -> None:
    result = cli("users", "grant", "staff", "nobody@link-j.org")

    assert_refused(result, "no account with the address nobody@link-j.org")
    assert count(RoleGrant) == 0


def test_grant_of_an_unknown_role_is_refused(
    cli: Callable[..., Result], make_person: Callable[..., Person]
) -> None:
    make_person("ops@link-j.org")

    result = cli("users", "grant", "superuser", "ops@link-j.org")

    assert result.exit_code == 2
    assert "superuser" in result.output
    assert count(RoleGrant) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("partner_admin", "ops@link-j.org"), "Choose the organization"),
        (("partner_admin", "ops@link-j.org", "--org", "link-j"), "grant the staff role"),
        (("staff", "ops@link-j.org", "--org", "biocom"), "Only partner admins"),
    ],
)
def test_grant_the_service_refuses_says_why_in_one_line(
    cli: Callable[..., Result],
    make_person: Callable[..., Person],
    args: tuple[str, ...],
    message: str,
) -> None:
    make_person("ops@link-j.org")

    result = cli("users", "grant", *args)

    assert_refused(result, message)
    assert count(RoleGrant) == 0


def test_revoke_removes_the_role_and_ends_sessions(
    cli: Callable[..., Result], partner_admin: Callable[[str], Person]
) -> None:
    person = partner_admin("ucsd")
    session_before = session_id_for(person)

    result = cli("users", "revoke", "partner_admin", person.email)

    assert result.exit_code == 0, result.output
    assert f"{person.email} is no longer partner_admin." in result.output
    assert count(RoleGrant) == 0
    assert load_person_for_session(session_before) is None
    assert audit("role.revoke")[0].organization_id == org("ucsd").id


def test_revoke_of_a_role_not_held_is_refused(
    cli: Callable[..., Result], make_person: Callable[..., Person]
) -> None:
    make_person("ops@link-j.org")

    result = cli("users", "revoke", "staff", "ops@link-j.org")

    assert_refused(result, "does not have this role")


def test_revoke_for_an_unknown_address_is_refused(cli: Callable[..., Result]) -> None:
    result = cli("users", "revoke", "staff", "nobody@link-j.org")

    assert_refused(result, "no account with the address nobody@link-j.org")


def test_memberships_expire_marks_ended_memberships_expired(
    cli: Callable[..., Result],
    make_person: Callable[..., Person],
    make_membership: Callable[..., Membership],
) -> None:
    # BIOCOM's own date: its memberships end at its midnight, hours after UTC's.
    san_diego = today(org("biocom"))
    ended = make_membership(
        make_person(), "biocom", status="verified", valid_until=san_diego - timedelta(days=1)
    )
    current = make_membership(make_person(), "biocom", status="verified", valid_until=san_diego)

    result = cli("memberships", "expire")

    assert result.exit_code == 0, result.output
    assert "1 memberships expired." in result.output
    db.session.refresh(ended)
    db.session.refresh(current)
    assert (ended.status, current.status) == ("expired", "verified")

"""The signed-in person as the session's loader reads them on every signed-in request: their
memberships with those organizations' MOUs in one statement, and their roles and the companies
whose seats they manage only when they have some (few people do)."""

from __future__ import annotations

from portal.accounts.models import Company, Person, Role
from portal.accounts.sessions import load_person_for_session
from portal.extensions import db
from tests.factories import (
    add_person,
    add_role,
    member_of,
    org,
    recorded_statements,
    session_id_for,
)


def _load_afresh(session_id: str) -> tuple[Person, list[str]]:
    """The person as a new request's loader finds them, and the statements it took."""
    db.session.remove()
    with recorded_statements() as statements:
        person = load_person_for_session(session_id)
    assert person is not None
    return person, statements


def test_a_member_with_no_roles_and_no_company_is_read_in_one_statement(network: None) -> None:
    member = member_of("biocom")
    person, statements = _load_afresh(session_id_for(member))

    with recorded_statements() as later:
        roles = list(person.role_grants)
        companies = list(person.companies_contacted)
        mous = [a.slug for m in person.memberships for a in m.organization.agreements_as_partner]

    assert len(statements) == 1, statements
    assert (roles, companies, later) == ([], [], [])
    # Asked whether there are any, not joined: each joined collection costs every request.
    assert "JOIN role_grant" not in statements[0]
    assert "primary_contact_id = person.id" not in statements[0].split("WHERE")[0]
    assert mous == ["link-j-biocom-2016"]


def test_roles_come_with_one_more_statement_for_those_who_hold_some(network: None) -> None:
    admin = add_role(member_of("biocom", "admin@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    person, statements = _load_afresh(session_id_for(admin))

    with recorded_statements() as later:
        roles = [(g.role, g.organization and g.organization.slug) for g in person.role_grants]

    assert len(statements) == 2, statements
    assert roles == [("partner_admin", "biocom")]
    assert later == []


def test_a_role_granted_counts_from_the_next_request(network: None) -> None:
    person = add_person("staff@link-j.org")
    session_id = session_id_for(person)
    assert _load_afresh(session_id)[0].role_grants == []

    add_role(person, Role.STAFF)

    assert [g.role for g in _load_afresh(session_id)[0].role_grants] == ["staff"]


def test_the_companies_a_contact_manages_are_read_when_asked(network: None) -> None:
    contact = add_person("seats@takeda.example")
    company = Company(
        organization_id=org("link-j").id,
        name="Takeda Example",
        email_domain="takeda.example",
        primary_contact_id=contact.id,
    )
    db.session.add(company)
    db.session.commit()
    person, statements = _load_afresh(session_id_for(contact))

    with recorded_statements() as later:
        managed = [c.name for c in person.companies_contacted]

    assert len(statements) == 1, statements
    assert managed == ["Takeda Example"]
    assert len(later) == 1

"""The people of the admin stories: members, partner admins of BIOCOM and UCSD, staff, an admin.

People are built straight from the models, without passwords (hashing would make the
role matrix slow), and logged in by writing Flask-Login's session.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from portal.accounts.models import (
    EmailDomainRule,
    LoginSession,
    Membership,
    MembershipKind,
    MembershipStatus,
    Person,
    Role,
    VerificationSource,
)
from portal.accounts.services import grant_role
from portal.accounts.sessions import token_hash
from portal.db import utcnow
from portal.extensions import db
from portal.organizations.models import Organization


def organization(slug: str) -> Organization:
    found = db.session.scalar(select(Organization).where(Organization.slug == slug))
    assert found is not None, slug
    return found


def make_person(
    email: str,
    family_name: str,
    given_name: str,
    *,
    confirmed: bool = True,
    family_name_kana: str = "",
    given_name_kana: str = "",
    affiliation: str = "",
) -> Person:
    person = Person(
        email=email,
        email_normalized=email.lower(),
        email_confirmed_at=utcnow() if confirmed else None,
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        affiliation=affiliation,
        preferred_locale="en",
    )
    db.session.add(person)
    db.session.commit()
    return person


def make_membership(
    person: Person,
    org: Organization,
    *,
    status: MembershipStatus = MembershipStatus.PENDING,
    member_number: str | None = None,
    valid_until: date | None = None,
) -> Membership:
    membership = Membership(
        person=person,
        organization=org,
        kind=MembershipKind.INDIVIDUAL.value,
        member_number=member_number,
        status=status.value,
    )
    if status == MembershipStatus.VERIFIED:
        membership.valid_until = valid_until or utcnow().date() + timedelta(days=300)
        membership.verified_via = VerificationSource.MANUAL.value
        membership.decided_at = utcnow()
    db.session.add(membership)
    db.session.commit()
    return membership


def session_id_for(person: Person, *, remember: bool = False) -> str:
    """What a session cookie (or a "remember me" cookie) of a new session of ``person`` names:
    a session record of their own (rule 15), written around the sign-in service (no audit
    entry)."""
    secret = secrets.token_urlsafe(16)
    db.session.add(
        LoginSession(person_id=person.id, token_hash=token_hash(secret), remember=remember)
    )
    db.session.commit()
    person.login_session_key = secret
    return person.get_id()


def login(client: FlaskClient, person: Person | None) -> None:
    """Sign the client in as ``person`` (None: stay anonymous) with a new session record."""
    if person is None:
        return
    session_id = session_id_for(person)
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


@dataclass
class Cast:
    hub: Organization
    biocom: Organization
    ucsd: Organization
    #: Has a pending BIOCOM claim; the record most actions target.
    claimant: Person
    pending: Membership
    #: A verified BIOCOM member, target of revocation.
    verified_member: Person
    verified: Membership
    #: Logged in, with a BIOCOM claim still pending.
    unverified_member: Person
    biocom_admin: Person
    ucsd_admin: Person
    staff: Person
    admin: Person
    #: A second staff member, whose role the admin removes.
    colleague: Person
    #: Has an account at a company's domain, to become a corporate member's primary contact.
    company_contact: Person
    #: BIOCOM's email-domain rule.
    rule: EmailDomainRule

    def by_role(self, role: str) -> Person | None:
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def cast(network: None) -> Cast:
    hub, biocom, ucsd = organization("link-j"), organization("biocom"), organization("ucsd")

    claimant = make_person(
        "hanako.sato@biocom-member.org",
        "佐藤",
        "花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        affiliation="Sato Therapeutics",
    )
    claimant.romanized_name = "Hanako Sato"
    pending = make_membership(claimant, biocom, member_number="B-1001")

    verified_member = make_person("jane.doe@example.edu", "Doe", "Jane", affiliation="UCSD Lab")
    verified = make_membership(verified_member, biocom, status=MembershipStatus.VERIFIED)

    unverified_member = make_person("wait.ing@example.com", "Ing", "Wait")
    make_membership(unverified_member, biocom)

    biocom_admin = make_person("admin@biocom.org", "Admin", "Biocom")
    ucsd_admin = make_person("admin@ucsd.edu", "Admin", "Ucsd")
    staff = make_person("staff@link-j.org", "鈴木", "一郎")
    admin = make_person("root@link-j.org", "Root", "Admin")
    colleague = make_person("colleague@link-j.org", "Colleague", "Staff")
    company_contact = make_person("kenji@acme-pharma.co.jp", "田中", "健二")

    grant_role(biocom_admin, Role.PARTNER_ADMIN, actor=None, organization=biocom)
    grant_role(ucsd_admin, Role.PARTNER_ADMIN, actor=None, organization=ucsd)
    grant_role(staff, Role.STAFF, actor=None)
    grant_role(admin, Role.ADMIN, actor=None)
    grant_role(colleague, Role.STAFF, actor=None)

    rule = EmailDomainRule(organization_id=biocom.id, domain="biocom-staff.org", note="staff")
    db.session.add(rule)
    db.session.commit()

    return Cast(
        hub=hub,
        biocom=biocom,
        ucsd=ucsd,
        claimant=claimant,
        pending=pending,
        verified_member=verified_member,
        verified=verified,
        unverified_member=unverified_member,
        biocom_admin=biocom_admin,
        ucsd_admin=ucsd_admin,
        staff=staff,
        admin=admin,
        colleague=colleague,
        company_contact=company_contact,
        rule=rule,
    )


# --- the role matrix ------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One page or POST action of the management pages, aimed at BIOCOM's records."""

    name: str
    method: str
    url: Callable[[Cast], str]
    data: Callable[[Cast], dict[str, Any]] = field(default=lambda c: {})
    #: For POSTs: whether the action's change is in the database (it must be when allowed,
    #: and must not be when refused).
    done: Callable[[Cast], bool] | None = None
    multipart: bool = False


def check_outcome(client: FlaskClient, cast: Cast, action: Action, expected: str | int) -> None:
    """Take the action as the signed-in client and check the answer: "login" (redirected to
    sign in), "allowed" (200 for a page, done and redirected for a POST) or a status code."""
    if action.method == "GET":
        response = client.get(action.url(cast), headers={"Accept-Language": "en"})
    else:
        response = client.post(
            action.url(cast),
            data=action.data(cast),
            headers={"Accept-Language": "en"},
            content_type="multipart/form-data" if action.multipart else None,
        )

    if expected == "login":
        assert response.status_code == 302
        assert urlsplit(response.location).path == "/login"
    elif expected == "allowed" and action.method == "GET":
        assert response.status_code == 200
    elif expected == "allowed":
        assert response.status_code == 302, _text(response)
        assert urlsplit(response.location).path.startswith("/admin/")
    else:
        assert response.status_code == expected
    if action.done is not None:
        assert action.done(cast) is (expected == "allowed")


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)

"""Factories for people, roles and memberships, and helpers to read what a service left behind.

Factories write rows straight to the database, around the services: they queue no mail and
write no audit entry, so a test's assertions on OutboxMessage and AuditEntry rows see only
what the service under test did. Every factory needs the seeded network (``network``).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from portal.accounts import passwords
from portal.accounts.consents import STATEMENT_VERSION
from portal.accounts.models import (
    CrossBorderConsent,
    Membership,
    MembershipStatus,
    Person,
    Role,
    RoleGrant,
)
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Organization
from tests.admin.conftest import cast  # noqa: F401 - the role-matrix cast of the management tests

#: The password every factory-made person has unless a test gives another.
PASSWORD = "Nihonbashi-honcho-2-3-11"

_numbers = itertools.count(1)


@functools.cache
def _password_hash(password: str) -> str:
    # Argon2id costs tens of milliseconds by design: hash each test password once per run.
    return passwords.hash_password(password)


def org(slug: str) -> Organization:
    """A seeded organization by slug (``link-j``, ``biocom``, ``ucsd``…)."""
    organization = db.session.scalar(select(Organization).where(Organization.slug == slug))
    assert organization is not None, f"no organization {slug!r}: use the network fixture"
    return organization


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    """Queued and sent messages, oldest first; only those of one template when ``kind``."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def audit(action: str | None = None) -> list[AuditEntry]:
    """Audit entries, oldest first; only those of one action when ``action``."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def link_token(message: OutboxMessage) -> str:
    """The token at the end of the first portal link in a mail (the one the person follows)."""
    match = re.search(r"https?://\S+/([A-Za-z0-9_\-.]{20,})(?:\s|$)", message.body_text)
    assert match, f"no link with a token in:\n{message.body_text}"
    return match.group(1)


def add_person(
    email: str | None = None,
    *,
    confirmed: bool = True,
    password: str = PASSWORD,
    family_name: str = "山田",
    given_name: str = "太郎",
    locale: str | None = "en",
) -> Person:
    """A person, committed; confirmed unless told otherwise."""
    email = email or f"person{next(_numbers)}@example.jp"
    person = Person(
        email=email,
        email_normalized=email.lower(),
        password_hash=_password_hash(password),
        family_name=family_name,
        given_name=given_name,
        preferred_locale=locale,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(person)
    db.session.commit()
    return person


def add_membership(
    person: Person,
    slug: str,
    *,
    status: MembershipStatus | str = MembershipStatus.PENDING,
    valid_until: date | None = None,
    member_number: str | None = None,
) -> Membership:
    """A membership of ``person`` in the organization ``slug``, committed."""
    membership = Membership(
        person=person,
        organization=org(slug),
        status=MembershipStatus(status).value,
        valid_until=valid_until,
        member_number=member_number,
    )
    db.session.add(membership)
    db.session.commit()
    return membership


def add_role(person: Person, role: Role, organization: Organization | None = None) -> Person:
    db.session.add(
        RoleGrant(
            person=person,
            role=role.value,
            organization_id=organization.id if organization else None,
        )
    )
    db.session.commit()
    return person


def add_consent(person: Person, *slugs: str) -> list[CrossBorderConsent]:
    """The person has agreed that their data may go to these organizations abroad."""
    consents = [
        CrossBorderConsent(
            person_id=person.id, organization_id=org(slug).id, statement_version=STATEMENT_VERSION
        )
        for slug in slugs
    ]
    db.session.add_all(consents)
    db.session.commit()
    return consents


@pytest.fixture
def english() -> Iterator[None]:
    """Services called as a page calls them: with the viewer's language chosen (English)."""
    with force_locale("en"):
        yield


@pytest.fixture
def make_person(network: None) -> Callable[..., Person]:
    """``make_person(email=None, *, confirmed=True, password=PASSWORD, …)``."""
    return add_person


@pytest.fixture
def make_membership(network: None) -> Callable[..., Membership]:
    """``make_membership(person, "biocom", status="pending", valid_until=None, …)``."""
    return add_membership


@pytest.fixture
def partner_admin(network: None) -> Callable[[str], Person]:
    """``partner_admin("biocom")``: a confirmed person acting for that one partner."""

    def make(slug: str) -> Person:
        person = add_person(f"admin{next(_numbers)}@{slug}.example.org")
        return add_role(person, Role.PARTNER_ADMIN, org(slug))

    return make


@pytest.fixture
def staff(network: None) -> Person:
    """A member of the LINK-J secretariat."""
    return add_role(add_person("secretariat@link-j.org"), Role.STAFF)


@pytest.fixture
def admin(network: None) -> Person:
    """The portal's technical superuser."""
    return add_role(add_person("admin@link-j.org"), Role.ADMIN)


@contextmanager
def links_signed_ago(age: timedelta) -> Iterator[None]:
    """Tokens made inside this block carry a timestamp ``age`` in the past (time travel)."""
    original = TimestampSigner.get_timestamp
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            TimestampSigner,
            "get_timestamp",
            lambda signer: original(signer) - int(age.total_seconds()),
        )
        yield

"""The one family of test factories, and the helpers that read what a service left behind.

Factories write rows straight to the database, around the services: they queue no mail and
write no audit entry, so a test's assertions on OutboxMessage and AuditEntry rows see only
what the service under test did. Every factory needs the seeded network (``network``).
Fixtures in the conftest files are thin wrappers over these functions.
"""

from __future__ import annotations

import functools
import itertools
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous.timed import TimestampSigner
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from portal.accounts import passwords
from portal.accounts.consents import STATEMENT_VERSION
from portal.accounts.memberships import today
from portal.accounts.models import (
    CrossBorderConsent,
    LoginSession,
    Membership,
    MembershipKind,
    MembershipStatus,
    Person,
    Role,
    RoleGrant,
    VerificationSource,
)
from portal.accounts.sessions import token_hash
from portal.audit.models import AuditEntry
from portal.benefits.eligibility import claim_period
from portal.benefits.models import COUNTED_STATES, BenefitClaim, BenefitCode, ClaimStatus
from portal.db import utcnow
from portal.events.models import (
    Audience,
    Event,
    EventStatus,
    Question,
    Registration,
    TicketType,
    Visibility,
)
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Agreement, Organization, ReciprocalService

#: The password every factory-made person has unless a test gives another.
PASSWORD = "Nihonbashi-honcho-2-3-11"
#: LINK-J's partners abroad, to whom a LINK-J member's data goes only with consent (rule 14).
PARTNERS_ABROAD = ("ucsd", "biocom", "eurobiomed", "one-nucleus")

_numbers = itertools.count(1)
_slugs = itertools.count(1)


# --- reading what happened ----------------------------------------------------------------------


def org(slug: str) -> Organization:
    """A seeded organization by slug (``link-j``, ``biocom``, ``ucsd``…)."""
    organization = db.session.scalar(select(Organization).where(Organization.slug == slug))
    assert organization is not None, f"no organization {slug!r}: use the network fixture"
    return organization


def agreement(slug: str) -> Agreement:
    """A seeded MOU by slug (``link-j-biocom-2016``…)."""
    found = db.session.scalar(select(Agreement).where(Agreement.slug == slug))
    assert found is not None, slug
    return found


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


def fresh(record: Any) -> Any:
    """The record as the database has it now, not as this session last saw it."""
    db.session.expire_all()
    return db.session.get(type(record), record.id)


def link_token(message: OutboxMessage) -> str:
    """The token at the end of the first portal link in a mail (the one the person follows)."""
    match = re.search(r"https?://\S+/([A-Za-z0-9_\-.]{20,})(?:\s|$)", message.body_text)
    assert match, f"no link with a token in:\n{message.body_text}"
    return match.group(1)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


# --- people, roles and memberships --------------------------------------------------------------


@functools.cache
def _password_hash(password: str) -> str:
    # Each test password is hashed once per run, whatever the cost the tests configure.
    return passwords.hash_password(password)


def add_person(
    email: str | None = None,
    *,
    family_name: str = "山田",
    given_name: str = "太郎",
    confirmed: bool = True,
    password: str = PASSWORD,
    locale: str | None = "en",
    family_name_kana: str = "",
    given_name_kana: str = "",
    affiliation: str = "",
) -> Person:
    """A person, committed; confirmed unless told otherwise."""
    email = email or f"person{next(_numbers)}@example.jp"
    person = Person(
        email=email,
        email_normalized=email.lower(),
        password_hash=_password_hash(password),
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        affiliation=affiliation,
        preferred_locale=locale,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(person)
    db.session.commit()
    return person


def add_membership(
    person: Person,
    organization: Organization | str,
    *,
    status: MembershipStatus | str = MembershipStatus.PENDING,
    valid_until: date | None = None,
    member_number: str | None = None,
    verified_via: VerificationSource | None = None,
) -> Membership:
    """A membership of ``person`` in ``organization`` (or its slug), committed.

    A verified one without ``valid_until`` runs 300 days; ``verified_via`` records how it was
    decided (and when: now).
    """
    status = MembershipStatus(status)
    if status == MembershipStatus.VERIFIED and valid_until is None:
        valid_until = utcnow().date() + timedelta(days=300)
    membership = Membership(
        person=person,
        organization=org(organization) if isinstance(organization, str) else organization,
        kind=MembershipKind.INDIVIDUAL.value,
        status=status.value,
        valid_until=valid_until,
        member_number=member_number,
        verified_via=verified_via.value if verified_via else None,
        decided_at=utcnow() if verified_via else None,
    )
    db.session.add(membership)
    db.session.commit()
    return membership


def add_role(person: Person, role: Role, organization: Organization | None = None) -> Person:
    """``person`` holds ``role`` (of ``organization`` for a partner admin), committed."""
    db.session.add(
        RoleGrant(
            person_id=person.id,
            role=role.value,
            organization_id=organization.id if organization else None,
        )
    )
    db.session.commit()
    return person


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


def member_of(slug: str, email: str | None = None) -> Person:
    """A confirmed person with a verified membership of that organization."""
    person = add_person(email)
    add_membership(
        person, slug, status="verified", valid_until=utcnow().date() + timedelta(days=300)
    )
    db.session.refresh(person)
    return person


def add_member(
    slug: str,
    *,
    email: str | None = None,
    status: MembershipStatus = MembershipStatus.VERIFIED,
    valid_until: date | None = None,
    family_name: str = "山田",
    given_name: str = "太郎",
) -> tuple[Person, Membership]:
    """A member of the benefit stories and their membership, with a member number; a LINK-J
    member has agreed to their data going to the partners abroad (the stories are about
    claims, not consent: tests/accounts/test_consents.py)."""
    person = add_person(
        email or f"member{next(_numbers)}@{slug}.example",
        family_name=family_name,
        given_name=given_name,
    )
    membership = Membership(
        person=person,
        organization=org(slug),
        status=status.value,
        valid_until=valid_until
        or (
            today(org(slug)) + timedelta(days=300) if status == MembershipStatus.VERIFIED else None
        ),
        member_number=f"M-{next(_numbers)}",
    )
    db.session.add(membership)
    db.session.commit()
    if slug == "link-j":
        add_consent(person, *PARTNERS_ABROAD)
    return person, membership


@contextmanager
def another_portal(app: Flask, **settings: Any) -> Iterator[Flask]:
    """A second portal on the test's database with these settings (its own engine and pool),
    its connections closed afterwards rather than left to the garbage collector."""
    from portal import create_app

    other = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
        | settings
    )
    try:
        yield other
    finally:
        with other.app_context():
            db.engine.dispose()


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


# --- benefits -----------------------------------------------------------------------------------


def add_service(agreement_slug: str, provider_slug: str, **terms: Any) -> ReciprocalService:
    """A claimable service of the MOU, provided by ``provider_slug``, committed."""
    mou = agreement(agreement_slug)
    provider = org(provider_slug)
    beneficiary_id = mou.partner_id if provider.id == mou.hub_id else mou.hub_id
    values: dict[str, Any] = {
        "category": "member_services",
        "title_en": f"Service {next(_numbers)}",
        "title_ja": "",
        "claimable": True,
    }
    values.update(terms)
    service = ReciprocalService(
        agreement_id=mou.id, provider_id=provider.id, beneficiary_id=beneficiary_id, **values
    )
    db.session.add(service)
    db.session.commit()
    return service


def add_codes(service: ReciprocalService, *codes: str) -> list[BenefitCode]:
    rows = [BenefitCode(service_id=service.id, code=code) for code in codes]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def add_claim(
    person: Person,
    service: ReciprocalService,
    *,
    status: ClaimStatus = ClaimStatus.REQUESTED,
    created_at: Any = None,
    decided_by: Person | None = None,
    code: str | None = None,
) -> BenefitClaim:
    created_at = created_at or utcnow()
    period = claim_period(service, created_at)
    # The lowest place of the period that no live claim of the person holds, as a claim
    # would take it.
    taken = set(
        db.session.scalars(
            select(BenefitClaim.slot).where(
                BenefitClaim.person_id == person.id,
                BenefitClaim.service_id == service.id,
                BenefitClaim.period == period,
                BenefitClaim.status.in_([s.value for s in COUNTED_STATES]),
            )
        )
    )
    claim = BenefitClaim(
        person_id=person.id,
        service_id=service.id,
        status=status.value,
        period=period,
        slot=next(n for n in range(1, len(taken) + 2) if n not in taken),
        created_at=created_at,
        decided_at=None if status in (ClaimStatus.REQUESTED, ClaimStatus.CANCELLED) else utcnow(),
        decided_by_id=decided_by.id if decided_by else None,
        decision_note="Not this year." if status == ClaimStatus.REJECTED else "",
        code=code,
    )
    db.session.add(claim)
    db.session.commit()
    return claim


# --- events -------------------------------------------------------------------------------------


def add_event(
    *,
    host: str = "link-j",
    cohosts: tuple[str, ...] = (),
    agreements: tuple[str, ...] = (),
    capacity: int = 10,
    starts_in: timedelta = timedelta(days=30),
    visibility: str = Visibility.PUBLIC.value,
    requires_approval: bool = False,
    status: str = EventStatus.PUBLISHED.value,
    tickets: tuple[dict[str, Any], ...] | None = None,
    questions: tuple[dict[str, Any], ...] = (),
    timezone: str = "Asia/Tokyo",
    **fields: Any,
) -> Event:
    starts = utcnow().replace(microsecond=0) + starts_in
    event = Event(
        slug=f"event-{next(_slugs)}",
        title_en="Regenerative Medicine Industrialisation Forum",
        title_ja="再生医療産業化フォーラム",
        host=org(host),
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        capacity=capacity,
        visibility=visibility,
        requires_approval=requires_approval,
        status=status,
        timezone=timezone,
        venue_en="Nihonbashi Life Science Hub",
        venue_ja="日本橋ライフサイエンスハブ",
        **fields,
    )
    event.cohosts = [org(slug) for slug in cohosts]
    event.agreements = [agreement(slug) for slug in agreements]
    for position, ticket_ in enumerate(
        tickets
        or (
            {"audience": Audience.LINKJ_MEMBER.value, "price": 0},
            {"audience": Audience.PARTNER_MEMBER.value, "price": 0},
            {"audience": Audience.NON_MEMBER.value, "price": 5000},
        )
    ):
        event.ticket_types.append(
            TicketType(
                name_en=ticket_.get("name_en", ticket_["audience"].replace("_", " ").title()),
                name_ja=ticket_.get("name_ja", ""),
                position=position,
                **{k: v for k, v in ticket_.items() if k not in ("name_en", "name_ja")},
            )
        )
    for position, question in enumerate(questions):
        event.questions.append(Question(position=position, **question))
    db.session.add(event)
    db.session.commit()
    return event


def ticket(event: Event, audience: str) -> TicketType:
    return next(t for t in event.ticket_types if t.audience == audience)


def registrations(event: Event) -> list[Registration]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
        )
    )


def later(minutes: int = 0, **delta: int) -> datetime:
    return utcnow() + timedelta(minutes=minutes, **delta)


# --- the test machinery -------------------------------------------------------------------------


class PortalTestClient(FlaskClient):
    """Serves each request in an app context of its own, as a real server does.

    Without this, requests would reuse the test's long-lived app context and share ``g``
    (the cached locale, the logged-in user) and the database session between requests.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:  # type: ignore[override]
        with self.application.app_context():
            return super().open(*args, **kwargs)


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The SQL statements the database receives inside the block (Indico's ``count_queries``)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sqlalchemy_event.listen(db.engine, "after_cursor_execute", record)
    try:
        yield statements
    finally:
        sqlalchemy_event.remove(db.engine, "after_cursor_execute", record)


@dataclass
class SMTPCapture:
    """A real SMTP server on loopback (aiosmtpd) and the messages it received, parsed."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

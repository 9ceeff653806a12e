"""Keys, callers and a small world for the API's tests: BIOCOM and One Nucleus with admins,
members and a service each. Keys are made by the same service the management page calls."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.accounts.models import Membership, MembershipStatus, Person, Role
from portal.api.keys import create_key
from portal.api.models import Scope
from tests.accounts.conftest import add_membership, add_person, add_role, org

ALL_SCOPES = [scope.value for scope in Scope]


_numbers = itertools.count(1)


def admin_of(slug: str) -> Person:
    person = add_person(f"officer{next(_numbers)}@{slug}.example.org")
    return add_role(person, Role.PARTNER_ADMIN, org(slug))


def key_for(person: Person, slug: str, scopes: list[str] | None = None) -> str:
    return create_key(org(slug), actor=person, name="CRM", scopes=scopes or ALL_SCOPES).secret


@dataclass
class Caller:
    """An HTTP client that sends one API key."""

    client: FlaskClient
    secret: str
    language: str = "en"

    def headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.secret}",
            "Accept-Language": self.language,
            **(extra or {}),
        }

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> TestResponse:
        return self.client.get("/api/v1" + path, headers=self.headers(headers), **kw)

    def post(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> TestResponse:
        return self.client.post(
            "/api/v1" + path, json=json if json is not None else {}, headers=self.headers(headers)
        )

    def put(self, path: str, json: Any, headers: dict[str, str] | None = None) -> TestResponse:
        return self.client.put("/api/v1" + path, json=json, headers=self.headers(headers))


@pytest.fixture
def biocom_admin(network: None) -> Person:
    return admin_of("biocom")


@pytest.fixture
def caller(client: FlaskClient, network: None) -> Callable[..., Caller]:
    """``caller("biocom", scopes=[...])``: a key of that organization's admin."""
    admins: dict[str, Person] = {}

    def make(slug: str = "biocom", scopes: list[str] | None = None) -> Caller:
        if slug not in admins:
            admins[slug] = admin_of(slug)
        return Caller(client, key_for(admins[slug], slug, scopes))

    return make


@pytest.fixture
def pending(network: None) -> Callable[..., Membership]:
    def make(slug: str = "biocom", email: str | None = None) -> Membership:
        person = add_person(email)
        return add_membership(person, slug, status=MembershipStatus.PENDING)

    return make


@dataclass
class World:
    """BIOCOM's records the API tests read and act on."""

    pending: Membership
    verified: Membership
    claim: Any
    service: Any
    event: Any
    registration: Any


@pytest.fixture
def world(network: None) -> World:
    from portal.benefits.models import ClaimStatus
    from portal.events.models import Registration, RegistrationStatus
    from tests.benefits.conftest import add_claim, add_service
    from tests.benefits.conftest import member_of as benefits_member
    from tests.events.conftest import add_event

    pending_ = add_membership(add_person("waiting@biocom.example"), "biocom")
    verified = add_membership(
        add_person("member@biocom.example"), "biocom", status=MembershipStatus.VERIFIED
    )
    service = add_service("link-j-biocom-2016", "biocom", requires_approval=True)
    claimant, _membership = benefits_member("link-j")
    claim = add_claim(claimant, service, status=ClaimStatus.REQUESTED)
    event = add_event(host="biocom")
    registration = Registration(
        event_id=event.id,
        person_id=verified.person_id,
        ticket_type_id=event.ticket_types[1].id,
        status=RegistrationStatus.CONFIRMED.value,
        code="TICKET0001",
    )
    from portal.extensions import db

    db.session.add(registration)
    db.session.commit()
    return World(pending_, verified, claim, service, event, registration)

"""A small world for the API's tests: BIOCOM and One Nucleus with admins, members and a
service each (the keys and callers are in callers.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from portal.accounts.models import Membership, MembershipStatus, Person
from tests.api.callers import Caller, admin_of, key_for
from tests.factories import add_membership, add_person


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
    from tests.factories import add_claim, add_event, add_service
    from tests.factories import add_member as benefits_member

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

"""Fixtures for people, roles and memberships: thin wrappers over tests/factories.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from portal.accounts.models import Membership, Person, Role
from tests.factories import add_membership, add_person, add_role, org

_numbers = itertools.count(1)


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

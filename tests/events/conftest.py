"""Fixtures for events: thin wrappers over tests/factories.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from portal.accounts.models import Person, Role
from portal.events.models import Event
from tests.factories import add_event, add_person, add_role


@pytest.fixture
def make_event(network: None) -> Callable[..., Event]:
    return add_event


@pytest.fixture
def organizer(network: None) -> Person:
    return add_role(add_person("events@link-j.org"), Role.STAFF)

"""Payments' own fixtures; localstripe and the card fixtures are in stripe_fixtures.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.payments.stripe_helpers import StripeOutage


@pytest.fixture
def organizer(network: None) -> Any:
    """A member of the LINK-J secretariat (staff decide refunds and record transfers)."""
    from portal.accounts.models import Role
    from tests.factories import add_person, add_role

    return add_role(add_person("payments@link-j.org"), Role.STAFF)


@pytest.fixture(params=["stopped", "paused"])
def stripe_outage(
    request: pytest.FixtureRequest, app: Flask, stripe_on: str
) -> Iterator[StripeOutage]:
    """Card payments on localstripe, with a 1 s timeout, and an outage the test can begin."""
    keys = ("STRIPE_TIMEOUT_SECONDS", "STRIPE_NETWORK_RETRIES")
    saved = {key: app.config[key] for key in keys}
    app.config.update(STRIPE_TIMEOUT_SECONDS=1.0)
    outage = StripeOutage(app, request.param, stripe_on)
    yield outage
    outage.end()
    app.config.update(saved)

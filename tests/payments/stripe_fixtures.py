"""A real Stripe-compatible server (localstripe) over HTTP, and the fixtures to pay with it.

A plugin (the root conftest names it in ``pytest_plugins``), not a conftest: card payments
of events (tests/payments) and of dues (tests/dues) share one localstripe process a run.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import stripe
from flask import Flask

from tests.payments.stripe_helpers import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    SERVER,
    VISA,
    WEBHOOK_SECRET,
    free_port,
    post_json,
)


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """Base URL of a localstripe process for this test run (nothing saved to disk)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def stripe_on(app: Flask, localstripe: str) -> Iterator[str]:
    """Card payments configured against an emptied localstripe; restored afterwards."""
    post_json(f"{localstripe}/_config/data", method="DELETE")
    # No deliveries unless the test asks for them (``webhooks``): an endpoint registered by an
    # earlier test would otherwise race this test's own deliveries.
    post_json(
        f"{localstripe}/_config/webhooks/portal",
        {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET, "events": []},
    )
    keys = (
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
    )
    saved = {key: app.config[key] for key in keys}
    app.config.update(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe,
    )
    yield localstripe
    app.config.update(saved)


@pytest.fixture
def webhooks(stripe_on: str, live_server: str) -> str:
    """localstripe delivers its signed webhooks to the portal, served for real."""
    post_json(
        f"{stripe_on}/_config/webhooks/portal",
        {"url": f"{live_server}/payments/stripe/webhook", "secret": WEBHOOK_SECRET},
    )
    return live_server


@pytest.fixture
def stripe_client(stripe_on: str) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_on})


@pytest.fixture
def pay_with_card(stripe_client: stripe.StripeClient) -> Callable[..., None]:
    """What Stripe.js does in the payer's browser: attach a card and confirm the intent."""

    def pay(intent_id: str, number: str = VISA) -> None:
        method = stripe_client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        stripe_client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
        stripe_client.v1.payment_intents.confirm(intent_id)

    return pay

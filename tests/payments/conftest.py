"""A real local Stripe-compatible server (localstripe) over HTTP, and helpers to pay with it."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from flask import Flask

from portal.extensions import db
from portal.payments.models import Payment

SERVER = Path(__file__).with_name("localstripe_server.py")
SECRET_KEY = "sk_test_portal"
PUBLISHABLE_KEY = "pk_test_portal"
WEBHOOK_SECRET = "whsec_portal_test"

VISA = "4242424242424242"
DECLINED = "4000000000000341"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """Base URL of a localstripe process for this test run (nothing saved to disk)."""
    port = _free_port()
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


def _post(url: str, data: dict[str, Any] | None = None, method: str = "POST") -> None:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture
def stripe_on(app: Flask, localstripe: str) -> Iterator[str]:
    """Card payments configured against an emptied localstripe; restored afterwards."""
    _post(f"{localstripe}/_config/data", method="DELETE")
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
    _post(
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


def wait_for_status(payment: Payment, *statuses: str, timeout: float = 10.0) -> str:
    """Wait for the webhook (delivered about a second after the action) to move a payment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.refresh(payment)
        if payment.status in statuses:
            return payment.status
        time.sleep(0.1)
    return payment.status


def signed(
    payload: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header, signed as Stripe signs (HMAC-SHA256)."""
    body = json.dumps(payload).encode()
    timestamp = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={digest}"


@pytest.fixture
def organizer(network: None) -> Any:
    """A member of the LINK-J secretariat (staff decide refunds and record transfers)."""
    from portal.accounts.models import Role
    from tests.accounts.conftest import add_person, add_role

    return add_role(add_person("payments@link-j.org"), Role.STAFF)

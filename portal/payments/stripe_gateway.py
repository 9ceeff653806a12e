"""The only module that talks to Stripe (or to a Stripe-compatible server in tests).

Its API base comes from ``STRIPE_API_BASE``, so the same calls reach api.stripe.com in
production and a local ``localstripe`` in tests. Everything the rest of the portal needs
comes back as small frozen records, never as SDK objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from flask import current_app


class GatewayError(Exception):
    """Stripe refused or could not be reached; ``decline`` is set for a declined card."""

    def __init__(self, message: str, *, decline: str | None = None) -> None:
        super().__init__(message)
        self.decline = decline


class InvalidSignature(Exception):
    """A webhook whose signature does not verify with our secret."""


@dataclass(frozen=True)
class Intent:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None
    metadata: dict[str, str]
    failure: str | None = None


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int


def _intent(resource: Any) -> Intent:
    obj = resource.to_dict() if hasattr(resource, "to_dict") else dict(resource)
    error = obj.get("last_payment_error") or None
    return Intent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),
        # JPY and the other zero-decimal currencies already come in their smallest unit.
        currency=str(obj["currency"]).upper(),
        client_secret=obj.get("client_secret"),
        metadata=dict(obj.get("metadata") or {}),
        failure=(error.get("code") or error.get("message")) if error else None,
    )


class StripeGateway:
    def __init__(
        self, secret_key: str, *, api_base: str | None, webhook_secret: str | None
    ) -> None:
        options: dict[str, Any] = {}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self._client = stripe.StripeClient(secret_key, max_network_retries=2, **options)
        self._webhook_secret = webhook_secret

    def create_intent(
        self, *, amount: int, currency: str, registration_id: int, idempotency_key: str
    ) -> Intent:
        """A PaymentIntent for a registration; the same key never charges twice."""
        try:
            obj = self._client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "payment_method_types": ["card"],
                    "metadata": {"registration": str(registration_id)},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayError(str(error.user_message or error)) from error
        return _intent(obj)

    def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            return _intent(self._client.v1.payment_intents.retrieve(intent_id))
        except stripe.StripeError as error:
            raise GatewayError(str(error.user_message or error)) from error

    def refund(self, intent_id: str, amount: int, *, idempotency_key: str) -> RefundResult:
        try:
            obj = self._client.v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayError(str(error.user_message or error)) from error
        return RefundResult(id=obj["id"], status=obj["status"], amount=int(obj["amount"]))

    def construct_event(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The verified event (Stripe's HMAC-SHA256 scheme, 300 s tolerance)."""
        if not self._webhook_secret:
            raise InvalidSignature("no webhook secret is configured")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidSignature(str(error)) from error
        return event.to_dict() if hasattr(event, "to_dict") else dict(event)


def gateway() -> StripeGateway | None:
    """The configured gateway, or None when card payment is off (no STRIPE_SECRET_KEY)."""
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        return None
    return StripeGateway(
        config["STRIPE_SECRET_KEY"],
        api_base=config.get("STRIPE_API_BASE"),
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET"),
    )


def card_payments_enabled() -> bool:
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"))

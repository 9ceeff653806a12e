"""The only module that talks to Stripe (or to a Stripe-compatible server in tests).

Its API base comes from ``STRIPE_API_BASE``, so the same calls reach api.stripe.com in
production and a local ``localstripe`` in tests. Everything the rest of the portal needs
comes back as small frozen records, never as SDK objects, and every failure as a
``GatewayError``: ``GatewayUnavailable`` when Stripe could not be reached or did not answer
within ``STRIPE_TIMEOUT_SECONDS``.

The SDK is imported by the calls that use it, not with the module: it brings requests and
aiohttp, a fifth of a second and several megabytes in every process of the portal, most of
which (a mail worker, a web worker serving event pages) never pay by card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    import stripe


class GatewayError(Exception):
    """Stripe refused or could not be reached; ``decline`` is set for a declined card."""

    def __init__(self, message: str, *, decline: str | None = None) -> None:
        super().__init__(message)
        self.decline = decline


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached, did not answer in time, or failed on its side.

    The message is the SDK's, with internal addresses: for the log, never for a page. Every
    write carries an idempotency key, so trying again later is safe.
    """


def _gateway_error(error: stripe.StripeError) -> GatewayError:
    import stripe

    if isinstance(error, stripe.APIConnectionError | stripe.APIError | stripe.RateLimitError):
        return GatewayUnavailable(str(error))
    return GatewayError(str(error.user_message or error))


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
        self,
        secret_key: str,
        *,
        api_base: str | None,
        webhook_secret: str | None,
        timeout: float,
        retries: int,
    ) -> None:
        import stripe

        options: dict[str, Any] = {}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self._client = stripe.StripeClient(
            secret_key,
            # The SDK's default is 80 s per try: a payer's page would outlive the web worker.
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=retries,
            **options,
        )
        self._webhook_secret = webhook_secret

    def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        idempotency_key: str,
        registration_id: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Intent:
        """A PaymentIntent for a registration (or what ``metadata`` names); the same key never
        charges twice."""
        import stripe

        try:
            obj = self._client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "payment_method_types": ["card"],
                    "metadata": metadata or {"registration": str(registration_id)},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _gateway_error(error) from error
        return _intent(obj)

    def retrieve_intent(self, intent_id: str) -> Intent:
        import stripe

        try:
            return _intent(self._client.v1.payment_intents.retrieve(intent_id))
        except stripe.StripeError as error:
            raise _gateway_error(error) from error

    def refund(self, intent_id: str, amount: int, *, idempotency_key: str) -> RefundResult:
        import stripe

        try:
            obj = self._client.v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _gateway_error(error) from error
        return RefundResult(id=obj["id"], status=obj["status"], amount=int(obj["amount"]))

    def construct_event(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The verified event (Stripe's HMAC-SHA256 scheme, 300 s tolerance)."""
        if not self._webhook_secret:
            raise InvalidSignature("no webhook secret is configured")
        import stripe

        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidSignature(str(error)) from error
        return event.to_dict() if hasattr(event, "to_dict") else dict(event)


def gateway(*, retry: bool = False) -> StripeGateway | None:
    """The configured gateway, or None when card payment is off (no STRIPE_SECRET_KEY).

    Each call gives up after ``STRIPE_TIMEOUT_SECONDS``. Network failures are retried
    (``STRIPE_NETWORK_RETRIES`` times, with the same idempotency key) only with ``retry``:
    for the reconcile job and staff refunds, never while a payer waits or locks are held.
    """
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        return None
    return StripeGateway(
        config["STRIPE_SECRET_KEY"],
        api_base=config.get("STRIPE_API_BASE"),
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET"),
        timeout=float(config.get("STRIPE_TIMEOUT_SECONDS", 5)),
        retries=int(config.get("STRIPE_NETWORK_RETRIES", 2)) if retry else 0,
    )


def card_payments_enabled() -> bool:
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"))

"""The card payment page (Stripe.js's card element), for a seat or any registered purpose."""

from __future__ import annotations

from flask import Response, current_app, render_template

from portal.payments.cards import CardCheckout


def card_page(checkout: CardCheckout, *, description: str, return_url: str) -> Response:
    """The page, with a Content-Security-Policy that lets only it load Stripe.js."""
    stripe_js = current_app.config["STRIPE_JS_URL"]
    response = current_app.make_response(
        render_template(
            "payments/card.html",
            description=description,
            payment=checkout.payment,
            client_secret=checkout.client_secret,
            publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
            stripe_js=stripe_js,
            return_url=return_url,
        )
    )
    origin = "/".join(stripe_js.split("/")[:3])
    # Only this page may load Stripe.js and its card frame; every other page stays self-only.
    response.headers["Content-Security-Policy"] = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {origin}",
            f"frame-src {origin} https://hooks.stripe.com",
            f"connect-src 'self' {origin} https://api.stripe.com",
            "img-src 'self' data: https://*.stripe.com",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    response.headers["Cache-Control"] = "no-store"
    return response

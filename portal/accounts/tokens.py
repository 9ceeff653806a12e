"""Signed, expiring links (email confirmation, password reset, email change, invitations)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.errors import InvalidInput
from portal.language import gettext as _

LIFETIMES = {
    "confirm-email": timedelta(days=2),
    "change-email": timedelta(days=2),
    "reset-password": timedelta(hours=1),
    "invitation": timedelta(days=14),
}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a reset link can never be replayed as a confirmation link.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str) -> dict[str, Any]:
    """The payload of a valid, unexpired token; InvalidInput with a clear message otherwise."""
    try:
        payload = _serializer(purpose).loads(token, max_age=int(LIFETIMES[purpose].total_seconds()))
    except SignatureExpired:
        raise InvalidInput(_("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise InvalidInput(_("This link is not valid. Check that you copied all of it.")) from None
    if not isinstance(payload, dict):
        raise InvalidInput(_("This link is not valid. Check that you copied all of it."))
    return payload

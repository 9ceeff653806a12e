"""Signing a person in, and where each person lands afterwards.

Every path that signs someone in (the login form, the confirmation link, a changed password)
goes through ``sign_in``, so how a session starts is decided in one place.
"""

from __future__ import annotations

from flask import url_for
from flask_login import login_user

from portal.accounts.models import Person


def sign_in(person: Person, *, remember: bool = False) -> None:
    """Start a signed-in session for the person in this browser."""
    login_user(person, remember=remember)


def landing_endpoint(person: Person) -> str:
    """Where the person's work is: staff and partner admins on the administration overview
    (their queues' counts and the claims waiting for them), members on their dashboard."""
    if person.is_staff or person.administered_organization_id:
        return "admin.index"
    return "accounts.dashboard"


def landing_url(person: Person) -> str:
    return url_for(landing_endpoint(person))

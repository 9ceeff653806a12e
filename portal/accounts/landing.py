"""Where each person lands after signing in.

Every sign-in (the login form, the mailed sign-in link, the link confirming an address, and
after a second factor) opens its session through ``signin.sign_in`` and sends the browser here
unless it asked for another page.
"""

from __future__ import annotations

from flask import url_for

from portal.accounts.models import Person


def landing_endpoint(person: Person) -> str:
    """Where the person's work is: staff and partner admins on the administration overview
    (their queues' counts and the claims waiting for them), members on their dashboard."""
    if person.is_staff or person.administered_organization_id:
        return "admin.index"
    return "accounts.dashboard"


def landing_url(person: Person) -> str:
    return url_for(landing_endpoint(person))

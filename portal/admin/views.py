"""Transitional: what the admin modules still being moved to their areas import from here.

The overview and audit log are in ``overview``, the role checks in ``access``; this goes
when ``admin/events.py``, ``admin/benefits.py`` and ``admin/payments.py`` have moved.
"""

from __future__ import annotations

from flask import abort, flash

from portal import pages
from portal.admin.access import require_staff
from portal.admin.overview import blueprint
from portal.errors import DomainError, NotFound
from portal.extensions import db

__all__ = ["_actor", "_page", "_refused", "_require_staff", "blueprint"]

_actor = pages.acting_person
_page = pages.page_number
_require_staff = require_staff


def _refused(error: DomainError) -> None:
    """A service said no: outside the actor's scope is a 404, anything else a message."""
    if isinstance(error, NotFound):
        abort(404)
    db.session.rollback()
    flash(error.message, "error")

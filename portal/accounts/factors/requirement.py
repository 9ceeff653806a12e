"""Who must have a second factor, by when, and the gate of the management pages (rule 17).

Staff, admins and partner admins reach the management pages only with a second factor used
in this session. So that an existing deployment is not shut out the day this lands, a
privileged person without one has a grace period of ``TWO_FACTOR_GRACE_DAYS``, counted from
the upgrade for people who held a role then (``FactorGrace``, written by the migration) and
from the role grant for people given one later, and never ending before
``TWO_FACTOR_REQUIRED_FROM`` when that date is set. During it the pages show when it ends;
after it they send the person to add a factor. Reading a page writes nothing. The gate is
registered with ``portal.admin.access`` by the app factory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from portal.accounts.factors.models import AuthenticatorApp, FactorGrace, Passkey
from portal.accounts.factors.state import factor_verified_at
from portal.accounts.models import Person, RoleGrant
from portal.db import UTCDateTime
from portal.extensions import db
from portal.language import gettext as _


def is_privileged(person: Person) -> bool:
    """The roles that see other people's data and must use a second factor."""
    return person.is_staff or person.administered_organization_id is not None


def due_at(counts_from: datetime) -> datetime:
    """When a grace period counted from ``counts_from`` ends."""
    due = counts_from + timedelta(days=current_app.config["TWO_FACTOR_GRACE_DAYS"])
    required_from = current_app.config.get("TWO_FACTOR_REQUIRED_FROM")
    if required_from:
        due = max(due, datetime.fromisoformat(required_from).replace(tzinfo=UTC))
    return due


def _factor_and_grace(person_id: int) -> tuple[bool, datetime | None]:
    """Whether the person has a factor, and where their grace counts from (one statement on
    every management page of a person who has not used a factor in this session)."""
    row = db.session.execute(
        select(
            select(Passkey.id).where(Passkey.person_id == person_id).exists()
            | select(AuthenticatorApp.id).where(AuthenticatorApp.person_id == person_id).exists(),
            func.coalesce(
                select(FactorGrace.counts_from)
                .where(FactorGrace.person_id == person_id)
                .scalar_subquery(),
                select(func.min(RoleGrant.granted_at))
                .where(RoleGrant.person_id == person_id)
                .scalar_subquery(),
                type_=UTCDateTime(),
            ),
        )
    ).one()
    return bool(row[0]), row[1]


def grace_due(person: Person) -> datetime | None:
    """When the person's grace ends (for the security page)."""
    counts_from = _factor_and_grace(person.id)[1]
    return due_at(counts_from) if counts_from else None


def management_gate() -> Response | None:
    """Runs after the role check of every management page (``admin.access``)."""
    if factor_verified_at() is not None:
        return None
    person = current_user._get_current_object()
    has_factor, counts_from = _factor_and_grace(person.id)
    if has_factor:
        # Signed in before adding it, or restored from "remember me": use it now.
        path = request.full_path.rstrip("?") if request.query_string else request.path
        return redirect(url_for("factors.confirm", next=path if request.method == "GET" else None))
    due = due_at(counts_from or datetime.now(UTC))
    if datetime.now(UTC) < due:
        g.second_factor_due = due
        return None
    flash(
        _("Add a second factor (a passkey or an authenticator app) to use the management pages."),
        "error",
    )
    return redirect(url_for("factors.security"))

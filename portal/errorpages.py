"""The portal's own error pages, rendered without asking the database anything.

During a database outage every request fails, and an error page that needed the database
(the header shows the signed-in person's menu) would fail in turn, leaving people with the
web server's bare English page. So who the header shows is settled *before* rendering: from
what the request already loaded, or, when the database was not what failed, by loading the
person in a guarded step; rendering then reads only that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g, render_template, request, session
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import exc, inspect

from portal.accounts.labels import role_label
from portal.extensions import db
from portal.i18n import person_name


@dataclass(frozen=True)
class HeaderViewer:
    """What the header of an error page shows about the viewer (see ``templates/base.html``)."""

    is_authenticated: bool = False
    is_staff: bool = False
    administered_organization_id: int | None = None
    #: Who is signed in and in which role, as the header says it.
    header_name: str = ""
    header_role: str = ""


ANONYMOUS = HeaderViewer()


def _needs_the_database(person: Any) -> bool:
    state = inspect(person)
    return bool(state.expired_attributes) or bool({"deleted_at", "role_grants"} & state.unloaded)


def _maybe_signed_in() -> bool:
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return "_user_id" in session or remember_cookie in request.cookies


def _header_viewer(*, database_failed: bool) -> HeaderViewer:
    person = g.get("_login_user")
    if isinstance(person, HeaderViewer):
        return person
    if person is None:
        if database_failed or not _maybe_signed_in():
            return ANONYMOUS
        try:
            person = current_user._get_current_object()
        except exc.SQLAlchemyError:
            db.session.rollback()
            return ANONYMOUS
    if isinstance(person, AnonymousUserMixin):
        return ANONYMOUS
    if database_failed and _needs_the_database(person):
        return ANONYMOUS
    try:
        return HeaderViewer(
            is_authenticated=bool(person.is_authenticated),
            is_staff=person.is_staff,
            administered_organization_id=person.administered_organization_id,
            header_name=person_name(person),
            header_role=str(role_label(person)),
        )
    except exc.SQLAlchemyError:
        db.session.rollback()
        return ANONYMOUS


def render_error_page(template: str, *, database_failed: bool, **context: Any) -> str:
    """``template`` rendered with a header that needs no database.

    ``database_failed``: the error came from the database, so nothing may ask it again (a
    person not yet loaded is shown the anonymous header). Otherwise a signed-in person is
    loaded first, and shown anonymous if that fails."""
    # Flask-Login keeps the request's user here: current_user in the template reads it.
    g._login_user = _header_viewer(database_failed=database_failed)
    return render_template(template, **context)

"""What every area's pages share: who is acting, which page of a list, and how a refusal reads.

Services raise ``DomainError`` (rule 10: a clear message, nothing changed). Views do not catch
it: they say beforehand how a refusal on this page is answered (``on_refusal``), and the one
handler registered by the app factory (``answer_refusal``) rolls the transaction back and
answers that way. A view that says nothing gets the message flashed on the page it came from.
``NotFound`` is always the 404 page (rule 4), so nobody learns that another organization's
record exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import werkzeug.exceptions
from flask import current_app, flash, g, redirect, render_template, request
from flask_login import current_user

from portal import inputs
from portal.errors import DomainError, InvalidInput, NotFound
from portal.extensions import db

Record = TypeVar("Record")


def acting_person() -> Any:
    """The signed-in person (``portal.accounts.models.Person``), as services want it: the
    object itself, not Flask-Login's proxy."""
    return current_user._get_current_object()


def own_or_404(
    model: type[Record], record_id: int, *, owner: Callable[[Record], int | None] | None = None
) -> Record:
    """The signed-in person's ``model`` row by id, or 404 (rule 4: another person's row and a
    missing one answer alike). ``owner`` names the person a row belongs to when it is not its
    ``person_id`` (a dues charge belongs to its member plan's person)."""
    record = db.session.get(model, record_id)
    if record is None:
        raise werkzeug.exceptions.NotFound()
    person_id = owner(record) if owner is not None else record.person_id  # type: ignore[attr-defined]
    if person_id != current_user.id:
        raise werkzeug.exceptions.NotFound()
    return record


def page_number() -> int:
    """The ``page`` of a paged list; anything that is not a sensible page number is page 1."""
    return max(request.args.get("page", 1, type=inputs.integer) or 1, 1)


@dataclass(frozen=True)
class Refusal:
    """How the current view answers a refusal: re-render ``template`` (status 400) with
    ``context``, or redirect to ``to``; with neither, back to the address it came from."""

    template: str | None = None
    to: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


def on_refusal(template: str | None = None, *, to: str | None = None, **context: Any) -> None:
    """Say how this request answers a ``DomainError`` the service it calls raises.

    ``on_refusal("events/manage/edit.html", form=form, event=event)`` re-renders the form with
    the message (beside the field an ``InvalidInput`` names); ``on_refusal(to=url)`` flashes
    the message and redirects there.
    """
    g.refusal = Refusal(template, to, context)


def answer_refusal(error: DomainError) -> Any:
    """The app's one handler for a ``DomainError`` raised while serving a page."""
    db.session.rollback()
    if isinstance(error, NotFound):
        # The app's own 404 page (raising from inside a handler would not reach it).
        return current_app.handle_http_exception(werkzeug.exceptions.NotFound())
    refusal: Refusal = g.pop("refusal", None) or Refusal()
    if refusal.template is not None:
        form = refusal.context.get("form")
        named = error.field if isinstance(error, InvalidInput) else None
        target = getattr(form, named, None) if named else None
        if target is not None:
            target.errors = [*(target.errors or []), error.message]
        else:
            flash(error.message, "error")
        return render_template(refusal.template, **refusal.context), 400
    flash(error.message, "error")
    if refusal.to is not None:
        return redirect(refusal.to)
    return redirect(_came_from())


def _came_from() -> str:
    # A form posted to its own address shows again on GET; a one-button action (POST only)
    # goes back to the page that had the button, when the browser says which page that was.
    if request.method == "GET" or request.url_rule is None:
        return "/"
    if "GET" in (request.url_rule.methods or ()):
        return request.full_path if request.query_string else request.path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        return inputs.safe_next(path) or "/"
    return "/"

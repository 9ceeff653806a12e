"""Check-in at the door: a typed or scanned ticket code, answered as a page or as JSON to the
page's scanner script, and the live counts both pages refresh."""

from __future__ import annotations

from dataclasses import dataclass

from flask import jsonify, render_template, request
from werkzeug.wrappers import Response

from portal.errors import InvalidTransition, NotFound
from portal.events import queries
from portal.events.checkin import check_in
from portal.events.management.forms import CheckInForm
from portal.events.management.scope import managed_event
from portal.events.models import Event
from portal.i18n import localized, person_name
from portal.language import gettext as _
from portal.pages import acting_person

#: Seconds between refreshes of the live counts on the check-in and registrations pages.
COUNTS_REFRESH_SECONDS = 5


@dataclass(frozen=True)
class CheckInResult:
    ok: bool
    message: str
    name: str = ""
    detail: str = ""


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _check_in(event: Event, form: CheckInForm) -> CheckInResult:
    if not form.validate_on_submit():
        messages = [str(m) for errors in form.errors.values() for m in errors]
        return CheckInResult(False, " ".join(messages) or _("Type or scan a ticket code."))
    try:
        registration = check_in(event, form.code.data, actor=acting_person())
    except (NotFound, InvalidTransition) as refused:
        # Shown in the result panel where the next code is typed, not as a page: the event is
        # known to be the actor's, so NotFound here means no ticket has this code.
        return CheckInResult(False, refused.message)
    person = registration.person
    name = person_name(person)
    return CheckInResult(
        True,
        _("Checked in: %(name)s.", name=name),
        name=name,
        detail=" · ".join(
            part
            for part in (person.affiliation, localized(registration.ticket_type, "name"))
            if part
        ),
    )


def event_checkin(slug: str) -> Response | tuple[str, int]:
    event = managed_event(slug)
    form = CheckInForm()
    result: CheckInResult | None = None
    status = 200
    if request.method == "POST":
        result = _check_in(event, form)
        status = 200 if result.ok else 400
        if _wants_json():
            return jsonify(
                ok=result.ok,
                message=result.message,
                name=result.name,
                detail=result.detail,
                counts=queries.live_counts(event),
            ), status
        form = CheckInForm(formdata=None)  # an empty field for the next ticket
    return render_template(
        "events/manage/checkin.html",
        event=event,
        form=form,
        result=result,
        counts=queries.live_counts(event),
        refresh_seconds=COUNTS_REFRESH_SECONDS,
    ), status


def event_counts(slug: str) -> Response:
    event = managed_event(slug)
    return jsonify(queries.live_counts(event))

"""Event pages for everyone: the list, an event, registering, tickets and calendars."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from portal import inputs, versions
from portal.accounts.consents import ConsentRequired
from portal.accounts.views import agree_if_asked, consent_step
from portal.db import utcnow
from portal.events import calendar, leaving, listing, payment_step, pricing, queries, registering
from portal.events.forms import CancelRegistrationForm, registration_form_for
from portal.events.labels import (
    event_kind_label,
    event_language_label,
    registration_status_label,
)
from portal.events.models import Event, EventKind, RegistrationStatus
from portal.events.seat_figures import seat_figure
from portal.extensions import limiter
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.pages import acting_person, on_refusal

blueprint = Blueprint("events", __name__, url_prefix="/events")
calendar_blueprint = Blueprint("calendar", __name__)

for label in (event_kind_label, event_language_label, registration_status_label, seat_figure):
    blueprint.add_app_template_global(label)


@blueprint.app_template_global()
def price_reason(reason: dict) -> str:
    return pricing.describe_reason(reason)


@blueprint.app_template_global()
def qr_code_svg(code: str) -> Markup:
    return Markup(calendar.qr_svg(code))  # noqa: S704 - segno's own SVG, no user input but the code


def _visible_event(slug: str, viewer) -> Event:  # noqa: ANN001
    event = queries.event_by_slug(slug)
    if event is None or not pricing.can_see(viewer, event):
        abort(404)
    return event


def _filters() -> listing.EventFilters:
    keywords = " ".join(request.args.get("q", "").split())[:200]
    return listing.EventFilters(
        partner=request.args.get("partner") or None,
        kind=request.args.get("kind") if request.args.get("kind") in set(EventKind) else None,
        month=request.args.get("month") or None,
        language=request.args.get("language")
        if request.args.get("language") in ("ja", "en")
        else None,
        keywords=keywords or None,
    )


@blueprint.get("/")
def index() -> Response:
    return _event_list(past=False)


@blueprint.get("/past")
def past() -> Response:
    """The archive: events that took place, latest first (the seed's 2017 forum among them)."""
    return _event_list(past=True)


def _event_list(*, past: bool) -> Response:
    viewer = queries.viewer_with_memberships(current_user)
    filters = _filters()
    page = listing.upcoming_events(
        viewer, filters, page=request.args.get("page", 1, type=inputs.integer), past=past
    )
    html = render_template(
        "events/index.html",
        page=page,
        filters=filters,
        partners=listing.organizations_for_filter,
        organizations_version=versions.tables_version("organization"),
        kinds=list(EventKind),
        viewer_zone=queries.viewer_zone(viewer),
        past=past,
    )
    return _changes_at(html, page.changes_at)


@blueprint.get("/<slug>")
def detail(slug: str) -> Response:
    viewer = queries.viewer_with_memberships(current_user)
    event = _visible_event(slug, viewer)
    offers = pricing.offers_for(viewer, event)
    counts, registration = queries.seats_and_own_registration(event, viewer)
    form = registration_form_for(event, offers) if viewer and not registration else None
    now = utcnow()
    page = render_template(
        "events/detail.html",
        event=event,
        offers=offers,
        registration=registration,
        counts=counts,
        form=form,
        open_now=event.registration_open_at(now),
        viewer_zone=queries.viewer_zone(viewer),
        waitlist_position=registration.waitlist_position if registration else None,
    )
    # The page cache keeps the anonymous page until then (``portal.pagecache``).
    return _changes_at(page, event.registration_changes_after(now))


def _changes_at(page: str, moment: datetime | None) -> Response:
    response = Response(page, mimetype="text/html")
    if moment is not None:
        response.expires = moment
    return response


#: What the ticket page says after Register, by the registration's status (translated when
#: shown: only the one that applies).
_REGISTERED = {
    RegistrationStatus.CONFIRMED.value: _l("You are registered. Your ticket is below."),
    RegistrationStatus.AWAITING_PAYMENT.value: _l(
        "A seat is held for you. Please pay to confirm it."
    ),
    RegistrationStatus.WAITLISTED.value: _l("The event is full: you are on the waitlist."),
    RegistrationStatus.PENDING_APPROVAL.value: _l(
        "Your registration awaits the organizers' approval."
    ),
}


def _registrant() -> str:
    # Per person, not per address: on an opening day a whole office registers from one
    # address (rule 16: a limit stops abuse, not the people it serves). Under login_required,
    # so someone is signed in.
    return f"person:{current_user.id}"


@blueprint.post("/<slug>/register")
@login_required
@limiter.limit("20 per minute", key_func=_registrant)
def register(slug: str) -> BaseResponse | str:
    viewer = queries.viewer_with_memberships(current_user)
    event = _visible_event(slug, viewer)
    offers = pricing.offers_for(viewer, event)
    form = registration_form_for(event, offers, shown=False)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("events.detail", slug=slug))
    on_refusal(to=url_for("events.detail", slug=slug))
    try:
        agree_if_asked(viewer)
        registration = registering.register(
            viewer, event, ticket_type_id=form.ticket_type.data, answers=form.answers()
        )
    except ConsentRequired as needed:
        # Not a refusal: the person is asked to agree, and the form is posted again.
        return consent_step(needed, cancel_url=url_for("events.detail", slug=slug))
    step = payment_step.current()
    # Only a method the form posted (the page checks the first): a bare POST keeps the ticket.
    method = getattr(form, "payment_method", None) if "payment_method" in request.form else None
    if (
        registration.status == RegistrationStatus.AWAITING_PAYMENT
        and step is not None
        and method is not None
        and method.data
    ):
        # Straight on to paying by the method chosen beside the ticket.
        flash(registered_message(registration.status), "success")
        then = step.continuation(method.data)
        return redirect(
            url_for(then.endpoint, registration_id=registration.id, _anchor=then.anchor),
            code=then.code,
        )
    # The ticket says what became of the registration (as pretix's order page thanks the
    # buyer): a flash would write the session cookie here and again when the ticket read it,
    # about a twentieth of what registering costs a worker.
    return redirect(url_for("events.ticket", registration_id=registration.id, registered=1))


def registered_message(status: str) -> str:
    """What the registrant is told right after pressing Register, by what it became."""
    return str(_REGISTERED.get(status, _l("Registered.")))


@blueprint.get("/<slug>.ics")
def ics(slug: str) -> Response:
    viewer = queries.viewer_with_memberships(current_user)
    event = _visible_event(slug, viewer)
    registration = registering.live_registration(viewer, event) if viewer else None
    return Response(
        calendar.event_ics(event, registration),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{event.slug}.ics"'},
    )


@blueprint.get("/mine")
@login_required
def my_registrations() -> str:
    return render_template(
        "events/mine.html",
        registrations=queries.my_registrations(current_user),
        feed_url=url_for(
            "calendar.feed", token=calendar.ensure_calendar_token(current_user), _external=True
        ),
    )


@blueprint.get("/tickets/<int:registration_id>")
@login_required
def ticket(registration_id: int) -> str:
    registration = queries.own_registration(current_user, registration_id) or abort(404)
    event = registration.event
    return render_template(
        "events/ticket.html",
        registration=registration,
        event=event,
        cancel_form=CancelRegistrationForm(),
        can_cancel=registration.is_live and utcnow() < leaving.cancellation_deadline(event),
        waitlist_position=queries.waitlist_position(registration),
        viewer_zone=queries.viewer_zone(queries.viewer_with_memberships(current_user)),
        notices=(
            [("success", registered_message(registration.status))]
            if request.args.get("registered")
            else []
        ),
    )


@blueprint.post("/tickets/<int:registration_id>/cancel")
@login_required
def cancel(registration_id: int) -> BaseResponse:
    registration = queries.own_registration(current_user, registration_id) or abort(404)
    form = CancelRegistrationForm()
    if form.validate_on_submit():
        on_refusal(to=url_for("events.ticket", registration_id=registration_id))
        leaving.cancel_registration(registration, actor=acting_person())
        flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("events.ticket", registration_id=registration_id))


@calendar_blueprint.get("/calendar/<token>.ics")
def feed(token: str) -> Response:
    person = queries.person_by_calendar_token(token) or abort(404)
    return Response(
        calendar.feed_ics(queries.feed_registrations(person)),
        mimetype="text/calendar",
        headers={"Cache-Control": "private, max-age=900"},
    )

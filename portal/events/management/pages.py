"""Admin pages for events: the list, the editor, registrations (with CSV and mail) and check-in.

Routes join the ``admin`` blueprint, so its one role check (staff or partner admin) applies.
Object scoping: an event's organizers (staff; partner admins of its host or co-hosts, as
``services.can_manage_event`` says) see and do everything; the admin of another partner
may read the registrations of their own verified members of a published event
(``queries.viewable_registrations_query``) and do nothing; anything else is a 404 (rule 4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal import pagecache
from portal.accounts.models import Membership, MembershipStatus, Person
from portal.admin import event_forms as forms
from portal.admin.views import _actor, _page, _refused, blueprint
from portal.csvfile import csv_text
from portal.errors import DomainError, NotFound
from portal.events import queries, services
from portal.events.labels import REGISTRATION_STATUS_LABELS
from portal.events.models import (
    Event,
    EventStatus,
    QuestionKind,
    Registration,
    RegistrationStatus,
)
from portal.events.views import KIND_LABELS, LANGUAGE_LABELS
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.i18n import (
    current_language,
    format_datetime_in,
    localized,
    person_kana,
    person_name,
)
from portal.money import format_money
from portal.organizations.models import Agreement, Organization
from portal.organizations.queries import agreements_of, get_hub, list_partners

#: Seconds between refreshes of the live counts on the check-in and registrations pages.
COUNTS_REFRESH_SECONDS = 5


# --- finding the event, and who may do what with it ------------------------------------------


def _event(slug: str) -> Event:
    return queries.event_by_slug(slug) or abort(404)


def _managed_event(slug: str) -> Event:
    """The event, if the actor organizes it; else 404."""
    event = _event(slug)
    if not services.can_manage_event(_actor(), event):
        abort(404)
    return event


def _readable_event(slug: str) -> tuple[Event, bool]:
    """The event and whether the actor organizes it. Other partners' admins may read the
    registrations of their own members of an event that is not a draft."""
    actor = _actor()
    event = _event(slug)
    if services.can_manage_event(actor, event):
        return event, True
    if actor.administered_organization_id is None or event.status == EventStatus.DRAFT:
        abort(404)
    return event, False


def _registration(event: Event, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    return registration


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _events_of_own_members(actor: Person) -> list[Event]:
    """Published or cancelled events, not organized by the actor's organization, for which
    one of its verified members registered (what another partner's admin may read)."""
    organization_id = actor.administered_organization_id
    if organization_id is None:
        return []
    members = select(Membership.person_id).where(
        Membership.organization_id == organization_id,
        Membership.status == MembershipStatus.VERIFIED.value,
    )
    events = db.session.scalars(
        select(Event)
        .where(
            Event.status != EventStatus.DRAFT.value,
            Event.id.in_(select(Registration.event_id).where(Registration.person_id.in_(members))),
        )
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(50)
    ).all()
    return [e for e in events if organization_id not in e.organizer_ids]


# --- what the templates of these pages share -------------------------------------------------


def _event_local_time(value: datetime | None, event: Event) -> str:
    """A stored UTC time on the event's clock, as the viewer's language writes it (rule 9)."""
    return format_datetime_in(value, event.timezone, "medium") if value else ""


@blueprint.context_processor
def admin_event_helpers() -> dict[str, Any]:
    return {
        "event_status_label": lambda status: forms.STATUS_LABELS.get(status, status),
        "event_local_time": _event_local_time,
        "audience_label": lambda a: forms.AUDIENCE_LABELS.get(a, a),
    }


# --- the list ---------------------------------------------------------------------------------


@blueprint.get("/events")
def events() -> str:
    actor = _actor()
    pagination = queries.managed_events(actor, page=_page())
    others = [] if actor.is_staff else _events_of_own_members(actor)
    counts = queries.seat_counts([e.id for e in [*pagination.items, *others]])
    return render_template(
        "admin/events/index.html",
        pagination=pagination,
        others=others,
        counts=counts,
        held_seats=queries.held_seats,
    )


# --- the editor -------------------------------------------------------------------------------


def _organizations() -> list[Organization]:
    hub = get_hub()
    return [*([hub] if hub else []), *list_partners()]


def _agreements() -> list[Agreement]:
    hub = get_hub()
    if hub is None:
        return []
    return sorted(agreements_of(hub), key=lambda a: (a.signed_on, a.id))


def _agreement_label(agreement: Agreement) -> str:
    return _(
        "%(hub)s–%(partner)s MOU (%(year)d)",
        hub=agreement.hub.short_name,
        partner=agreement.partner.short_name,
        year=agreement.signed_on.year,
    )


def _set_choices(form: forms.EventForm, event: Event | None) -> None:
    organizations = _organizations()
    agreements = _agreements()
    form.kind.choices = [SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    form.language.choices = [SelectChoice(k.value, label) for k, label in LANGUAGE_LABELS.items()]
    form.visibility.choices = [
        SelectChoice(k.value, label) for k, label in forms.VISIBILITY_LABELS.items()
    ]
    form.host.choices = [SelectChoice(o.id, localized(o, "name")) for o in organizations]
    form.cohosts.choices = [SelectChoice(o.id, localized(o, "name")) for o in organizations]
    form.agreements.choices = [SelectChoice(a.id, _agreement_label(a)) for a in agreements]
    zones = list(forms.TIMEZONES)
    if event is not None and event.timezone not in zones:
        zones.append(event.timezone)
    form.timezone.choices = [SelectChoice(z, z) for z in zones]
    ticket_agreements = [SelectChoice("", _("Any MOU of the event"))] + [
        SelectChoice(str(a.id), _agreement_label(a)) for a in agreements
    ]
    for entry in form.ticket_types:
        entry.form.agreement.choices = ticket_agreements


def _event_form(event: Event | None) -> forms.EventForm:
    if request.method == "POST":
        form = forms.EventForm()
    else:
        actor = _actor()
        hub_id = getattr(get_hub(), "id", None)
        if event is not None:
            sold_by_hub = event.host_id == hub_id
            initial = forms.event_form_initial(event)
        else:
            host_id = actor.administered_organization_id if not actor.is_staff else hub_id
            sold_by_hub = host_id is not None and host_id == hub_id
            initial = forms.new_event_initial(host_id, sold_by_hub=sold_by_hub)
        form = forms.EventForm(data=initial)
        # Empty rows to add ticket types, questions and sessions without JavaScript.
        extra_tickets = forms.EXTRA_TICKET_ROWS - (0 if event else len(initial["ticket_types"]))
        for _i in range(max(extra_tickets, 1)):
            form.ticket_types.append_entry(forms.new_ticket_row(sold_by_hub=sold_by_hub))
        for _i in range(forms.EXTRA_QUESTION_ROWS):
            form.questions.append_entry()
        for _i in range(forms.EXTRA_SESSION_ROWS):
            form.sessions.append_entry()
    _set_choices(form, event)
    return form


def _render_editor(
    event: Event | None,
    form: forms.EventForm,
    *,
    error: str | None = None,
    cancel_form: forms.CancelEventForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "admin/events/edit.html",
        event=event,
        form=form,
        error=error,
        cancel_form=cancel_form or forms.CancelEventForm(),
        held=queries.ticket_type_counts(event) if event else {},
        counts=queries.live_counts(event) if event else None,
    ), status


def _save(event: Event | None) -> Response | tuple[str, int]:
    actor = _actor()
    form = _event_form(event)
    if request.method == "GET":
        return _render_editor(event, form)
    if not form.validate_on_submit():
        return _render_editor(event, form, status=400)
    organizer_ids = {form.host.data, *(form.cohosts.data or [])}
    if not actor.is_staff and actor.administered_organization_id not in organizer_ids:
        return _render_editor(
            event,
            form,
            error=_("Your organization must host or co-host the event."),
            status=400,
        )
    try:
        saved = services.save_event(event, forms.event_data(form), actor=actor)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        return _render_editor(event, form, error=error.message, status=400)
    if event is None:
        flash(_("The event is saved as a draft. Publish it when it is ready."), "success")
    else:
        flash(_("The event is saved."), "success")
    return redirect(url_for(".edit_event", slug=saved.slug))


@blueprint.route("/events/new", methods=["GET", "POST"])
def new_event() -> Response | tuple[str, int]:
    return _save(None)


@blueprint.route("/events/<slug>/edit", methods=["GET", "POST"])
def edit_event(slug: str) -> Response | tuple[str, int]:
    return _save(_managed_event(slug))


@blueprint.post("/events/<slug>/publish")
def publish_event(slug: str) -> Response:
    event = _managed_event(slug)
    if ConfirmForm().validate_on_submit():
        try:
            services.publish_event(event, actor=_actor())
        except DomainError as error:
            _refused(error)
        else:
            flash(_("The event is published: members can see it and register."), "success")
    return redirect(url_for(".edit_event", slug=event.slug))


@blueprint.post("/events/<slug>/cancel")
def cancel_event(slug: str) -> Response | tuple[str, int]:
    event = _managed_event(slug)
    cancel_form = forms.CancelEventForm()
    if not cancel_form.validate_on_submit():
        form = forms.EventForm(formdata=None, data=forms.event_form_initial(event))
        _set_choices(form, event)
        return _render_editor(event, form, cancel_form=cancel_form, status=400)
    try:
        told = services.cancel_event(event, actor=_actor(), reason=cancel_form.reason.data)
    except DomainError as error:
        _refused(error)
    else:
        flash(
            ngettext(
                "The event is cancelled; %(num)d registrant is told by mail.",
                "The event is cancelled; %(num)d registrants are told by mail.",
                told,
            ),
            "success",
        )
    return redirect(url_for(".edit_event", slug=event.slug))


# --- registrations ----------------------------------------------------------------------------


def _filter_form() -> forms.RegistrationFilterForm:
    form = forms.RegistrationFilterForm(formdata=request.args)
    form.status.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(s.value, label) for s, label in REGISTRATION_STATUS_LABELS.items()
    ]
    return form


def _render_registrations(
    event: Event,
    organizer: bool,
    *,
    mail_form: forms.MailRegistrantsForm | None = None,
    status_code: int = 200,
) -> tuple[str, int]:
    actor = _actor()
    filter_form = _filter_form()
    valid = filter_form.validate()
    status = (filter_form.status.data or "") if valid else ""
    search = (filter_form.q.data or "") if valid else ""
    return render_template(
        "admin/events/registrations.html",
        event=event,
        organizer=organizer,
        filter_form=filter_form,
        status=status,
        search=search,
        pagination=queries.registrations_page(
            actor, event, status=status, search=search, page=_page()
        ),
        counts=queries.live_counts(event) if organizer else None,
        mail_form=mail_form or (forms.MailRegistrantsForm() if organizer else None),
        action_form=ConfirmForm(),
        refresh_seconds=COUNTS_REFRESH_SECONDS,
    ), status_code


@blueprint.get("/events/<slug>/registrations")
@pagecache.cached_page(
    tables=("person", "membership", "payment", "role_grant", "organization", "agreement"),
    entity=pagecache.SlugEntity("event", Event),
    signed_in_only=True,
)
def event_registrations(slug: str) -> tuple[str, int]:
    event, organizer = _readable_event(slug)
    return _render_registrations(event, organizer)


def _back(event: Event) -> Response:
    """Back to the registrations page the action was taken on, with its filters and page."""
    page = url_for(".event_registrations", slug=event.slug)
    target = request.form.get("next", "")
    return redirect(target if target.startswith(page) else page)


@blueprint.post("/events/<slug>/registrations/<int:registration_id>/approve")
def approve_registration(slug: str, registration_id: int) -> Response:
    event = _managed_event(slug)
    registration = _registration(event, registration_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.approve_registration(registration, actor=_actor())
        except DomainError as error:
            _refused(error)
        else:
            flash(
                _(
                    "%(name)s is accepted: %(status)s.",
                    name=person_name(registration.person),
                    status=REGISTRATION_STATUS_LABELS[RegistrationStatus(registration.status)],
                ),
                "success",
            )
    return _back(event)


def _with_reason(
    event: Event, registration: Registration, decide: Callable[..., None], done: str
) -> Response:
    form = forms.DecisionReasonForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return _back(event)
    try:
        decide(registration, actor=_actor(), reason=form.reason.data)
    except DomainError as error:
        _refused(error)
    else:
        flash(done, "success")
    return _back(event)


@blueprint.post("/events/<slug>/registrations/<int:registration_id>/reject")
def reject_registration(slug: str, registration_id: int) -> Response:
    event = _managed_event(slug)
    registration = _registration(event, registration_id)
    return _with_reason(
        event,
        registration,
        services.reject_registration,
        _(
            "The registration of %(name)s is rejected; they are told the reason by mail.",
            name=person_name(registration.person),
        ),
    )


@blueprint.post("/events/<slug>/registrations/<int:registration_id>/cancel")
def cancel_registration(slug: str, registration_id: int) -> Response:
    event = _managed_event(slug)
    registration = _registration(event, registration_id)
    return _with_reason(
        event,
        registration,
        services.cancel_registration,
        _(
            "The registration of %(name)s is cancelled; they are told by mail.",
            name=person_name(registration.person),
        ),
    )


@blueprint.post("/events/<slug>/registrations/<int:registration_id>/promote")
def promote_registration(slug: str, registration_id: int) -> Response:
    event = _managed_event(slug)
    registration = _registration(event, registration_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.move_off_waitlist(registration, actor=_actor())
        except DomainError as error:
            _refused(error)
        else:
            flash(
                _(
                    "%(name)s is off the waitlist: %(status)s.",
                    name=person_name(registration.person),
                    status=REGISTRATION_STATUS_LABELS[RegistrationStatus(registration.status)],
                ),
                "success",
            )
    return _back(event)


@blueprint.post("/events/<slug>/mail")
def mail_registrants(slug: str) -> Response | tuple[str, int]:
    event = _managed_event(slug)
    form = forms.MailRegistrantsForm()
    if not form.validate_on_submit():
        return _render_registrations(event, True, mail_form=form, status_code=400)
    selected = form.recipients.data == "selected"
    ids = list(form.registration_ids.data or []) if selected else []
    if selected and not ids:
        form.registration_ids.errors = [_("Tick the registrants to write to in the table.")]
        return _render_registrations(event, True, mail_form=form, status_code=400)
    try:
        sent = services.mail_registrants(
            event,
            actor=_actor(),
            subject=form.subject.data,
            body=form.body.data,
            statuses=forms.MAIL_AUDIENCES[form.recipients.data][1],
            registration_ids=ids or None,
        )
    except DomainError as error:
        _refused(error)
        return _render_registrations(event, True, mail_form=form, status_code=400)
    flash(
        ngettext(
            "%(num)d message is queued.",
            "%(num)d messages are queued.",
            sent,
        ),
        "success",
    )
    return redirect(url_for(".event_registrations", slug=event.slug))


# --- CSV export -------------------------------------------------------------------------------


def _answer_text(question: Any, answer: Any) -> str:
    if question.kind == QuestionKind.TEXT:
        return str(answer or "")
    labels = {
        o["value"]: (
            (o.get("label_ja") if current_language() == "ja" else o.get("label_en"))
            or o.get("label_en")
            or o["value"]
        )
        for o in question.options
    }
    values = answer if isinstance(answer, list) else ([answer] if answer else [])
    return "; ".join(labels.get(v, v) for v in values)


def registrations_csv(actor: Person, event: Event) -> str:
    """All the registrations the actor may see, with one column per question (no per-row query)."""
    zone = ZoneInfo(event.timezone)

    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    questions = list(event.questions)
    header = [
        _("Name"),
        _("Name in kana"),
        _("Email"),
        _("Affiliation"),
        _("Ticket"),
        _("Price"),
        _("Status"),
        _("Ticket code"),
        _("Registered at (%(zone)s)", zone=event.timezone),
        _("Checked in at (%(zone)s)", zone=event.timezone),
        *(localized(q, "label") for q in questions),
    ]
    rows = (
        [
            person_name(registration.person),
            person_kana(registration.person),
            registration.person.email,
            registration.person.affiliation,
            localized(registration.ticket_type, "name"),
            format_money(registration.price, registration.currency),
            REGISTRATION_STATUS_LABELS[RegistrationStatus(registration.status)],
            registration.code,
            local(registration.created_at),
            local(registration.checked_in_at),
            *(_answer_text(q, registration.answers.get(str(q.id))) for q in questions),
        ]
        for registration in queries.all_registrations_for_export(actor, event)
    )
    return csv_text(header, rows)


@blueprint.get("/events/<slug>/registrations.csv")
def event_registrations_csv(slug: str) -> Response:
    event, _organizer = _readable_event(slug)
    return Response(
        registrations_csv(_actor(), event).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{event.slug}-registrations.csv"',
        },
    )


# --- check-in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInResult:
    ok: bool
    message: str
    name: str = ""
    detail: str = ""


def _check_in(event: Event, form: forms.CheckInForm) -> CheckInResult:
    if not form.validate_on_submit():
        messages = [str(m) for errors in form.errors.values() for m in errors]
        return CheckInResult(False, " ".join(messages) or _("Type or scan a ticket code."))
    try:
        registration = services.check_in(event, form.code.data, actor=_actor())
    except DomainError as error:
        # The event is known to be the actor's: NotFound here means no ticket has this code.
        db.session.rollback()
        return CheckInResult(False, error.message)
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


@blueprint.route("/events/<slug>/checkin", methods=["GET", "POST"])
def event_checkin(slug: str) -> Response | tuple[str, int]:
    event = _managed_event(slug)
    form = forms.CheckInForm()
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
        form = forms.CheckInForm(formdata=None)  # an empty field for the next ticket
    return render_template(
        "admin/events/checkin.html",
        event=event,
        form=form,
        result=result,
        counts=queries.live_counts(event),
        refresh_seconds=COUNTS_REFRESH_SECONDS,
    ), status


@blueprint.get("/events/<slug>/counts")
def event_counts(slug: str) -> Response:
    event = _managed_event(slug)
    return jsonify(queries.live_counts(event))

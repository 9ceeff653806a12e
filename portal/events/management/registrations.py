"""An event's registrations for its organizers: the list with live counts, the decisions
on one registration, mail to registrants and the CSV export.

Another partner's admin reads the registrations of their own members here and does
nothing else (``scope.readable_event``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal import inputs
from portal.accounts.labels import membership_status_label
from portal.accounts.models import Person
from portal.csvfile import csv_text
from portal.events import decisions, export_columns, leaving, mail, queries
from portal.events.labels import REGISTRATION_STATUS_LABELS
from portal.events.management.checkin import COUNTS_REFRESH_SECONDS
from portal.events.management.forms import (
    MAIL_AUDIENCES,
    DecisionReasonForm,
    MailRegistrantsForm,
    RegistrationFilterForm,
)
from portal.events.management.scope import managed_event, readable_event, registration_of
from portal.events.models import Event, QuestionKind, Registration, RegistrationStatus
from portal.forms import ConfirmForm
from portal.i18n import current_language, localized, person_kana, person_name
from portal.language import gettext as _
from portal.language import ngettext
from portal.money import amount_text
from portal.pages import acting_person, on_refusal, page_number
from portal.timefmt import iso

REGISTRATIONS_TEMPLATE = "events/manage/registrations.html"


# --- the list -----------------------------------------------------------------------------------


def _filter_form() -> RegistrationFilterForm:
    form = RegistrationFilterForm(formdata=request.args)
    form.status.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(s.value, label) for s, label in REGISTRATION_STATUS_LABELS.items()
    ]
    return form


def _registrations_page(
    event: Event, organizer: bool, *, mail_form: MailRegistrantsForm | None = None
) -> dict[str, Any]:
    """What the registrations template shows: the filtered page, the counts, the forms."""
    filter_form = _filter_form()
    valid = filter_form.validate()
    status = (filter_form.status.data or "") if valid else ""
    search = (filter_form.q.data or "") if valid else ""
    return {
        "event": event,
        "organizer": organizer,
        "filter_form": filter_form,
        "status": status,
        "search": search,
        "pagination": queries.registrations_page(
            acting_person(), event, status=status, search=search, page=page_number()
        ),
        "counts": queries.live_counts(event) if organizer else None,
        "mail_form": mail_form or (MailRegistrantsForm() if organizer else None),
        "action_form": ConfirmForm(),
        "refresh_seconds": COUNTS_REFRESH_SECONDS,
    }


def event_registrations(slug: str) -> str:
    event, organizer = readable_event(slug)
    return render_template(REGISTRATIONS_TEMPLATE, **_registrations_page(event, organizer))


# --- decisions on one registration --------------------------------------------------------------


def _back_url(event: Event) -> str:
    """The registrations page the action was taken on, with its filters and page."""
    page = url_for(".event_registrations", slug=event.slug)
    target = inputs.safe_next(request.form.get("next")) or ""
    return target if target.startswith(page) else page


def _decided(event: Event, registration: Registration, decide: Callable[..., Any]) -> bool:
    """Run a one-button decision; a refusal goes back to the registrations page."""
    if not ConfirmForm().validate_on_submit():
        return False
    on_refusal(to=_back_url(event))
    decide(registration, actor=acting_person())
    return True


def approve_registration(slug: str, registration_id: int) -> Response:
    event = managed_event(slug)
    registration = registration_of(event, registration_id)
    if _decided(event, registration, decisions.approve_registration):
        flash(
            _(
                "%(name)s is accepted: %(status)s.",
                name=person_name(registration.person),
                status=REGISTRATION_STATUS_LABELS[RegistrationStatus(registration.status)],
            ),
            "success",
        )
    return redirect(_back_url(event))


def promote_registration(slug: str, registration_id: int) -> Response:
    event = managed_event(slug)
    registration = registration_of(event, registration_id)
    if _decided(event, registration, decisions.move_off_waitlist):
        flash(
            _(
                "%(name)s is off the waitlist: %(status)s.",
                name=person_name(registration.person),
                status=REGISTRATION_STATUS_LABELS[RegistrationStatus(registration.status)],
            ),
            "success",
        )
    return redirect(_back_url(event))


def _with_reason(
    event: Event, registration: Registration, decide: Callable[..., None], done: str
) -> Response:
    form = DecisionReasonForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(_back_url(event))
    on_refusal(to=_back_url(event))
    decide(registration, actor=acting_person(), reason=form.reason.data)
    flash(done, "success")
    return redirect(_back_url(event))


def reject_registration(slug: str, registration_id: int) -> Response:
    event = managed_event(slug)
    registration = registration_of(event, registration_id)
    return _with_reason(
        event,
        registration,
        decisions.reject_registration,
        _(
            "The registration of %(name)s is rejected; they are told the reason by mail.",
            name=person_name(registration.person),
        ),
    )


def cancel_registration(slug: str, registration_id: int) -> Response:
    event = managed_event(slug)
    registration = registration_of(event, registration_id)
    return _with_reason(
        event,
        registration,
        leaving.cancel_registration,
        _(
            "The registration of %(name)s is cancelled; they are told by mail.",
            name=person_name(registration.person),
        ),
    )


# --- mail to registrants ------------------------------------------------------------------------


def mail_registrants(slug: str) -> Response | tuple[str, int]:
    event = managed_event(slug)
    form = MailRegistrantsForm()
    if not form.validate_on_submit():
        return render_template(
            REGISTRATIONS_TEMPLATE, **_registrations_page(event, True, mail_form=form)
        ), 400
    selected = form.recipients.data == "selected"
    ids = list(form.registration_ids.data or []) if selected else []
    if selected and not ids:
        form.registration_ids.errors = [_("Tick the registrants to write to in the table.")]
        return render_template(
            REGISTRATIONS_TEMPLATE, **_registrations_page(event, True, mail_form=form)
        ), 400
    on_refusal(REGISTRATIONS_TEMPLATE, **_registrations_page(event, True, mail_form=form))
    sent = mail.mail_registrants(
        event,
        actor=acting_person(),
        subject=form.subject.data,
        body=form.body.data,
        statuses=MAIL_AUDIENCES[form.recipients.data][1],
        registration_ids=ids or None,
    )
    flash(
        ngettext(
            "%(num)d message is queued.",
            "%(num)d messages are queued.",
            sent,
        ),
        "success",
    )
    return redirect(url_for(".event_registrations", slug=event.slug))


# --- CSV export ---------------------------------------------------------------------------------


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


def _memberships_text(person: Person) -> str:
    """The person's memberships and their states, as the export reads them."""
    return "; ".join(
        f"{m.organization.short_name}: {membership_status_label(m.status)}"
        for m in person.memberships
    )


def registrations_csv(actor: Person, event: Event) -> str:
    """All the registrations the actor may see, with one column per question and the columns
    other areas add (payments: method, invoice), in a fixed number of statements. Prices are
    plain numbers in the currency's major unit beside a currency column, so a spreadsheet
    adds them up."""
    zone = ZoneInfo(event.timezone)

    def local(value: datetime | None) -> str:
        return iso(value, zone)

    questions = list(event.questions)
    registrations = queries.all_registrations_for_export(actor, event)
    extra = export_columns.registered()
    extra_values = [columns.values(registrations) for columns in extra]
    header = [
        _("Name"),
        _("Name in kana"),
        _("Email"),
        _("Affiliation"),
        _("Home organization"),
        _("Memberships"),
        _("Ticket"),
        _("Price"),
        _("Currency"),
        _("Status"),
        _("Ticket code"),
        _("Registered at (%(zone)s)", zone=event.timezone),
        _("Checked in at (%(zone)s)", zone=event.timezone),
        *(header for columns in extra for header in columns.headers()),
        *(localized(q, "label") for q in questions),
    ]
    rows = (
        [
            person_name(registration.person),
            person_kana(registration.person),
            registration.person.email,
            registration.person.affiliation,
            home.organization.short_name
            if (home := next(iter(registration.person.memberships), None))
            else "",
            _memberships_text(registration.person),
            localized(registration.ticket_type, "name"),
            amount_text(registration.price, registration.currency),
            registration.currency,
            REGISTRATION_STATUS_LABELS[RegistrationStatus(registration.status)],
            registration.code,
            local(registration.created_at),
            local(registration.checked_in_at),
            *(
                value
                for columns, values in zip(extra, extra_values, strict=True)
                for value in values.get(registration.id, [""] * len(columns.headers()))
            ),
            *(_answer_text(q, registration.answers.get(str(q.id))) for q in questions),
        ]
        for registration in registrations
    )
    return csv_text(header, rows)


def event_registrations_csv(slug: str) -> Response:
    event, _organizer = readable_event(slug)
    return Response(
        registrations_csv(acting_person(), event).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{event.slug}-registrations.csv"',
        },
    )

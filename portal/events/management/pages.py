"""The organizers' event pages: the list, the editor, publishing and cancelling an event.

Routes are in ``blueprint``; who may see which event is ``scope``'s.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portal.events import queries, setup
from portal.events.management import editor
from portal.events.management.forms import CancelEventForm, EventForm
from portal.events.management.scope import managed_event
from portal.events.models import Event
from portal.forms import ConfirmForm
from portal.language import gettext as _
from portal.language import ngettext
from portal.pages import acting_person, on_refusal, page_number

EDITOR_TEMPLATE = "events/manage/edit.html"


def events() -> str:
    actor = acting_person()
    pagination = queries.managed_events(actor, page=page_number())
    others = [] if actor.is_staff else queries.events_of_own_members(actor)
    counts = queries.seat_counts([e.id for e in [*pagination.items, *others]])
    return render_template(
        "events/manage/index.html",
        pagination=pagination,
        others=others,
        counts=counts,
        held_seats=queries.held_seats,
    )


def _editor_page(
    event: Event | None, form: EventForm, cancel_form: CancelEventForm | None = None
) -> dict:
    """What the editor's template shows besides the form: the event's seats and the
    cancel form."""
    return {
        "event": event,
        "form": form,
        "cancel_form": cancel_form or CancelEventForm(),
        "held": queries.ticket_type_counts(event) if event else {},
        "counts": queries.live_counts(event) if event else None,
    }


def _save(event: Event | None) -> Response | tuple[str, int]:
    actor = acting_person()
    form = editor.editor_form(event)
    if request.method == "GET":
        return render_template(EDITOR_TEMPLATE, **_editor_page(event, form)), 200
    if not form.validate_on_submit():
        return render_template(EDITOR_TEMPLATE, **_editor_page(event, form)), 400
    organizer_ids = {form.host.data, *(form.cohosts.data or [])}
    if not actor.is_staff and actor.administered_organization_id not in organizer_ids:
        form.host.errors.append(_("Your organization must host or co-host the event."))
        return render_template(EDITOR_TEMPLATE, **_editor_page(event, form)), 400
    on_refusal(EDITOR_TEMPLATE, **_editor_page(event, form))
    saved = setup.save_event(event, editor.event_data(form), actor=actor)
    if event is None:
        flash(_("The event is saved as a draft. Publish it when it is ready."), "success")
    else:
        flash(_("The event is saved."), "success")
    return redirect(url_for(".edit_event", slug=saved.slug))


def new_event() -> Response | tuple[str, int]:
    return _save(None)


def edit_event(slug: str) -> Response | tuple[str, int]:
    return _save(managed_event(slug))


def publish_event(slug: str) -> Response:
    event = managed_event(slug)
    editor_url = url_for(".edit_event", slug=event.slug)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=editor_url)
        setup.publish_event(event, actor=acting_person())
        flash(_("The event is published: members can see it and register."), "success")
    return redirect(editor_url)


def cancel_event(slug: str) -> Response | tuple[str, int]:
    event = managed_event(slug)
    cancel_form = CancelEventForm()
    if not cancel_form.validate_on_submit():
        form = EventForm(formdata=None, data=editor.event_form_initial(event))
        editor.set_choices(form, event)
        return render_template(EDITOR_TEMPLATE, **_editor_page(event, form, cancel_form)), 400
    editor_url = url_for(".edit_event", slug=event.slug)
    on_refusal(to=editor_url)
    told = setup.cancel_event(event, actor=acting_person(), reason=cancel_form.reason.data)
    flash(
        ngettext(
            "The event is cancelled; %(num)d registrant is told by mail.",
            "The event is cancelled; %(num)d registrants are told by mail.",
            told,
        ),
        "success",
    )
    return redirect(editor_url)

"""The event editor: its form filled for a new or an existing event, with the choices of
the network, and turned back into the service's ``EventData``.

Times are typed on the event's own clock and converted to UTC here (rule 9); prices are
typed in the currency's major unit and converted to integer minor units (``parse_amount``,
rule 5).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import request
from wtforms import FieldList
from wtforms.fields.choices import SelectChoice

from portal import inputs
from portal.events.labels import KIND_LABELS, LANGUAGE_LABELS, VISIBILITY_LABELS
from portal.events.management.forms import (
    EXTRA_QUESTION_ROWS,
    EXTRA_SESSION_ROWS,
    EXTRA_TICKET_ROWS,
    TIMEZONES,
    EventForm,
    QuestionRow,
    SessionRow,
    TicketTypeRow,
    parse_options,
)
from portal.events.models import Audience, Event, EventKind, EventLanguage, QuestionKind, Visibility
from portal.events.setup import (
    STANDARD_TAX_RATE,
    EventData,
    QuestionData,
    SessionData,
    TicketTypeData,
)
from portal.i18n import localized
from portal.language import gettext as _
from portal.money import amount_text, parse_amount
from portal.organizations.models import Agreement, Organization
from portal.organizations.queries import agreements_of, get_hub, list_partners
from portal.pages import acting_person

# --- the form, filled ---------------------------------------------------------------------------


def editor_form(event: Event | None) -> EventForm:
    """The editor as posted, or filled for ``event`` (a new one when None), with its choices."""
    if request.method == "POST":
        form = EventForm()
    else:
        actor = acting_person()
        hub_id = getattr(get_hub(), "id", None)
        if event is not None:
            sold_by_hub = event.host_id == hub_id
            initial = event_form_initial(event)
        else:
            host_id = actor.administered_organization_id if not actor.is_staff else hub_id
            sold_by_hub = host_id is not None and host_id == hub_id
            initial = new_event_initial(host_id, sold_by_hub=sold_by_hub)
        form = EventForm(data=initial)
        # Empty rows to add ticket types, questions and sessions without JavaScript.
        extra_tickets = EXTRA_TICKET_ROWS - (0 if event else len(initial["ticket_types"]))
        for _i in range(max(extra_tickets, 1)):
            form.ticket_types.append_entry(new_ticket_row(sold_by_hub=sold_by_hub))
        for _i in range(EXTRA_QUESTION_ROWS):
            form.questions.append_entry()
        for _i in range(EXTRA_SESSION_ROWS):
            form.sessions.append_entry()
    set_choices(form, event)
    return form


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


def set_choices(form: EventForm, event: Event | None) -> None:
    """The lists the editor chooses from: kinds, organizations, MOUs, time zones."""
    organizations = _organizations()
    agreements = _agreements()
    form.kind.choices = [SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    form.language.choices = [SelectChoice(k.value, label) for k, label in LANGUAGE_LABELS.items()]
    form.visibility.choices = [
        SelectChoice(k.value, label) for k, label in VISIBILITY_LABELS.items()
    ]
    form.host.choices = [SelectChoice(o.id, localized(o, "name")) for o in organizations]
    form.cohosts.choices = [SelectChoice(o.id, localized(o, "name")) for o in organizations]
    form.agreements.choices = [SelectChoice(a.id, _agreement_label(a)) for a in agreements]
    zones = list(TIMEZONES)
    if event is not None and event.timezone not in zones:
        zones.append(event.timezone)
    form.timezone.choices = [SelectChoice(z, z) for z in zones]
    ticket_agreements = [SelectChoice("", _("Any MOU of the event"))] + [
        SelectChoice(str(a.id), _agreement_label(a)) for a in agreements
    ]
    for entry in form.ticket_types:
        entry.form.agreement.choices = ticket_agreements


# --- from the event to the form -----------------------------------------------------------------


def to_local(moment: datetime | None, zone: str) -> datetime | None:
    """A stored UTC time as the naive wall-clock time the editor shows for ``zone``."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)


def format_options(options: list[dict[str, str]]) -> str:
    return "\n".join(
        "|".join([o["value"], o.get("label_en", ""), o.get("label_ja", "")]).rstrip("|")
        for o in options
    )


def event_form_initial(event: Event) -> dict[str, Any]:
    """The editor's values for an existing event, times on the event's clock."""
    zone = event.timezone
    return {
        "title_en": event.title_en,
        "title_ja": event.title_ja,
        "slug": event.slug,
        "kind": event.kind,
        "language": event.language,
        "description_en": event.description_en,
        "description_ja": event.description_ja,
        "host": event.host_id,
        "cohosts": [o.id for o in event.cohosts],
        "agreements": [a.id for a in event.agreements],
        "venue_en": event.venue_en,
        "venue_ja": event.venue_ja,
        "online_url": event.online_url or "",
        "timezone": zone,
        "starts_at": to_local(event.starts_at, zone),
        "ends_at": to_local(event.ends_at, zone),
        "registration_opens_at": to_local(event.registration_opens_at, zone),
        "registration_closes_at": to_local(event.registration_closes_at, zone),
        "cancellation_closes_at": to_local(event.cancellation_closes_at, zone),
        "capacity": event.capacity,
        "visibility": event.visibility,
        "requires_approval": event.requires_approval,
        "reminder_hours_before": event.reminder_hours_before,
        "ticket_types": [
            {
                "id": str(t.id),
                "audience": t.audience,
                "agreement": str(t.agreement_id or ""),
                "name_en": t.name_en,
                "name_ja": t.name_ja,
                "price": amount_text(t.price, t.currency),
                "currency": t.currency,
                "tax_rate": str(t.tax_rate),
                "capacity": t.capacity,
                "active": t.active,
            }
            for t in event.ticket_types
        ],
        "questions": [
            {
                "id": str(q.id),
                "kind": q.kind,
                "label_en": q.label_en,
                "label_ja": q.label_ja,
                "required": q.required,
                "options": format_options(q.options),
            }
            for q in event.questions
        ],
        "sessions": [
            {
                "title_en": s.title_en,
                "title_ja": s.title_ja,
                "starts_at": to_local(s.starts_at, zone),
                "ends_at": to_local(s.ends_at, zone),
                "room": s.room,
            }
            for s in event.sessions
        ],
    }


#: What a new event's first ticket rows suggest (the organizer edits or empties them).
NEW_EVENT_TICKETS = (
    (Audience.LINKJ_MEMBER, "LINK-J member", "LINK-J会員"),
    (Audience.PARTNER_MEMBER, "Partner member", "パートナー機関会員"),
    (Audience.NON_MEMBER, "General", "一般"),
)


def new_ticket_row(*, sold_by_hub: bool) -> dict[str, Any]:
    """An empty ticket row: in yen, and taxed at the standard rate when LINK-J sells it."""
    return {
        "price": "0",
        "currency": "JPY",
        "tax_rate": str(STANDARD_TAX_RATE if sold_by_hub else 0),
        "active": True,
    }


def new_event_initial(host_id: int | None, *, sold_by_hub: bool) -> dict[str, Any]:
    """A new event's editor; ``sold_by_hub``: LINK-J hosts it, so its yen tickets are taxed."""
    return {
        "kind": EventKind.SEMINAR.value,
        "language": EventLanguage.BOTH.value,
        "visibility": Visibility.PUBLIC.value,
        "timezone": "Asia/Tokyo",
        "host": host_id,
        "capacity": 100,
        "reminder_hours_before": 24,
        "ticket_types": [
            {
                **new_ticket_row(sold_by_hub=sold_by_hub),
                "audience": a.value,
                "name_en": en,
                "name_ja": ja,
            }
            for a, en, ja in NEW_EVENT_TICKETS
        ],
    }


# --- from the form to the service's input -------------------------------------------------------


def to_utc(local: datetime | None, zone: str) -> datetime | None:
    """A wall-clock time typed for ``zone`` as an aware UTC datetime."""
    if local is None:
        return None
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def suggest_slug(title: str, starts_at: datetime | None) -> str:
    """A web address from the English title and the month: ``kobe-seminar-2026-11``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    month = starts_at.strftime("%Y-%m") if starts_at else ""
    return "-".join(part for part in (words or "event", month) if part)


def _optional_int(text: str | None) -> int | None:
    """The id a row carried back; None for a new row or anything that is not an id."""
    if not text or not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > inputs.MAX_INTEGER:
        return None
    return int(text)


def event_data(form: EventForm) -> EventData:
    """The validated editor as the service's input; empty rows are left out."""
    zone = form.timezone.data
    starts_at = to_utc(form.starts_at.data, zone)
    ends_at = to_utc(form.ends_at.data, zone)
    assert starts_at is not None and ends_at is not None  # InputRequired
    slug = (form.slug.data or "").strip() or suggest_slug(
        form.title_en.data or "", form.starts_at.data
    )
    return EventData(
        slug=slug,
        kind=form.kind.data,
        title_en=(form.title_en.data or "").strip(),
        title_ja=(form.title_ja.data or "").strip(),
        host_id=form.host.data,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=zone,
        description_en=form.description_en.data or "",
        description_ja=form.description_ja.data or "",
        language=form.language.data,
        venue_en=(form.venue_en.data or "").strip(),
        venue_ja=(form.venue_ja.data or "").strip(),
        online_url=(form.online_url.data or "").strip() or None,
        registration_opens_at=to_utc(form.registration_opens_at.data, zone),
        registration_closes_at=to_utc(form.registration_closes_at.data, zone),
        cancellation_closes_at=to_utc(form.cancellation_closes_at.data, zone),
        capacity=form.capacity.data,
        visibility=form.visibility.data,
        requires_approval=bool(form.requires_approval.data),
        reminder_hours_before=form.reminder_hours_before.data,
        cohost_ids=[i for i in (form.cohosts.data or []) if i != form.host.data],
        agreement_ids=list(form.agreements.data or []),
        ticket_types=[_ticket_type_data(row) for row in _used_rows(form.ticket_types)],
        questions=[_question_data(row) for row in _used_rows(form.questions)],
        sessions=[_session_data(row, zone) for row in _used_rows(form.sessions)],
    )


def _used_rows(rows: FieldList) -> list[Any]:
    return [entry.form for entry in rows if not entry.form.unused]


def _ticket_type_data(row: TicketTypeRow) -> TicketTypeData:
    return TicketTypeData(
        id=_optional_int(row.id.data),
        audience=row.audience.data,
        agreement_id=_optional_int(row.agreement.data)
        if row.audience.data == Audience.PARTNER_MEMBER
        else None,
        name_en=(row.name_en.data or "").strip(),
        name_ja=(row.name_ja.data or "").strip(),
        price=parse_amount(row.price.data or "", row.currency.data),
        currency=row.currency.data,
        tax_rate=int(row.tax_rate.data or 0),
        capacity=row.capacity.data,
        active=bool(row.active.data),
    )


def _question_data(row: QuestionRow) -> QuestionData:
    return QuestionData(
        id=_optional_int(row.id.data),
        kind=row.kind.data,
        label_en=(row.label_en.data or "").strip(),
        label_ja=(row.label_ja.data or "").strip(),
        required=bool(row.required.data),
        options=[] if row.kind.data == QuestionKind.TEXT else parse_options(row.options.data or ""),
    )


def _session_data(row: SessionRow, zone: str) -> SessionData:
    starts_at = to_utc(row.starts_at.data, zone)
    ends_at = to_utc(row.ends_at.data, zone)
    assert starts_at is not None and ends_at is not None  # SessionRow.validate
    return SessionData(
        title_en=(row.title_en.data or "").strip(),
        title_ja=(row.title_ja.data or "").strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        room=(row.room.data or "").strip(),
    )

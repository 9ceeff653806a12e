"""Calendar files (.ics), each person's calendar feed, and QR codes for tickets."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING

import segno
from flask import current_app

from portal.db import utcnow
from portal.extensions import db
from portal.notifications.services import DrawnAttachment, attachment_drawer, qr_code_png

if TYPE_CHECKING:
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    from portal.accounts.models import Person
    from portal.events.models import Event, Registration

PRODID = "-//LINK-J//Partner Portal//EN"


def _text(event: Event, field: str) -> str:
    # Calendars have one language: both, Japanese first, when they differ.
    en, ja = getattr(event, f"{field}_en"), getattr(event, f"{field}_ja")
    if en and ja and en != ja:
        return f"{ja} / {en}"
    return ja or en


def _calendar_event(
    event: Event, registration: Registration | None, *, confirmed: bool = False
) -> CalendarEvent:
    # icalendar is imported when a calendar is drawn: most processes of the portal never draw one.
    from icalendar import Event as CalendarEvent

    entry = CalendarEvent()
    host = current_app.config["PORTAL_BASE_URL"].split("://")[-1].split("/")[0] or "portal"
    entry.add("uid", f"event-{event.id}@{host}")
    entry.add("dtstamp", utcnow())
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.ends_at)
    entry.add("summary", _text(event, "title"))
    description = _text(event, "description")
    confirmed = confirmed or (
        registration is not None and registration.status in ("confirmed", "checked_in")
    )
    if confirmed and event.online_url:
        description = f"{description}\n\n{event.online_url}".strip()
    entry.add("description", description)
    location = _text(event, "venue")
    if location:
        entry.add("location", location)
    if confirmed and event.online_url:
        entry.add("url", event.online_url)
    entry.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    return entry


def _calendar(name: str) -> Calendar:
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    return calendar


def event_ics(
    event: Event, registration: Registration | None = None, *, confirmed: bool = False
) -> bytes:
    """One event as an .ics file; the online link only for a confirmed attendee."""
    calendar = _calendar(_text(event, "title"))
    calendar.add_component(_calendar_event(event, registration, confirmed=confirmed))
    return calendar.to_ical()


@attachment_drawer("confirmed-event-ics")
def _confirmed_event_ics(event_id: str) -> bytes | None:
    from portal.events.models import Event  # the models import this module's neighbours

    event = db.session.get(Event, int(event_id))
    return event_ics(event, confirmed=True) if event is not None else None


def ticket_attachments(event_id: int, code: str) -> tuple[DrawnAttachment, ...]:
    """What a confirmed registrant's mail carries, drawn by the mail worker when it sends:
    the event's calendar entry (as the event is then) and the ticket's QR code."""
    return (
        DrawnAttachment("event.ics", "text/calendar", "confirmed-event-ics", str(event_id)),
        DrawnAttachment.qr_code("ticket-qr.png", qr_payload(code)),
    )


def feed_ics(registrations: Iterable[Registration]) -> bytes:
    """A person's calendar feed: the events they hold a live registration for."""
    calendar = _calendar("LINK-J")
    for registration in registrations:
        calendar.add_component(_calendar_event(registration.event, registration))
    return calendar.to_ical()


def qr_payload(code: str) -> str:
    return f"LINKJ-TICKET:{code}"


def qr_png(code: str) -> bytes:
    return qr_code_png(qr_payload(code))


def qr_svg(code: str) -> str:
    """An SVG QR code to place in a page (no inline style: the CSP forbids it)."""
    return segno.make(qr_payload(code), error="m").svg_inline(
        scale=6, border=2, title="QR", omitsize=False
    )


def ensure_calendar_token(person: Person) -> str:
    """The secret in the person's calendar-feed address, made on first use."""
    if not person.calendar_token:
        person.calendar_token = secrets.token_urlsafe(24)
        db.session.commit()
    return person.calendar_token

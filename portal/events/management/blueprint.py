"""Every address of the event management pages, and what their templates share.

The blueprint comes from ``portal.admin.access.management_blueprint``: under ``/admin``,
behind the one role check (staff or partner admin), never stored by a cache.
"""

from __future__ import annotations

from typing import Any

from portal.admin.access import management_blueprint
from portal.events.labels import audience_label, event_status_label
from portal.events.management import checkin, pages, registrations

blueprint = management_blueprint("events_manage", __name__)

GET, POST, BOTH = ["GET"], ["POST"], ["GET", "POST"]
EVENT = "/events/<slug>"
REGISTRATION = f"{EVENT}/registrations/<int:registration_id>"

for rule, view, methods in (
    ("/events", pages.events, GET),
    ("/events/new", pages.new_event, BOTH),
    (f"{EVENT}/edit", pages.edit_event, BOTH),
    (f"{EVENT}/publish", pages.publish_event, POST),
    (f"{EVENT}/cancel", pages.cancel_event, POST),
    (f"{EVENT}/registrations", registrations.event_registrations, GET),
    (f"{EVENT}/registrations.csv", registrations.event_registrations_csv, GET),
    (f"{REGISTRATION}/approve", registrations.approve_registration, POST),
    (f"{REGISTRATION}/reject", registrations.reject_registration, POST),
    (f"{REGISTRATION}/cancel", registrations.cancel_registration, POST),
    (f"{REGISTRATION}/promote", registrations.promote_registration, POST),
    (f"{EVENT}/mail", registrations.mail_registrants, POST),
    (f"{EVENT}/checkin", checkin.event_checkin, BOTH),
    (f"{EVENT}/counts", checkin.event_counts, GET),
):
    blueprint.add_url_rule(rule, view_func=view, methods=methods)


@blueprint.app_context_processor
def admin_event_helpers() -> dict[str, Any]:
    """App-wide: pages outside these (the admin overview) show events the same way."""
    return {
        "event_status_label": event_status_label,
        "audience_label": audience_label,
    }

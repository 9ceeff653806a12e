"""Registration states in the reader's words, for pages, mail and messages alike."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.events.models import RegistrationStatus

REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.PENDING_APPROVAL: _l("Awaiting approval"),
    RegistrationStatus.AWAITING_PAYMENT: _l("Seat held, awaiting payment"),
    RegistrationStatus.CONFIRMED: _l("Confirmed"),
    RegistrationStatus.CHECKED_IN: _l("Checked in"),
    RegistrationStatus.WAITLISTED: _l("On the waitlist"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
    RegistrationStatus.REJECTED: _l("Not accepted"),
}


def registration_status_label(status: str) -> str:
    return str(REGISTRATION_STATUS_LABELS[RegistrationStatus(status)])

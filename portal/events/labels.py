"""Events' kinds, states and choices in the reader's words, for pages, mail and messages alike.

Every page that names them (the event pages, their management pages, the admin overview)
imports them from here.
"""

from __future__ import annotations

from portal.events.models import (
    Audience,
    EventKind,
    EventLanguage,
    EventStatus,
    QuestionKind,
    RegistrationStatus,
    Visibility,
)
from portal.language import lazy_gettext as _l
from portal.language import lazy_pgettext

REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.PENDING_APPROVAL: _l("Awaiting approval"),
    RegistrationStatus.AWAITING_PAYMENT: _l("Seat held, awaiting payment"),
    RegistrationStatus.CONFIRMED: _l("Confirmed"),
    RegistrationStatus.CHECKED_IN: _l("Checked in"),
    RegistrationStatus.WAITLISTED: _l("On the waitlist"),
    # "Cancelled" names two things: a registration withdrawn (キャンセル済み), an event called
    # off (中止); and a claim withdrawn (取り下げ). Each has its own context.
    RegistrationStatus.CANCELLED: lazy_pgettext("registration status", "Cancelled"),
    RegistrationStatus.REJECTED: _l("Not accepted"),
}
KIND_LABELS = {
    EventKind.SEMINAR: _l("Seminar"),
    EventKind.FORUM: _l("Forum"),
    EventKind.SYMPOSIUM: _l("Symposium"),
    EventKind.SITE_VISIT: _l("Site visit"),
    EventKind.WORKSHOP: _l("Workshop"),
    EventKind.NETWORKING: _l("Networking"),
}
LANGUAGE_LABELS = {
    EventLanguage.JA: _l("Japanese"),
    EventLanguage.EN: _l("English"),
    EventLanguage.BOTH: _l("Japanese and English"),
}
EVENT_STATUS_LABELS = {
    EventStatus.DRAFT: _l("Draft"),
    EventStatus.PUBLISHED: _l("Published"),
    EventStatus.CANCELLED: lazy_pgettext("event status", "Cancelled"),
}
VISIBILITY_LABELS = {
    Visibility.PUBLIC: _l("Public: anyone"),
    Visibility.NETWORK: _l("Members of LINK-J and of partners"),
    Visibility.LINKJ: _l("LINK-J members only"),
}
AUDIENCE_LABELS = {
    Audience.LINKJ_MEMBER: _l("LINK-J member"),
    Audience.PARTNER_MEMBER: _l("Partner member (under an MOU)"),
    Audience.NON_MEMBER: _l("Non-member"),
    Audience.STUDENT: _l("Student"),
}
QUESTION_KIND_LABELS = {
    QuestionKind.TEXT: _l("Text"),
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTIPLE: _l("Multiple choice"),
}


def registration_status_label(status: str) -> str:
    return str(REGISTRATION_STATUS_LABELS[RegistrationStatus(status)])


def event_kind_label(kind: str) -> str:
    return str(KIND_LABELS[EventKind(kind)])


def event_language_label(language: str) -> str:
    return str(LANGUAGE_LABELS[EventLanguage(language)])


def event_status_label(status: str) -> str:
    """Unknown states are shown as they are stored rather than failing the page."""
    return str(EVENT_STATUS_LABELS.get(status, status))


def audience_label(audience: str) -> str:
    return str(AUDIENCE_LABELS.get(audience, audience))

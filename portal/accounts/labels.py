"""How the accounts area's states and kinds read, in the viewer's language.

App-wide template globals (``TEMPLATE_GLOBALS``, registered with the account pages):
the pages of other areas show memberships and roles too.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from portal.accounts.models import MembershipKind, MembershipStatus, Role, VerificationSource
from portal.i18n import person_name
from portal.language import gettext
from portal.language import lazy_gettext as _l

MEMBERSHIP_STATUS_LABELS = {
    MembershipStatus.PENDING: _l("Pending verification"),
    MembershipStatus.VERIFIED: _l("Verified"),
    MembershipStatus.REJECTED: _l("Rejected"),
    MembershipStatus.EXPIRED: _l("Expired"),
    MembershipStatus.REVOKED: _l("Revoked"),
}
MEMBERSHIP_KIND_LABELS = {
    MembershipKind.CORPORATE: _l("Corporate membership"),
    MembershipKind.INDIVIDUAL: _l("Individual membership"),
}
ROLE_LABELS = {
    Role.PARTNER_ADMIN: _l("Partner admin"),
    Role.STAFF: _l("LINK-J staff"),
    Role.ADMIN: _l("Administrator"),
}
#: The tabs of the verification queue (``queries.QUEUE_FILTERS``).
QUEUE_FILTER_LABELS = {
    "pending": _l("Pending"),
    "verified": _l("Verified"),
    "flagged": _l("Not on the latest roster"),
    "rejected": _l("Rejected"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
    "all": _l("All"),
}
VERIFICATION_SOURCE_LABELS = {
    VerificationSource.MANUAL: _l("By an admin"),
    VerificationSource.ROSTER: _l("By a roster match"),
    VerificationSource.DOMAIN_RULE: _l("By an email-domain rule"),
    VerificationSource.INVITATION: _l("By a corporate member's invitation"),
}
#: How an uploaded roster was read (``csvfile.decode_upload``).
ROSTER_ENCODING_LABELS = {
    "utf-8-sig": _l("UTF-8"),
    "utf-8": _l("UTF-8"),
    "cp932": _l("Shift_JIS (Japanese Excel)"),
}


def membership_status_label(status: str) -> str:
    return str(MEMBERSHIP_STATUS_LABELS[MembershipStatus(status)])


def membership_kind_label(kind: str) -> str:
    return str(MEMBERSHIP_KIND_LABELS[MembershipKind(kind)])


def verified_via_label(via: str) -> Any:
    return VERIFICATION_SOURCE_LABELS.get(via, via)


def encoding_label(encoding: str) -> Any:
    return ROSTER_ENCODING_LABELS.get(encoding, encoding)


#: The queue's flags on a row (``queries.queue_flags``).
QUEUE_FLAG_LABELS = {
    "unconfirmed_email": _l("Email not confirmed"),
    "shared_number": _l("Member number claimed by several people"),
    "on_roster": _l("On the latest roster"),
}


def role_label(person: Any) -> Any:
    """The role a signed-in person acts in, as the header names it (the highest they hold)."""
    for role in (Role.ADMIN, Role.STAFF, Role.PARTNER_ADMIN):
        if person.has_role(role):
            return ROLE_LABELS[role]
    return _l("Member")


def signed_in_as(person: Any) -> Markup:
    """The header's line naming the signed-in person and the role they act in. The page cache
    takes it out of a page it keeps for everyone of an audience and prints it again for each
    reader (``portal.pagecache``), so it is built in one place."""
    if getattr(person, "header_name", None) is not None:  # an error page's stand-in
        who, role = person.header_name, person.header_role
    else:
        who, role = person_name(person), role_label(person)
    return Markup(  # noqa: S704 - both parts escaped
        '<p class="signed-in-as">%s · <span class="signed-in-role">%s</span></p>'
    ) % (gettext("Signed in as %(name)s", name=who), role)


TEMPLATE_GLOBALS: dict[str, Any] = {
    "role_label": role_label,
    "signed_in_as": signed_in_as,
    "membership_status_label": membership_status_label,
    "membership_kind_label": membership_kind_label,
    "verified_via_label": verified_via_label,
    "encoding_label": encoding_label,
    "role_labels": ROLE_LABELS,
    "queue_filter_labels": QUEUE_FILTER_LABELS,
    "queue_flag_labels": QUEUE_FLAG_LABELS,
}

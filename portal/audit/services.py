"""Writing to the audit log, inside the caller's transaction; announcing what is not audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portal.audit.models import AuditEntry
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Person


@dataclass(frozen=True)
class Announcement:
    """Something that happened and is news to an organization, but no decision to audit
    (a member's own claim or registration): told to the listeners as an entry is, never
    written to the audit log (rule 7 keeps that for decisions)."""

    action: str
    subject_type: str
    subject_id: int | None
    organization_id: int | None
    details: dict[str, Any] = field(default_factory=dict)


#: Told of each entry as it joins the transaction, and of each announcement; higher areas
#: register here (the API queues its webhooks so, in the transaction of the change they report).
LISTENERS: list[Callable[[AuditEntry | Announcement], None]] = []


def record(
    action: str,
    *,
    actor: Person | None,
    subject_type: str,
    subject_id: int | None,
    organization_id: int | None = None,
    reason: str = "",
    **details: Any,
) -> AuditEntry:
    """Add an audit entry to the current transaction (rule 7); it commits with the change."""
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor else None,
        subject_type=subject_type,
        subject_id=subject_id,
        organization_id=organization_id,
        reason=reason,
        details=details,
    )
    db.session.add(entry)
    for listener in LISTENERS:
        listener(entry)
    return entry


def announce(
    action: str,
    *,
    subject_type: str,
    subject_id: int | None,
    organization_id: int | None,
    **details: Any,
) -> Announcement:
    """Tell the listeners of a change in the current transaction, without an audit entry:
    what they queue commits with the change, or rolls back with it."""
    announcement = Announcement(action, subject_type, subject_id, organization_id, details)
    for listener in LISTENERS:
        listener(announcement)
    return announcement

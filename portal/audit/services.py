"""Writing to the audit log, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portal.audit.models import AuditEntry
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Person


#: Told of each entry as it joins the transaction; higher areas register here (the API queues
#: its webhooks so, in the transaction of the change they report).
LISTENERS: list[Callable[[AuditEntry], None]] = []


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

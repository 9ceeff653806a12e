"""Writing to the audit log, inside the caller's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portal.audit.models import AuditEntry
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Person


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
    return entry

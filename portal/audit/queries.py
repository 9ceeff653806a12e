"""Reading the audit log (rule 7)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.audit.models import AuditEntry
from portal.extensions import db


def history(subject_type: str, subject_id: int) -> list[AuditEntry]:
    """What was decided about one record, oldest first, with who decided."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
            .options(joinedload(AuditEntry.actor))
            .order_by(AuditEntry.occurred_at, AuditEntry.id)
        )
    )

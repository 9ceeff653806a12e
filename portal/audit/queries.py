"""Reading the audit log (rule 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.audit.models import AuditEntry
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import Person
    from portal.organizations.models import Organization

PAGE_SIZE = 50


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


def audit_log(actor: Person, *, organization: Organization | None, page: int = 1) -> Pagination:
    """Every area's entries, newest first: staff see all (or one organization's); a partner
    admin only their organization's (rule 4)."""
    query = select(AuditEntry).options(
        joinedload(AuditEntry.actor), joinedload(AuditEntry.organization)
    )
    if organization is not None:
        query = query.where(AuditEntry.organization_id == organization.id)
    elif not actor.is_staff:
        query = query.where(AuditEntry.organization_id == actor.administered_organization_id)
    query = query.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)

"""Every model, imported in one place so Alembic and the mappers see the whole schema."""

from portal.accounts.models import (
    Company,
    EmailDomainRule,
    Invitation,
    Membership,
    Person,
    RoleGrant,
    RosterEntry,
    RosterUpload,
)
from portal.audit.models import AuditEntry
from portal.benefits.models import BenefitClaim, BenefitCode
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Agreement, Organization, ReciprocalService

__all__ = [
    "Agreement",
    "AuditEntry",
    "BenefitClaim",
    "BenefitCode",
    "Company",
    "EmailDomainRule",
    "Invitation",
    "Membership",
    "Organization",
    "OutboxMessage",
    "Person",
    "ReciprocalService",
    "RoleGrant",
    "RosterEntry",
    "RosterUpload",
]

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
from portal.events.models import Event, EventSession, Question, Registration, TicketType
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Agreement, Organization, ReciprocalService

__all__ = [
    "Agreement",
    "AuditEntry",
    "Company",
    "EmailDomainRule",
    "Event",
    "EventSession",
    "Invitation",
    "Membership",
    "Organization",
    "OutboxMessage",
    "Person",
    "Question",
    "ReciprocalService",
    "Registration",
    "RoleGrant",
    "RosterEntry",
    "RosterUpload",
    "TicketType",
]

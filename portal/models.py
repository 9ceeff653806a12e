"""Every model, imported in one place so Alembic and the mappers see the whole schema."""

from portal.accounts.models import (
    Company,
    CrossBorderConsent,
    EmailDomainRule,
    Invitation,
    Membership,
    Person,
    RoleGrant,
    RosterEntry,
    RosterUpload,
)
from portal.api.models import (
    ApiJob,
    ApiKey,
    IdempotentResponse,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.audit.models import AuditEntry
from portal.benefits.models import BenefitClaim, BenefitCode
from portal.events.models import Event, EventSession, Question, Registration, TicketType
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Agreement, Organization, ReciprocalService
from portal.payments.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    Refund,
    StripeEvent,
)

__all__ = [
    "Agreement",
    "ApiJob",
    "ApiKey",
    "AuditEntry",
    "BenefitClaim",
    "BenefitCode",
    "Company",
    "CrossBorderConsent",
    "EmailDomainRule",
    "Event",
    "IdempotentResponse",
    "EventSession",
    "Invitation",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "Membership",
    "Organization",
    "OutboxMessage",
    "Payment",
    "Person",
    "Question",
    "ReciprocalService",
    "Refund",
    "Registration",
    "RoleGrant",
    "RosterEntry",
    "RosterUpload",
    "StripeEvent",
    "TicketType",
    "WebhookDelivery",
    "WebhookEndpoint",
]

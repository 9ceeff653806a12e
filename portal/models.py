"""Every model, imported in one place so Alembic and the mappers see the whole schema."""

from portal.accounts.factors.models import (
    AuthenticatorApp,
    FactorGrace,
    Passkey,
    RecoveryCode,
)
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
from portal.dues.models import (
    DuesCharge,
    DuesPlan,
    MemberPlan,
    MembershipApplication,
    OrientationSlot,
)
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
    "AuthenticatorApp",
    "BenefitClaim",
    "BenefitCode",
    "Company",
    "CrossBorderConsent",
    "DuesCharge",
    "DuesPlan",
    "EmailDomainRule",
    "Event",
    "IdempotentResponse",
    "EventSession",
    "FactorGrace",
    "Invitation",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "MemberPlan",
    "Membership",
    "MembershipApplication",
    "Organization",
    "Passkey",
    "OrientationSlot",
    "OutboxMessage",
    "Payment",
    "Person",
    "Question",
    "ReciprocalService",
    "RecoveryCode",
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

"""Email-domain rules: an organization's admins name domains only its members have
addresses at; a confirmed address there verifies a claim at once (``automatic_verification``)."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.addresses import clean_domain
from portal.accounts.automatic_verification import apply_to_pending
from portal.accounts.memberships import require_decider
from portal.accounts.models import EmailDomainRule, Person
from portal.audit.services import record
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.language import gettext as _
from portal.organizations.models import Organization


def add_domain_rule(
    organization: Organization, domain: str, *, actor: Person, note: str = ""
) -> tuple[EmailDomainRule, int]:
    """Verify automatically the confirmed addresses at ``domain``; returns the rule and how
    many pending claims it verified at once."""
    require_decider(actor, organization)
    cleaned = clean_domain(domain)
    exists = db.session.scalar(
        select(EmailDomainRule.id).where(
            EmailDomainRule.organization_id == organization.id, EmailDomainRule.domain == cleaned
        )
    )
    if exists:
        raise InvalidTransition(_("This domain already has a rule."))
    rule = EmailDomainRule(
        organization_id=organization.id, domain=cleaned, created_by_id=actor.id, note=note.strip()
    )
    db.session.add(rule)
    db.session.flush()
    record(
        "domain_rule.add",
        actor=actor,
        subject_type="email_domain_rule",
        subject_id=rule.id,
        organization_id=organization.id,
        domain=cleaned,
    )
    verified = len(apply_to_pending(organization))
    db.session.commit()
    return rule, verified


def remove_domain_rule(rule: EmailDomainRule, *, actor: Person) -> None:
    """Stop verifying by this domain; memberships it verified stay until their end."""
    organization = db.session.get(Organization, rule.organization_id)
    assert organization is not None
    require_decider(actor, organization)
    record(
        "domain_rule.remove",
        actor=actor,
        subject_type="email_domain_rule",
        subject_id=rule.id,
        organization_id=organization.id,
        domain=rule.domain,
    )
    db.session.delete(rule)
    db.session.commit()

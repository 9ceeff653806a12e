"""Read-only queries for the account and verification pages, scoped to the actor (rule 4).

Each loads what its page shows in a fixed number of statements, whatever the row count.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, bindparam, exists, func, inspect, select
from sqlalchemy.orm import defer, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.strategy_options import _AbstractLoad

from portal.accounts.memberships import can_decide_memberships, can_view_memberships, today
from portal.accounts.models import (
    LIVE_MEMBERSHIP_STATES,
    Company,
    EmailDomainRule,
    Invitation,
    LoginSession,
    Membership,
    MembershipStatus,
    Person,
    RoleGrant,
    RosterEntry,
    RosterUpload,
)
from portal.accounts.search import person_matches
from portal.audit import queries as audit_queries
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.extensions import db
from portal.organizations.models import (
    Agreement,
    Organization,
    OrganizationKind,
    ReciprocalService,
)

#: The organizations' and MOUs' prose is not read with the signed-in person (every request
#: reads that graph, and each process remembers it per session): the pages that print it read
#: those rows themselves, which fills it in (and it loads on first use anywhere else).
_ORGANIZATION_PROSE = (defer(Organization.description_en), defer(Organization.description_ja))
_AGREEMENT_PROSE = (
    defer(Agreement.summary_en),
    defer(Agreement.summary_ja),
    defer(Agreement.document_url),
)


def memberships_and_their_mous() -> _AbstractLoad:
    """Load option: a person's memberships, their organizations and those organizations' MOUs
    (prices and what may be seen depend on them), joined: a person has a few of each. An
    MOU's partner is the membership's organization, already loaded: joining it again would
    only add its columns to every row (``agreement.partner`` is found in the session)."""
    return (
        joinedload(Person.memberships)
        .joinedload(Membership.organization)
        .options(*_ORGANIZATION_PROSE)
        .joinedload(Organization.agreements_as_partner)
        .options(*_AGREEMENT_PROSE)
    )


@functools.cache
def _person_by_id() -> Select:
    # Built once: every signed-in request runs it or its twin below, and building it (and
    # its loader options' cache key) costs about as much as running it.
    return (
        select(Person, *_RARE_COLLECTIONS)
        .where(Person.id == bindparam("person_id"))
        .options(*_person_graph())
    )


def person_with_roles_and_mous(person_id: int) -> Person | None:
    """A person with roles, memberships and their organizations' MOUs, read at once: the
    header, the admin area, prices and visibility all ask for them."""
    row = db.session.execute(_person_by_id(), {"person_id": person_id}).unique().one_or_none()
    if row is None:
        return None
    person, *rare = row
    settle_rare_collections(person, *rare)
    return person


@functools.cache
def signed_in_person_and_session() -> Select:
    """The session row named by ``token_hash`` and its person with the same graph as
    ``person_with_roles_and_mous`` (and whether they hold roles or manage company seats,
    for ``settle_rare_collections``), in one statement: the session's loader runs it on
    every signed-in request, so reading the row and the person apart cost a round trip each."""
    return (
        select(Person, LoginSession, *_RARE_COLLECTIONS)
        .join(LoginSession, LoginSession.person_id == Person.id)
        .where(LoginSession.token_hash == bindparam("token_hash"))
        .options(*_person_graph())
    )


def _person_graph() -> tuple[_AbstractLoad, ...]:
    return (
        memberships_and_their_mous(),
        # The dashboard shows each membership's company: loaded here, not read again.
        joinedload(Person.memberships).joinedload(Membership.company),
    )


#: Whether the person holds any role, and manages any company's seats. Few people do either,
#: yet joining those two collections into the statement above cost every signed-in request
#: about a third of that statement (the ORM sets up each joined collection afresh on each
#: run): the statement asks instead whether there are any, and the collections are read only
#: for the people who have some.
_RARE_COLLECTIONS = (
    exists().where(RoleGrant.person_id == Person.id).label("holds_roles"),
    exists().where(Company.primary_contact_id == Person.id).label("contacts_companies"),
)


def settle_rare_collections(person: Person, holds_roles: bool, contacts_companies: bool) -> None:
    """Fill in ``person``'s roles and companies from what the statement learnt: empty when
    they have none (no statement); their roles with one more statement when they hold some
    (the header and every permission check read them); the companies they manage on first
    use (only their dashboard reads them). A collection already loaded is left as it is."""
    loaded = inspect(person).dict
    if "role_grants" not in loaded:
        grants = _role_grants_of(person.id) if holds_roles else []
        set_committed_value(person, "role_grants", grants)
    if "companies_contacted" not in loaded and not contacts_companies:
        set_committed_value(person, "companies_contacted", [])


def _role_grants_of(person_id: int) -> list[RoleGrant]:
    return list(
        db.session.scalars(
            select(RoleGrant)
            .where(RoleGrant.person_id == person_id)
            .options(joinedload(RoleGrant.organization).options(*_ORGANIZATION_PROSE))
            .order_by(RoleGrant.id)
        )
    )


QUEUE_PAGE_SIZE = 50


@dataclass(frozen=True)
class OpenedServices:
    """What one verified membership opens: per MOU, the services the other party provides."""

    membership: Membership
    by_agreement: list[tuple[Agreement, list[ReciprocalService]]]


def person_with_memberships(person_id: int) -> Person | None:
    return db.session.scalar(
        select(Person)
        .where(Person.id == person_id)
        .options(
            selectinload(Person.memberships).joinedload(Membership.organization),
            selectinload(Person.memberships).joinedload(Membership.company),
            selectinload(Person.role_grants).joinedload(RoleGrant.organization),
        )
    )


def services_opened_by(person: Person, on: date | None = None) -> list[OpenedServices]:
    """For each membership verified on ``on``: the services of MOUs in force it opens (rule 3).

    Without ``on``, "today" is the date where each membership's organization is.
    """

    def day(organization: Organization) -> date:
        return on or today(organization)

    verified = [m for m in person.memberships if m.is_verified_on(day(m.organization))]
    if not verified:
        return []
    services = db.session.scalars(
        _services_for_beneficiaries(),
        {"beneficiaries": sorted({m.organization_id for m in verified})},
    ).all()
    opened = []
    for membership in verified:
        grouped: dict[int, tuple[Agreement, list[ReciprocalService]]] = {}
        for service in services:
            if service.beneficiary_id != membership.organization_id:
                continue
            if not service.agreement.is_in_force(day(membership.organization)):
                continue
            grouped.setdefault(service.agreement_id, (service.agreement, []))[1].append(service)
        opened.append(OpenedServices(membership, list(grouped.values())))
    return opened


@functools.cache
def _services_for_beneficiaries() -> Select:
    # Built once: the benefits page runs it on every view.
    return (
        select(ReciprocalService)
        .where(ReciprocalService.beneficiary_id.in_(bindparam("beneficiaries", expanding=True)))
        .options(
            joinedload(ReciprocalService.agreement).joinedload(Agreement.partner),
            joinedload(ReciprocalService.agreement).joinedload(Agreement.hub),
            joinedload(ReciprocalService.provider),
        )
        .order_by(ReciprocalService.agreement_id, ReciprocalService.position)
    )


def organizations_for_admin(actor: Person) -> list[tuple[Organization, int, bool]]:
    """The organizations whose queues the actor may see, with pending counts and whether
    the actor may decide there."""
    pending = dict(
        db.session.execute(
            select(Membership.organization_id, func.count(Membership.id))
            .where(Membership.status == MembershipStatus.PENDING.value)
            .group_by(Membership.organization_id)
        ).all()
    )
    organizations = db.session.scalars(
        # A host (Kobe City) has no members to verify.
        select(Organization)
        .where(Organization.kind != OrganizationKind.HOST)
        .order_by(Organization.id)
    ).all()
    return [
        (o, pending.get(o.id, 0), can_decide_memberships(actor, o))
        for o in organizations
        if can_view_memberships(actor, o)
    ]


def organization_for_admin(actor: Person, slug: str) -> Organization | None:
    """The organization, if the actor may see its memberships; None (→ 404) otherwise."""
    organization = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if organization is None or not can_view_memberships(actor, organization):
        return None
    return organization


QUEUE_FILTERS = ("pending", "verified", "flagged", "rejected", "revoked", "expired", "all")


def verification_queue(
    organization: Organization, *, status: str, search: str = "", page: int = 1
) -> Pagination:
    """One page of an organization's memberships: pending ones oldest first, others newest."""
    # No join for the page count unless searching: joinedload fetches the people per page.
    query = (
        select(Membership)
        .where(Membership.organization_id == organization.id)
        .options(joinedload(Membership.person), joinedload(Membership.company))
    )
    if status == "flagged":
        query = query.where(
            Membership.status == MembershipStatus.VERIFIED.value,
            Membership.missing_from_roster_since.is_not(None),
        )
    elif status != "all":
        query = query.where(Membership.status == MembershipStatus(status).value)
    matches = person_matches(search, Membership.member_number)
    if matches is not None:
        query = query.join(Membership.person).where(matches)
    if status == "pending":
        query = query.order_by(Membership.created_at, Membership.id)
    else:
        query = query.order_by(Membership.created_at.desc(), Membership.id.desc())
    return db.paginate(query, page=page, per_page=QUEUE_PAGE_SIZE, error_out=False)


#: What the queue flags on a row, for the admin deciding it.
UNCONFIRMED_EMAIL = "unconfirmed_email"
SHARED_NUMBER = "shared_number"
ON_ROSTER = "on_roster"


def queue_flags(organization: Organization, rows: list[Membership]) -> dict[int, list[str]]:
    """Per membership shown: its address is unconfirmed, its member number is claimed by
    another person too (live claims), or the latest roster lists its number or address.
    Two statements for the page, however many rows."""
    flags: dict[int, list[str]] = {m.id: [] for m in rows}
    for membership in rows:
        if not membership.person.email_confirmed:
            flags[membership.id].append(UNCONFIRMED_EMAIL)
    numbers = {m.member_number for m in rows if m.member_number}
    shared: set[str] = set()
    if numbers:
        shared = set(
            db.session.scalars(
                select(Membership.member_number)
                .where(
                    Membership.organization_id == organization.id,
                    Membership.member_number.in_(numbers),
                    Membership.status.in_([s.value for s in LIVE_MEMBERSHIP_STATES]),
                )
                .group_by(Membership.member_number)
                .having(func.count(func.distinct(Membership.person_id)) > 1)
            )
        )
    emails = {m.person.email_normalized for m in rows}
    latest = (
        select(RosterUpload.id)
        .where(RosterUpload.organization_id == organization.id)
        .order_by(RosterUpload.uploaded_at.desc(), RosterUpload.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    listed = db.session.execute(
        select(RosterEntry.member_number, RosterEntry.email_normalized).where(
            RosterEntry.upload_id == latest,
            (RosterEntry.member_number.in_(numbers or {""}))
            | (RosterEntry.email_normalized.in_(emails or {""})),
        )
    ).all()
    listed_numbers = {number for number, _email in listed if number}
    listed_emails = {email for _number, email in listed if email}
    for membership in rows:
        if membership.member_number in shared:
            flags[membership.id].append(SHARED_NUMBER)
        if (
            membership.member_number in listed_numbers
            or membership.person.email_normalized in listed_emails
        ):
            flags[membership.id].append(ON_ROSTER)
    return flags


def membership_for_admin(actor: Person, membership_id: int) -> Membership | None:
    membership = db.session.scalar(
        select(Membership)
        .where(Membership.id == membership_id)
        .options(
            joinedload(Membership.person),
            joinedload(Membership.organization),
            joinedload(Membership.decided_by),
        )
    )
    if membership is None or not can_view_memberships(actor, membership.organization):
        return None
    return membership


def membership_history(membership: Membership) -> list[AuditEntry]:
    return audit_queries.history("membership", membership.id)


def latest_roster(organization: Organization) -> RosterUpload | None:
    return db.session.scalar(
        select(RosterUpload)
        .where(RosterUpload.organization_id == organization.id)
        .order_by(RosterUpload.uploaded_at.desc(), RosterUpload.id.desc())
        .limit(1)
    )


def domain_rules(organization: Organization) -> list[EmailDomainRule]:
    return list(
        db.session.scalars(
            select(EmailDomainRule)
            .where(EmailDomainRule.organization_id == organization.id)
            .order_by(EmailDomainRule.domain)
        )
    )


def domain_rule_for_admin(actor: Person, rule_id: int) -> EmailDomainRule | None:
    """The rule, if the actor decides its organization's memberships; None (→ 404) otherwise."""
    rule = db.session.scalar(
        select(EmailDomainRule)
        .where(EmailDomainRule.id == rule_id)
        .options(joinedload(EmailDomainRule.organization))
    )
    if rule is None or not can_decide_memberships(actor, rule.organization):
        return None
    return rule


def search_people(search: str, *, page: int = 1) -> Pagination:
    query = (
        select(Person)
        .where(Person.deleted_at.is_(None))
        .options(selectinload(Person.role_grants).joinedload(RoleGrant.organization))
        .order_by(Person.email_normalized)
    )
    matches = person_matches(search)
    if matches is not None:
        query = query.where(matches)
    return db.paginate(query, page=page, per_page=QUEUE_PAGE_SIZE, error_out=False)


def companies() -> list[tuple[Company, int]]:
    """Every corporate member with its seats taken: held (live memberships) plus promised
    (open, unexpired invitations), as the seat limit counts them."""
    held = dict(
        db.session.execute(
            select(Membership.company_id, func.count(Membership.id))
            .where(
                Membership.company_id.is_not(None),
                Membership.status.in_(["pending", "verified"]),
            )
            .group_by(Membership.company_id)
        ).all()
    )
    promised = dict(
        db.session.execute(
            select(Invitation.company_id, func.count(Invitation.id))
            .where(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .group_by(Invitation.company_id)
        ).all()
    )
    rows = db.session.scalars(
        select(Company).options(joinedload(Company.primary_contact)).order_by(Company.name)
    ).all()
    return [(c, held.get(c.id, 0) + promised.get(c.id, 0)) for c in rows]


def company_of_primary_contact(person: Person) -> Company | None:
    """The company whose seats the person manages (the first, should there be several)."""
    return person.companies_contacted[0] if person.companies_contacted else None


def company_seats(company: Company) -> tuple[list[Membership], list[Invitation]]:
    members = db.session.scalars(
        select(Membership)
        .where(
            Membership.company_id == company.id,
            Membership.status.in_(["pending", "verified"]),
        )
        .options(joinedload(Membership.person))
        .order_by(Membership.id)
    ).all()
    invitations = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.company_id == company.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.created_at)
    ).all()
    return list(members), list(invitations)

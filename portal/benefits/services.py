"""Who may claim what, claims and their decisions, and code pools.

``eligibility`` is the one place that decides whether a person may claim a service; the
catalogue, the claim itself, the provider's approval and any command or API call it. Claims
and approvals lock the service's row (``portal.locking.lock_rows``) before counting, so a
per-member limit and a pool of codes hold however many requests arrive at once.

Every function takes the acting person as an argument, never reads the request, commits
once at its end, writes decisions to the audit log (rule 7) and queues the mail reporting
them in the same transaction (rule 8). Refusals are DomainErrors with a message for the
person who acted.
"""

from __future__ import annotations

import csv
import enum
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import ColumnElement, false, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts import consents
from portal.accounts.memberships import today
from portal.accounts.models import Membership, MembershipStatus, Person, Role, RoleGrant
from portal.audit.services import record
from portal.benefits.models import (
    COUNTED_STATES,
    BenefitClaim,
    BenefitCode,
    ClaimStatus,
)
from portal.csvfile import decode_upload
from portal.db import utcnow
from portal.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.i18n import format_day
from portal.locking import Busy, lock_rows
from portal.notifications.services import external_url, queue_mail
from portal.organizations.models import (
    LimitPeriod,
    Organization,
    OrganizationKind,
    ReciprocalService,
    Redemption,
)


class NotEligible(DomainError):
    """The person may not claim this service now; the message says why."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


# --- who decides ---------------------------------------------------------------------------


def can_decide_claims(actor: Person | None, provider: Organization) -> bool:
    """The provider's partner admins decide claims on its services; staff decide LINK-J's."""
    return actor is not None and actor.acts_for(provider)


def can_view_claims(actor: Person | None, provider: Organization) -> bool:
    """Staff read every provider's claims; partner admins their own organization's (rule 4)."""
    return actor is not None and (actor.is_staff or can_decide_claims(actor, provider))


def visible_providers(actor: Person) -> ColumnElement[bool]:
    """``can_view_claims`` as a WHERE clause on ``ReciprocalService.provider_id``, for queries."""
    if actor.is_staff:
        return true()
    organization_id = actor.administered_organization_id
    if organization_id is None:
        return false()
    return ReciprocalService.provider_id == organization_id


def _require_decider(actor: Person, service: ReciprocalService) -> None:
    if not can_decide_claims(actor, service.provider):
        # 404, not 403: another organization's claims do not exist for this actor.
        raise NotFound(_("Not found."))


# --- eligibility ---------------------------------------------------------------------------


class Reason(enum.StrEnum):
    ELIGIBLE = "eligible"
    NOT_CLAIMABLE = "not_claimable"
    AGREEMENT_NOT_IN_FORCE = "agreement_not_in_force"
    NOT_YET_VALID = "not_yet_valid"
    NO_LONGER_VALID = "no_longer_valid"
    NO_MEMBERSHIP = "no_membership"
    MEMBERSHIP_PENDING = "membership_pending"
    MEMBERSHIP_EXPIRED = "membership_expired"
    ALREADY_REQUESTED = "already_requested"
    LIMIT_REACHED = "limit_reached"
    NO_CODES_LEFT = "no_codes_left"


@dataclass(frozen=True)
class Eligibility:
    """The answer of ``eligibility``: whether, why not, and the membership that grants it."""

    reason: Reason
    #: For the member ("You need a verified BIOCOM membership.").
    message: str
    #: For the provider deciding a claim ("The claimant has no verified BIOCOM membership.").
    message_for_decider: str
    membership: Membership | None = None
    #: Claims the person made in the current period (for "1 of 2 this year").
    used: int = 0
    #: Where a new claim goes when eligible: its period and the free place it takes there.
    period: str = ""
    slot: int = 0

    @property
    def eligible(self) -> bool:
        return self.reason == Reason.ELIGIBLE


@dataclass
class ClaimFacts:
    """What eligibility reads besides the service, loaded once for many services."""

    memberships: list[Membership]
    #: (claim id, service id, status, created_at, period, slot) of the person's live claims
    #: on these services.
    claims: list[tuple[int, int, str, datetime, str, int]]
    #: Free codes per code-pool service.
    free_codes: dict[int, int] = field(default_factory=dict)


def load_facts(person: Person, services: Sequence[ReciprocalService]) -> ClaimFacts:
    """The person's memberships and claims and the services' free codes, as the database has
    them now (three statements, however many services)."""
    service_ids = [s.id for s in services]
    memberships = list(
        db.session.scalars(
            select(Membership)
            .where(Membership.person_id == person.id)
            .options(joinedload(Membership.organization))
            .order_by(Membership.id)
            .execution_options(populate_existing=True)
        )
    )
    claims = [
        (row.id, row.service_id, row.status, row.created_at, row.period, row.slot)
        for row in db.session.execute(
            select(
                BenefitClaim.id,
                BenefitClaim.service_id,
                BenefitClaim.status,
                BenefitClaim.created_at,
                BenefitClaim.period,
                BenefitClaim.slot,
            ).where(
                BenefitClaim.person_id == person.id,
                BenefitClaim.service_id.in_(service_ids),
                BenefitClaim.status.in_([s.value for s in COUNTED_STATES]),
            )
        )
    ]
    pools = [s.id for s in services if s.redemption == Redemption.CODE_POOL]
    free_codes: dict[int, int] = {}
    if pools:
        free_codes = {
            service_id: count
            for service_id, count in db.session.execute(
                select(BenefitCode.service_id, func.count(BenefitCode.id))
                .where(BenefitCode.service_id.in_(pools), BenefitCode.claim_id.is_(None))
                .group_by(BenefitCode.service_id)
            )
        }
    return ClaimFacts(memberships=memberships, claims=claims, free_codes=free_codes)


def period_bounds(period: LimitPeriod | str, on: date) -> tuple[date, date] | None:
    """The calendar period containing ``on`` as [first day, first day of the next); None for
    ``ever``."""
    period = LimitPeriod(period)
    if period == LimitPeriod.EVER:
        return None
    if period == LimitPeriod.YEAR:
        return date(on.year, 1, 1), date(on.year + 1, 1, 1)
    if period == LimitPeriod.QUARTER:
        first_month = 3 * ((on.month - 1) // 3) + 1
        start = date(on.year, first_month, 1)
    else:
        start = date(on.year, on.month, 1)
    months = 3 if period == LimitPeriod.QUARTER else 1
    year, month = divmod(start.month - 1 + months, 12)
    return start, date(start.year + year, month + 1, 1)


def allowance(service: ReciprocalService) -> tuple[int, LimitPeriod]:
    """How many live claims a member may hold on the service, and the period they count in.

    Its limit in its limit period; a service with no limit is a one-off benefit, claimed once
    in all (a recurring offer says so with a limit per year, quarter or month).
    """
    if service.limit_per_member:
        return service.limit_per_member, LimitPeriod(service.limit_period)
    return 1, LimitPeriod.EVER


def period_key(period: LimitPeriod | str, on: date) -> str:
    """The stable name of the calendar period containing ``on``: ``2026``, ``2026-Q2``,
    ``2026-04``, or ``ever``."""
    period = LimitPeriod(period)
    if period == LimitPeriod.YEAR:
        return f"{on.year}"
    if period == LimitPeriod.QUARTER:
        return f"{on.year}-Q{(on.month - 1) // 3 + 1}"
    if period == LimitPeriod.MONTH:
        return f"{on.year}-{on.month:02d}"
    return LimitPeriod.EVER.value


def claim_period(service: ReciprocalService, at: datetime) -> str:
    """The allowance period a claim made at ``at`` counts in, on the provider's calendar."""
    day = at.astimezone(ZoneInfo(service.provider.timezone)).date()
    return period_key(allowance(service)[1], day)


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


def _limit_text(service: ReciprocalService) -> str:
    limit, period = allowance(service)
    if period == LimitPeriod.YEAR:
        return ngettext("%(num)d claim per year", "%(num)d claims per year", limit)
    if period == LimitPeriod.QUARTER:
        return ngettext("%(num)d claim per quarter", "%(num)d claims per quarter", limit)
    if period == LimitPeriod.MONTH:
        return ngettext("%(num)d claim per month", "%(num)d claims per month", limit)
    return ngettext("%(num)d claim in all", "%(num)d claims in all", limit)


def describe_limit(service: ReciprocalService) -> str:
    """ "2 claims per year"-style text for the catalogue."""
    return _limit_text(service)


def _messages(reason: Reason, service: ReciprocalService) -> tuple[str, str]:
    """(for the member, for the decider) explaining a refusal."""
    beneficiary = service.beneficiary.short_name
    if reason == Reason.NOT_CLAIMABLE:
        text = _("This service is not something members claim.")
        return text, text
    if reason == Reason.AGREEMENT_NOT_IN_FORCE:
        text = _("The MOU under which this service is offered is not in force.")
        return text, text
    if reason == Reason.NOT_YET_VALID:
        assert service.valid_from is not None
        return (
            _("It can be claimed from %(date)s.", date=format_day(service.valid_from)),
            _("The service is not open yet."),
        )
    if reason == Reason.NO_LONGER_VALID:
        assert service.valid_until is not None
        return (
            _("It could be claimed until %(date)s.", date=format_day(service.valid_until)),
            _("The service is no longer offered."),
        )
    if reason == Reason.NO_MEMBERSHIP:
        return (
            _("It is for verified %(organization)s members.", organization=beneficiary),
            _(
                "The claimant has no verified %(organization)s membership.",
                organization=beneficiary,
            ),
        )
    if reason == Reason.MEMBERSHIP_PENDING:
        return (
            _(
                "Your %(organization)s membership is waiting to be verified.",
                organization=beneficiary,
            ),
            _(
                "The claimant's %(organization)s membership is not verified.",
                organization=beneficiary,
            ),
        )
    if reason == Reason.MEMBERSHIP_EXPIRED:
        return (
            _("Your %(organization)s membership has expired.", organization=beneficiary),
            _(
                "The claimant's %(organization)s membership has expired.",
                organization=beneficiary,
            ),
        )
    if reason == Reason.ALREADY_REQUESTED:
        return (
            _("You asked for it already; the provider will decide."),
            _("The claimant has another open claim on this service."),
        )
    if reason == Reason.LIMIT_REACHED and allowance(service)[0] == 1:
        return (
            _("You have claimed it already (%(limit)s).", limit=_limit_text(service)),
            _(
                "The claimant has claimed it already (%(limit)s).",
                limit=_limit_text(service),
            ),
        )
    if reason == Reason.LIMIT_REACHED:
        return (
            _("You have used it as often as allowed (%(limit)s).", limit=_limit_text(service)),
            _(
                "The claimant has used it as often as allowed (%(limit)s).",
                limit=_limit_text(service),
            ),
        )
    return (
        _("All codes have been given out."),
        _("No code is left in the pool. Upload more codes first."),
    )


def _refusal(reason: Reason, service: ReciprocalService, *, used: int = 0) -> Eligibility:
    for_member, for_decider = _messages(reason, service)
    return Eligibility(reason, for_member, for_decider, used=used)


def eligibility(
    person: Person,
    service: ReciprocalService,
    *,
    on: date | None = None,
    facts: ClaimFacts | None = None,
    ignoring: BenefitClaim | None = None,
) -> Eligibility:
    """Whether ``person`` may claim ``service`` now (rule 3), and if not, why.

    The person needs a membership in the service's beneficiary organization that is verified
    and unexpired on that organization's date; the MOU must be in force; the service must
    be claimable and within its validity window (the provider's date); the person must have
    no open claim on it and hold fewer live (requested, granted or fulfilled) claims than its
    ``allowance`` in the current calendar period (the provider's), or in all for a service
    without a limit; a code pool must have a code left. ``on`` fixes the day for all of
    these. ``facts`` (from ``load_facts``) lets a page ask about many services with a
    constant number of queries; without it they are read now. ``ignoring`` leaves one claim
    out of the counts: the claim being approved.
    """
    beneficiary, provider = service.beneficiary, service.provider
    member_day = on or today(beneficiary)
    provider_day = on or today(provider)
    if facts is None:
        facts = load_facts(person, [service])

    if not service.claimable:
        return _refusal(Reason.NOT_CLAIMABLE, service)
    if not service.agreement.is_in_force(member_day):
        return _refusal(Reason.AGREEMENT_NOT_IN_FORCE, service)
    if service.valid_from and provider_day < service.valid_from:
        return _refusal(Reason.NOT_YET_VALID, service)
    if service.valid_until and provider_day > service.valid_until:
        return _refusal(Reason.NO_LONGER_VALID, service)

    memberships = [m for m in facts.memberships if m.organization_id == beneficiary.id]
    granting = next((m for m in memberships if m.is_verified_on(member_day)), None)
    if granting is None:
        states = {m.effective_status(member_day) for m in memberships}
        if MembershipStatus.PENDING in states:
            return _refusal(Reason.MEMBERSHIP_PENDING, service)
        if MembershipStatus.EXPIRED in states:
            return _refusal(Reason.MEMBERSHIP_EXPIRED, service)
        return _refusal(Reason.NO_MEMBERSHIP, service)

    ignored = ignoring.id if ignoring is not None else None
    claims = [c for c in facts.claims if c[1] == service.id and c[0] != ignored]
    if any(c[2] == ClaimStatus.REQUESTED for c in claims):
        return _refusal(Reason.ALREADY_REQUESTED, service)
    limit, period = allowance(service)
    bounds = period_bounds(period, provider_day)
    if bounds is not None:
        start, end = (_local_midnight(day, provider.timezone) for day in bounds)
        claims = [c for c in claims if start <= c[3] < end]
    used = len(claims)
    if used >= limit:
        return _refusal(Reason.LIMIT_REACHED, service, used=used)
    if service.redemption == Redemption.CODE_POOL and facts.free_codes.get(service.id, 0) < 1:
        return _refusal(Reason.NO_CODES_LEFT, service, used=used)
    # The lowest place free in this period: the database's index refuses a second claim
    # that took the same one meanwhile.
    key = period_key(period, provider_day)
    taken = {c[5] for c in facts.claims if c[1] == service.id and c[0] != ignored and c[4] == key}
    slot = next(n for n in range(1, len(taken) + 2) if n not in taken)
    return Eligibility(
        Reason.ELIGIBLE, "", "", membership=granting, used=used, period=key, slot=slot
    )


# --- claims and decisions ------------------------------------------------------------------


def _reload_service(service_id: int) -> ReciprocalService:
    """The service and its MOU and parties as committed now (after the lock)."""
    service = db.session.scalar(
        select(ReciprocalService)
        .where(ReciprocalService.id == service_id)
        .options(
            joinedload(ReciprocalService.agreement),
            joinedload(ReciprocalService.provider),
            joinedload(ReciprocalService.beneficiary),
        )
        .execution_options(populate_existing=True)
    )
    if service is None:
        raise NotFound(_("Not found."))
    return service


def _lock_claim(claim: BenefitClaim) -> tuple[BenefitClaim, ReciprocalService]:
    """Lock the claim's service and read both again: decisions on one service are serial."""
    lock_rows(ReciprocalService.__table__, [claim.service_id])
    service = _reload_service(claim.service_id)
    db.session.refresh(claim)
    return claim, service


def _take_code(claim: BenefitClaim, service: ReciprocalService) -> str:
    """A free code of the pool for this claim; call with the service locked."""
    code = db.session.scalar(
        select(BenefitCode)
        .where(BenefitCode.service_id == service.id, BenefitCode.claim_id.is_(None))
        .order_by(BenefitCode.id)
        .limit(1)
    )
    if code is None:
        raise InvalidTransition(_("No code is left in the pool. Upload more codes first."))
    # Belt and braces: even a caller that forgot the lock cannot give one code twice.
    taken = db.session.execute(
        update(BenefitCode)
        .where(BenefitCode.id == code.id, BenefitCode.claim_id.is_(None))
        .values(claim_id=claim.id, assigned_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Busy()
    return code.code


def _grant(
    claim: BenefitClaim,
    service: ReciprocalService,
    *,
    actor: Person | None,
    membership: Membership | None,
    note: str = "",
) -> None:
    """Approve the claim in the current transaction: give it its code, audit, tell the member."""
    if service.redemption == Redemption.CODE_POOL:
        claim.code = _take_code(claim, service)
    elif service.redemption == Redemption.SHARED_CODE:
        claim.code = service.shared_code
    claim.status = ClaimStatus.APPROVED.value
    claim.membership_id = membership.id if membership else claim.membership_id
    claim.decided_by_id = actor.id if actor else None
    claim.decided_at = utcnow()
    claim.decision_note = note
    record(
        "benefit_claim.approve",
        actor=actor,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        reason=note,
        service=service.id,
        membership=claim.membership_id,
        automatic=actor is None,
    )
    _tell_member(claim, service, "claim_approved")


def _tell_member(claim: BenefitClaim, service: ReciprocalService, template: str) -> None:
    person = claim.person
    if person.deleted_at is not None:
        return
    queue_mail(
        to=person.email,
        template=f"benefits/{template}",
        locale=person.preferred_locale,
        person_id=person.id,
        person=person,
        claim=claim,
        service=service,
        claims_url=external_url("benefits.my_claims"),
    )


def deciders(provider: Organization) -> list[Person]:
    """Who decides claims on the provider's services: its partner admins, or LINK-J's staff."""
    if provider.kind == OrganizationKind.HUB:
        condition = RoleGrant.role.in_([Role.STAFF.value, Role.ADMIN.value])
    else:
        condition = (RoleGrant.role == Role.PARTNER_ADMIN.value) & (
            RoleGrant.organization_id == provider.id
        )
    return list(
        db.session.scalars(
            select(Person)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(condition, Person.deleted_at.is_(None))
            .distinct()
            .order_by(Person.id)
        )
    )


def _tell_deciders(claim: BenefitClaim, service: ReciprocalService) -> None:
    for decider in deciders(service.provider):
        queue_mail(
            to=decider.email,
            template="benefits/claim_to_decide",
            locale=decider.preferred_locale,
            person_id=decider.id,
            decider=decider,
            claimant=claim.person,
            claim=claim,
            service=service,
            claim_url=external_url("admin.claim", claim_id=claim.id),
        )


def claim_benefit(person: Person, service: ReciprocalService) -> BenefitClaim:
    """The person claims the service: granted at once (with its code) unless it needs the
    provider's approval, in which case it waits as ``requested`` and the deciders are told.

    Eligibility is checked again after locking the service row, so a member's allowance and
    a pool of codes hold under simultaneous claims; the claim takes a numbered place of its
    period, which a unique index keeps to one claim even where the lock was not taken.
    Raises NotEligible with the reason (a second open claim, the allowance used), Busy when
    the lock is not free in time.
    """
    lock_rows(ReciprocalService.__table__, [service.id])
    service = _reload_service(service.id)
    verdict = eligibility(person, service)
    if not verdict.eligible:
        db.session.rollback()
        raise NotEligible(verdict.message, verdict.reason)
    consents.require_consent(person, [service.provider])  # the provider's admins see the claim
    claim = BenefitClaim(
        service=service,
        person=person,
        membership=verdict.membership,
        status=ClaimStatus.REQUESTED.value,
        period=verdict.period,
        slot=verdict.slot,
    )
    db.session.add(claim)
    try:
        db.session.flush()
    except IntegrityError:
        # Another tab's claim, committed a moment ago, holds the place (the open-claim and
        # allowance indexes): the rule, asked again, now says why.
        db.session.rollback()
        verdict = eligibility(person, _reload_service(service.id))
        if not verdict.eligible:
            raise NotEligible(verdict.message, verdict.reason) from None
        raise Busy() from None
    record(
        "benefit_claim.request",
        actor=person,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        service=service.id,
        membership=claim.membership_id,
    )
    if service.requires_approval:
        _tell_deciders(claim, service)
    else:
        _grant(claim, service, actor=None, membership=verdict.membership)
    db.session.commit()
    return claim


def approve_claim(claim: BenefitClaim, *, actor: Person, note: str = "") -> None:
    """The provider approves a requested claim; the member gets the instructions or a code.

    The claimant's eligibility is checked again now: a membership that expired, an MOU
    no longer in force, a limit reached meanwhile or an empty code pool refuses the approval
    (NotEligible, the claim stays requested). Raises NotFound outside the actor's
    organization, InvalidTransition unless the claim is requested.
    """
    _require_decider(actor, claim.service)
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.REQUESTED:
        db.session.rollback()
        raise InvalidTransition(_("Only claims waiting for a decision can be approved."))
    verdict = eligibility(claim.person, service, ignoring=claim)
    if not verdict.eligible:
        db.session.rollback()
        raise NotEligible(
            _(
                "This claim cannot be approved: %(reason)s Reject it with a reason instead.",
                reason=verdict.message_for_decider,
            ),
            verdict.reason,
        )
    _grant(claim, service, actor=actor, membership=verdict.membership, note=note.strip())
    db.session.commit()


def reject_claim(claim: BenefitClaim, *, actor: Person, reason: str) -> None:
    """The provider refuses a requested claim with a reason the member sees (by mail too).

    Raises NotFound outside the actor's organization, InvalidInput without a reason,
    InvalidTransition unless the claim is requested.
    """
    _require_decider(actor, claim.service)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason; the member will see it."))
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.REQUESTED:
        db.session.rollback()
        raise InvalidTransition(_("Only claims waiting for a decision can be rejected."))
    claim.status = ClaimStatus.REJECTED.value
    claim.decided_by_id = actor.id
    claim.decided_at = utcnow()
    claim.decision_note = reason
    record(
        "benefit_claim.reject",
        actor=actor,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        reason=reason,
        service=service.id,
    )
    _tell_member(claim, service, "claim_rejected")
    db.session.commit()


def fulfil_claim(claim: BenefitClaim, *, actor: Person, note: str = "") -> None:
    """The provider records that an approved benefit was delivered (the visit took place…).

    Raises NotFound outside the actor's organization, InvalidTransition unless approved.
    """
    _require_decider(actor, claim.service)
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.APPROVED:
        db.session.rollback()
        raise InvalidTransition(_("Only approved claims can be marked as fulfilled."))
    claim.status = ClaimStatus.FULFILLED.value
    claim.fulfilled_at = utcnow()
    record(
        "benefit_claim.fulfil",
        actor=actor,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        reason=note.strip(),
        service=service.id,
    )
    db.session.commit()


def cancel_claim(claim: BenefitClaim, *, person: Person) -> None:
    """The member withdraws a claim that is still waiting for a decision.

    Raises NotFound for someone else's claim, InvalidTransition once it is decided.
    """
    if claim.person_id != person.id:
        raise NotFound(_("Not found."))
    claim, service = _lock_claim(claim)
    if claim.status != ClaimStatus.REQUESTED:
        db.session.rollback()
        raise InvalidTransition(_("This claim is already decided; it can no longer be cancelled."))
    claim.status = ClaimStatus.CANCELLED.value
    claim.cancelled_at = utcnow()
    record(
        "benefit_claim.cancel",
        actor=person,
        subject_type="benefit_claim",
        subject_id=claim.id,
        organization_id=service.provider_id,
        service=service.id,
    )
    db.session.commit()


# --- code pools ----------------------------------------------------------------------------

#: A code as a provider issues it (ticketing codes, coupon codes) is well under this.
MAX_CODE_LENGTH = 200
#: More than a year of claims of any service in the network.
MAX_CODES_PER_UPLOAD = 10_000
CODE_COLUMN_TITLES = {"code", "codes", "コード", "クーポンコード", "割引コード"}


def parse_codes(content: bytes) -> list[str]:
    """The codes of an uploaded CSV: the first column, one code a row, an optional title row.

    InvalidInput lists every problem (duplicates, over-long codes), so nothing half-imports.
    """
    text, _encoding = decode_upload(content)
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and unicodedata.normalize("NFKC", rows[0][0]).strip().lower() in CODE_COLUMN_TITLES:
        rows = rows[1:]
    codes = [row[0].strip() for row in rows]
    if not codes:
        raise InvalidInput(_("The file has no codes."))
    if len(codes) > MAX_CODES_PER_UPLOAD:
        raise InvalidInput(
            _("Upload at most %(count)d codes at a time.", count=MAX_CODES_PER_UPLOAD)
        )
    problems = []
    too_long = [c for c in codes if len(c) > MAX_CODE_LENGTH]
    if too_long:
        problems.append(
            _(
                "Codes longer than %(length)d characters: %(codes)s.",
                length=MAX_CODE_LENGTH,
                codes=", ".join(c[:20] + "…" for c in too_long[:5]),
            )
        )
    seen: set[str] = set()
    duplicates = sorted({c for c in codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if duplicates:
        problems.append(
            _("Codes listed more than once: %(codes)s.", codes=", ".join(duplicates[:20]))
        )
    if problems:
        raise InvalidInput(_("Nothing was imported.") + " " + " ".join(problems))
    return codes


def import_codes(
    service: ReciprocalService, content: bytes, *, actor: Person, filename: str = ""
) -> int:
    """Add an uploaded CSV's codes to the service's pool; all or nothing.

    Raises NotFound unless the actor manages the service, InvalidTransition unless it hands
    out pool codes, InvalidInput for a bad file or codes already in the pool.
    """
    from portal.organizations.services import can_manage_service

    if not can_manage_service(actor, service):
        raise NotFound(_("Not found."))
    if service.redemption != Redemption.CODE_POOL:
        raise InvalidTransition(_("This service does not hand out codes from a pool."))
    codes = parse_codes(content)
    lock_rows(ReciprocalService.__table__, [service.id])
    existing = set(
        db.session.scalars(
            select(BenefitCode.code).where(
                BenefitCode.service_id == service.id, BenefitCode.code.in_(codes)
            )
        )
    )
    if existing:
        db.session.rollback()
        raise InvalidInput(
            _("Nothing was imported.")
            + " "
            + _("Codes already in the pool: %(codes)s.", codes=", ".join(sorted(existing)[:20]))
        )
    now = utcnow()
    db.session.add_all(
        BenefitCode(service_id=service.id, code=code, uploaded_by_id=actor.id, created_at=now)
        for code in codes
    )
    record(
        "benefit_codes.import",
        actor=actor,
        subject_type="reciprocal_service",
        subject_id=service.id,
        organization_id=service.provider_id,
        codes=len(codes),
        filename=filename[:255],
    )
    db.session.commit()
    return len(codes)


def pool_counts(service_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(codes in the pool, codes given) per service, in one statement."""
    ids = list(service_ids)
    if not ids:
        return {}
    return {
        service_id: (total, given)
        for service_id, total, given in db.session.execute(
            select(
                BenefitCode.service_id,
                func.count(BenefitCode.id),
                func.count(BenefitCode.claim_id),
            )
            .where(BenefitCode.service_id.in_(ids))
            .group_by(BenefitCode.service_id)
        )
    }

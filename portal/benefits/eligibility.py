"""Who may claim what: ``eligibility`` is the one place that decides whether a person may
claim a service (rule 3); the catalogue, the claim itself, the provider's approval and any
command call it. Also the allowance periods a claim counts in.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from portal.accounts.memberships import today
from portal.accounts.models import Membership, MembershipStatus, Person
from portal.benefits.models import COUNTED_STATES, BenefitClaim, BenefitCode, ClaimStatus
from portal.errors import DomainError
from portal.extensions import db
from portal.language import gettext as _
from portal.language import ngettext
from portal.organizations.models import LimitPeriod, ReciprocalService, Redemption
from portal.timefmt import long_day


class NotEligible(DomainError):
    """The person may not claim this service now; the message says why."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


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


def load_facts(
    person: Person,
    services: Sequence[ReciprocalService],
    *,
    memberships: Sequence[Membership] | None = None,
) -> ClaimFacts:
    """The person's memberships and claims and the services' free codes, as the database has
    them now (three statements, however many services). A page that shows eligibility may
    pass the memberships this request already read with the person (one statement fewer);
    claiming reads them again, under its lock."""
    service_ids = [s.id for s in services]
    if memberships is None:
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
            _LIVE_CLAIMS,
            {"person_id": person.id, "service_ids": service_ids, "counted": _COUNTED},
        )
    ]
    pools = [s.id for s in services if s.redemption == Redemption.CODE_POOL]
    free_codes: dict[int, int] = {}
    if pools:
        free_codes = {
            service_id: count
            for service_id, count in db.session.execute(_FREE_CODES, {"service_ids": pools})
        }
    return ClaimFacts(memberships=list(memberships), claims=claims, free_codes=free_codes)


#: Built once (the benefits page runs them on every view): the person's live claims on some
#: services, and the free codes of some code pools.
_COUNTED = [s.value for s in COUNTED_STATES]
_LIVE_CLAIMS = select(
    BenefitClaim.id,
    BenefitClaim.service_id,
    BenefitClaim.status,
    BenefitClaim.created_at,
    BenefitClaim.period,
    BenefitClaim.slot,
).where(
    BenefitClaim.person_id == bindparam("person_id"),
    BenefitClaim.service_id.in_(bindparam("service_ids", expanding=True)),
    BenefitClaim.status.in_(bindparam("counted", expanding=True)),
)
_FREE_CODES = (
    select(BenefitCode.service_id, func.count(BenefitCode.id))
    .where(
        BenefitCode.service_id.in_(bindparam("service_ids", expanding=True)),
        BenefitCode.claim_id.is_(None),
    )
    .group_by(BenefitCode.service_id)
)


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
            _("It can be claimed from %(date)s.", date=long_day(service.valid_from)),
            _("The service is not open yet."),
        )
    if reason == Reason.NO_LONGER_VALID:
        assert service.valid_until is not None
        return (
            _("It could be claimed until %(date)s.", date=long_day(service.valid_until)),
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

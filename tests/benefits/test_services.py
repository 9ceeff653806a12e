"""Eligibility, claims, decisions and code pools, called as the pages and commands call them.

Each test reads the database afterwards: the claim's state, the code it holds, the audit
entries (rule 7) and the mail queued with the change (rule 8). A refusal must raise the
right DomainError with a clear message and change nothing (rule 10).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.memberships import today
from portal.accounts.models import MembershipStatus
from portal.benefits import codes, eligibility, services
from portal.benefits.eligibility import NotEligible, Reason
from portal.benefits.models import BenefitClaim, BenefitCode, ClaimStatus
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.organizations.models import AgreementStatus, LimitPeriod
from tests.factories import (
    add_claim,
    add_codes,
    add_member,
    add_service,
    agreement,
    audit,
    count,
    fresh,
    outbox,
)
from tests.roles import Story

pytestmark = pytest.mark.usefixtures("english")


def claims_of(person_id: int) -> list[BenefitClaim]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(BenefitClaim)
            .where(BenefitClaim.person_id == person_id)
            .order_by(BenefitClaim.id)
        )
    )


def nothing_written() -> bool:
    return count(BenefitClaim) == 0 and not audit() and not outbox()


# --- eligibility ----------------------------------------------------------------------------


def test_a_verified_member_may_claim_and_the_membership_that_grants_it_is_named(
    story: Story,
) -> None:
    verdict = eligibility.eligibility(story.taro, story.member_rate)

    assert verdict.eligible
    assert verdict.reason == Reason.ELIGIBLE
    assert verdict.membership is not None and verdict.membership.id == story.taro_membership.id


def test_a_person_without_membership_of_the_beneficiary_is_told_whose_members_it_is_for(
    story: Story,
) -> None:
    # Alice is a One Nucleus member: One Nucleus's own service is for LINK-J's members.
    verdict = eligibility.eligibility(story.alice, story.member_rate)

    assert verdict.reason == Reason.NO_MEMBERSHIP
    assert verdict.message == "It is for verified LINK-J members."


def test_a_pending_membership_does_not_open_services_yet(story: Story) -> None:
    verdict = eligibility.eligibility(story.pending_member, story.member_rate)

    assert verdict.reason == Reason.MEMBERSHIP_PENDING
    assert "waiting to be verified" in verdict.message


def test_a_membership_that_ended_yesterday_no_longer_counts(story: Story) -> None:
    person, _ = add_member("link-j", valid_until=today(story.hub) - timedelta(days=1))

    verdict = eligibility.eligibility(person, story.member_rate)

    assert verdict.reason == Reason.MEMBERSHIP_EXPIRED
    assert verdict.message == "Your LINK-J membership has expired."


def test_a_membership_counts_through_its_last_day_in_the_members_organization(
    story: Story,
) -> None:
    person, _ = add_member("link-j", valid_until=date(2027, 3, 31))

    assert eligibility.eligibility(person, story.introductions, on=date(2027, 3, 31)).eligible
    verdict = eligibility.eligibility(person, story.introductions, on=date(2027, 4, 1))
    assert verdict.reason == Reason.MEMBERSHIP_EXPIRED


@pytest.mark.parametrize("status", [MembershipStatus.REVOKED, MembershipStatus.REJECTED])
def test_revoked_or_rejected_memberships_open_nothing(
    story: Story, status: MembershipStatus
) -> None:
    person, _ = add_member("link-j", status=status)

    assert eligibility.eligibility(person, story.member_rate).reason == Reason.NO_MEMBERSHIP


@pytest.mark.parametrize("status", [AgreementStatus.SUSPENDED, AgreementStatus.ENDED])
def test_services_close_while_the_mou_is_not_active(story: Story, status: AgreementStatus) -> None:
    agreement("link-j-one-nucleus-2017").status = status.value
    db.session.commit()

    verdict = eligibility.eligibility(story.taro, story.member_rate)

    assert verdict.reason == Reason.AGREEMENT_NOT_IN_FORCE
    assert "not in force" in verdict.message


def test_services_close_after_the_mou_has_run_out(story: Story) -> None:
    agreement("link-j-one-nucleus-2017").valid_until = today(story.hub) - timedelta(days=1)
    db.session.commit()

    assert eligibility.eligibility(story.taro, story.member_rate).reason == (
        Reason.AGREEMENT_NOT_IN_FORCE
    )


def test_an_undertaking_between_organizations_is_not_claimable(story: Story) -> None:
    story.member_rate.claimable = False
    db.session.commit()

    assert eligibility.eligibility(story.taro, story.member_rate).reason == Reason.NOT_CLAIMABLE


def test_before_its_first_day_a_service_says_when_it_opens(story: Story) -> None:
    story.introductions.valid_from = date(2031, 4, 1)
    db.session.commit()

    verdict = eligibility.eligibility(story.taro, story.introductions)

    assert verdict.reason == Reason.NOT_YET_VALID
    assert verdict.message == "It can be claimed from 1 April 2031."


def test_after_its_last_day_a_service_says_until_when_it_was_open(story: Story) -> None:
    story.introductions.valid_until = date(2020, 3, 31)
    db.session.commit()

    verdict = eligibility.eligibility(story.taro, story.introductions)

    assert verdict.reason == Reason.NO_LONGER_VALID
    assert verdict.message == "It could be claimed until 31 March 2020."


def test_the_validity_window_includes_its_first_and_last_days(story: Story) -> None:
    story.introductions.valid_from = date(2026, 6, 1)
    story.introductions.valid_until = date(2026, 6, 30)
    db.session.commit()
    person, _ = add_member("link-j", valid_until=date(2027, 3, 31))

    for day, open_ in [
        (date(2026, 5, 31), False),
        (date(2026, 6, 1), True),
        (date(2026, 6, 30), True),
        (date(2026, 7, 1), False),
    ]:
        assert eligibility.eligibility(person, story.introductions, on=day).eligible is open_, day


def test_an_open_claim_blocks_a_second_one(story: Story) -> None:
    add_claim(story.taro, story.member_rate)

    verdict = eligibility.eligibility(story.taro, story.member_rate)

    assert verdict.reason == Reason.ALREADY_REQUESTED


def test_the_limit_counts_granted_and_open_claims_of_the_current_year_only(story: Story) -> None:
    now = datetime.now(UTC)
    add_claim(story.taro, story.introductions, status=ClaimStatus.APPROVED)
    add_claim(story.taro, story.introductions, status=ClaimStatus.REJECTED)
    add_claim(story.taro, story.introductions, status=ClaimStatus.CANCELLED)
    add_claim(
        story.taro,
        story.introductions,
        status=ClaimStatus.FULFILLED,
        created_at=now - timedelta(days=400),
    )

    verdict = eligibility.eligibility(story.taro, story.introductions)
    assert verdict.eligible and verdict.used == 1

    add_claim(story.taro, story.introductions, status=ClaimStatus.FULFILLED)
    verdict = eligibility.eligibility(story.taro, story.introductions)
    assert verdict.reason == Reason.LIMIT_REACHED
    assert verdict.message == "You have used it as often as allowed (2 claims per year)."


def test_a_limit_ever_counts_every_year(story: Story) -> None:
    story.introductions.limit_per_member = 1
    story.introductions.limit_period = LimitPeriod.EVER.value
    db.session.commit()
    add_claim(
        story.taro,
        story.introductions,
        status=ClaimStatus.APPROVED,
        created_at=datetime.now(UTC) - timedelta(days=3000),
    )

    assert eligibility.eligibility(story.taro, story.introductions).reason == Reason.LIMIT_REACHED


def test_limit_periods_are_calendar_periods_where_the_provider_is(story: Story) -> None:
    # 2025-12-31 23:30 UTC is already New Year's Day in Tokyo, still New Year's Eve in London.
    late_on_new_years_eve = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    person, _ = add_member("one-nucleus", valid_until=date(2027, 3, 31))
    add_claim(person, story.desk_day, status=ClaimStatus.APPROVED, created_at=late_on_new_years_eve)
    add_claim(
        story.taro, story.member_rate, status=ClaimStatus.APPROVED, created_at=late_on_new_years_eve
    )
    taro_day = date(2026, 1, 5)

    # LINK-J's desk day (Tokyo, once a quarter): the claim fell in 2026's first quarter.
    assert eligibility.eligibility(person, story.desk_day, on=taro_day).reason == (
        Reason.LIMIT_REACHED
    )
    # One Nucleus's member rate (London, once a year): the claim fell in 2025.
    assert eligibility.eligibility(story.taro, story.member_rate, on=taro_day).eligible
    # Looking back at a day of 2025, the desk day claim belongs to a later quarter.
    assert eligibility.eligibility(person, story.desk_day, on=date(2025, 12, 15)).eligible


def test_an_empty_code_pool_closes_the_service(story: Story) -> None:
    db.session.execute(
        BenefitCode.__table__.delete().where(BenefitCode.service_id == story.member_rate.id)
    )
    db.session.commit()

    verdict = eligibility.eligibility(story.taro, story.member_rate)

    assert verdict.reason == Reason.NO_CODES_LEFT
    assert verdict.message == "All codes have been given out."


@pytest.mark.parametrize(
    ("period", "day", "bounds"),
    [
        ("year", date(2026, 7, 15), (date(2026, 1, 1), date(2027, 1, 1))),
        ("quarter", date(2026, 3, 31), (date(2026, 1, 1), date(2026, 4, 1))),
        ("quarter", date(2026, 11, 2), (date(2026, 10, 1), date(2027, 1, 1))),
        ("month", date(2026, 12, 31), (date(2026, 12, 1), date(2027, 1, 1))),
        ("month", date(2026, 2, 10), (date(2026, 2, 1), date(2026, 3, 1))),
        ("ever", date(2026, 2, 10), None),
    ],
)
def test_period_bounds(period: str, day: date, bounds: tuple[date, date] | None) -> None:
    assert eligibility.period_bounds(period, day) == bounds


def test_a_service_without_a_limit_is_claimed_once_in_all(story: Story) -> None:
    # UCSD's digest has no limit: a one-off benefit, not one to claim again and again.
    add_claim(
        story.taro,
        story.digest,
        status=ClaimStatus.APPROVED,
        created_at=datetime.now(UTC) - timedelta(days=800),
    )

    verdict = eligibility.eligibility(story.taro, story.digest)

    assert verdict.reason == Reason.LIMIT_REACHED
    assert verdict.message == "You have claimed it already (1 claim in all)."
    assert verdict.message_for_decider == "The claimant has claimed it already (1 claim in all)."
    assert eligibility.describe_limit(story.digest) == "1 claim in all"


@pytest.mark.parametrize("status", [ClaimStatus.REJECTED, ClaimStatus.CANCELLED])
def test_a_refused_or_withdrawn_claim_leaves_the_service_open(
    story: Story, status: ClaimStatus
) -> None:
    add_claim(story.taro, story.digest, status=status)

    verdict = eligibility.eligibility(story.taro, story.digest)

    assert verdict.eligible
    assert (verdict.period, verdict.slot) == ("ever", 1)


def test_a_new_claim_takes_the_lowest_free_place_of_its_period(story: Story) -> None:
    year = str(today(story.biocom).year)
    first = add_claim(story.taro, story.introductions, status=ClaimStatus.APPROVED)
    assert (first.period, first.slot) == (year, 1)

    verdict = eligibility.eligibility(story.taro, story.introductions)

    assert (verdict.period, verdict.slot) == (year, 2)


@pytest.mark.parametrize(
    ("period", "day", "key"),
    [
        ("year", date(2026, 7, 15), "2026"),
        ("quarter", date(2026, 3, 31), "2026-Q1"),
        ("quarter", date(2026, 11, 2), "2026-Q4"),
        ("month", date(2026, 2, 10), "2026-02"),
        ("ever", date(2026, 2, 10), "ever"),
    ],
)
def test_period_keys(period: str, day: date, key: str) -> None:
    assert eligibility.period_key(period, day) == key


def test_a_claims_period_is_the_providers_calendar(story: Story) -> None:
    # 2025-12-31 23:30 UTC: New Year's Day in Tokyo, New Year's Eve in London.
    at = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)

    assert eligibility.claim_period(story.desk_day, at) == "2026-Q1"  # LINK-J, Tokyo
    assert eligibility.claim_period(story.member_rate, at) == "2025"  # One Nucleus, London
    assert eligibility.claim_period(story.digest, at) == "ever"  # no limit: once in all


# --- claiming -------------------------------------------------------------------------------


def test_a_claim_without_approval_is_granted_at_once_and_told_by_mail(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.introductions)

    claim = fresh(claim)
    assert claim.status == ClaimStatus.APPROVED
    assert claim.decided_by_id is None and claim.decided_at is not None
    assert claim.membership_id == story.taro_membership.id
    assert claim.code is None
    assert [(e.action, e.actor_id) for e in audit()] == [
        ("benefit_claim.request", story.taro.id),
        ("benefit_claim.approve", None),
    ]
    assert audit("benefit_claim.approve")[0].details["automatic"] is True
    assert audit()[0].organization_id == story.biocom.id  # the provider's log shows it
    [mail] = outbox()
    assert mail.kind == "benefits/claim_approved"
    assert mail.to_address == story.taro.email
    assert "Write to intros@biocom.example." in mail.body_text


def test_a_shared_code_is_shown_to_every_granted_member(story: Story) -> None:
    first = services.claim_benefit(story.taro, story.digest)
    other, _ = add_member("link-j")
    second = services.claim_benefit(other, story.digest)

    assert fresh(first).code == fresh(second).code == "UCSD-LINKJ"
    assert "UCSD-LINKJ" in outbox()[0].body_text


def test_a_pool_service_without_approval_gives_each_claim_its_own_code(story: Story) -> None:
    story.member_rate.requires_approval = False
    db.session.commit()
    people = [story.taro] + [add_member("link-j")[0] for _ in range(2)]

    claims = [services.claim_benefit(person, story.member_rate) for person in people]

    assert [fresh(c).code for c in claims] == ["ON-0001", "ON-0002", "ON-0003"]
    given = dict(
        db.session.execute(
            select(BenefitCode.code, BenefitCode.claim_id).where(
                BenefitCode.service_id == story.member_rate.id
            )
        ).all()
    )
    assert given == {"ON-0001": claims[0].id, "ON-0002": claims[1].id, "ON-0003": claims[2].id}
    fourth, _ = add_member("link-j")
    with pytest.raises(NotEligible) as refused:
        services.claim_benefit(fourth, story.member_rate)
    assert refused.value.reason == Reason.NO_CODES_LEFT


def test_a_claim_needing_approval_waits_and_the_providers_admins_are_told(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)

    claim = fresh(claim)
    assert claim.status == ClaimStatus.REQUESTED
    assert claim.code is None and claim.decided_at is None
    assert [e.action for e in audit()] == ["benefit_claim.request"]
    [mail] = outbox()
    assert mail.kind == "benefits/claim_to_decide"
    assert mail.to_address == story.one_nucleus_admin.email  # not BIOCOM's, not LINK-J's staff
    assert f"/admin/claims/{claim.id}" in mail.body_text
    assert (
        count(BenefitCode) == 3
        and db.session.scalar(select(BenefitCode.id).where(BenefitCode.claim_id.is_not(None)))
        is None
    )


def test_claims_on_link_js_services_go_to_link_js_staff(story: Story) -> None:
    services.claim_benefit(story.alice, story.desk_day)

    assert sorted(m.to_address for m in outbox()) == sorted([story.staff.email, story.admin.email])


def test_a_refused_claim_writes_nothing(story: Story) -> None:
    with pytest.raises(NotEligible) as refused:
        services.claim_benefit(story.pending_member, story.member_rate)

    assert refused.value.reason == Reason.MEMBERSHIP_PENDING
    assert refused.value.message == "Your LINK-J membership is waiting to be verified."
    assert nothing_written()


def test_a_second_claim_while_the_first_waits_is_refused(story: Story) -> None:
    services.claim_benefit(story.taro, story.member_rate)

    with pytest.raises(NotEligible) as refused:
        services.claim_benefit(story.taro, story.member_rate)

    assert refused.value.reason == Reason.ALREADY_REQUESTED
    assert len(claims_of(story.taro.id)) == 1


def test_a_third_introduction_in_a_year_is_refused(story: Story) -> None:
    services.claim_benefit(story.taro, story.introductions)
    services.claim_benefit(story.taro, story.introductions)

    with pytest.raises(NotEligible) as refused:
        services.claim_benefit(story.taro, story.introductions)

    assert refused.value.reason == Reason.LIMIT_REACHED
    assert len(claims_of(story.taro.id)) == 2


def test_a_service_without_a_limit_granted_at_once_is_claimed_once(story: Story) -> None:
    services.claim_benefit(story.taro, story.digest)
    audit_before, mail_before = len(audit()), len(outbox())

    with pytest.raises(NotEligible) as refused:
        services.claim_benefit(story.taro, story.digest)

    assert refused.value.reason == Reason.LIMIT_REACHED
    assert refused.value.message == "You have claimed it already (1 claim in all)."
    [claim] = claims_of(story.taro.id)
    assert (claim.status, claim.period, claim.slot) == (ClaimStatus.APPROVED, "ever", 1)
    assert (len(audit()), len(outbox())) == (audit_before, mail_before)


def test_a_limit_of_two_a_year_keeps_two_places(story: Story) -> None:
    services.claim_benefit(story.taro, story.introductions)
    services.claim_benefit(story.taro, story.introductions)

    year = str(today(story.biocom).year)
    assert [(c.period, c.slot) for c in claims_of(story.taro.id)] == [(year, 1), (year, 2)]


def test_a_rejected_claim_frees_its_place_for_a_new_one(story: Story) -> None:
    refused = services.claim_benefit(story.alice, story.desk_day)
    services.reject_claim(fresh(refused), actor=story.staff, reason="Fully booked this week.")

    again = services.claim_benefit(story.alice, story.desk_day)

    assert fresh(again).status == ClaimStatus.REQUESTED
    assert (fresh(again).period, fresh(again).slot) == (fresh(refused).period, 1)


def test_the_database_keeps_one_live_claim_per_place(story: Story) -> None:
    first = add_claim(story.taro, story.digest, status=ClaimStatus.APPROVED)
    db.session.add(
        BenefitClaim(
            person_id=story.taro.id,
            service_id=story.digest.id,
            status=ClaimStatus.APPROVED.value,
            decided_at=first.decided_at,
            period=first.period,
            slot=first.slot,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_claim_that_lost_a_race_past_the_check_is_refused_by_the_database(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another request's claim was committed after this one counted (as without the lock):
    # the index refuses the second claim, and the member is told why.
    services.claim_benefit(story.taro, story.digest)
    load_facts = eligibility.load_facts
    calls = []

    def stale_then_fresh(person, service_list):  # noqa: ANN001, ANN202
        facts = load_facts(person, service_list)
        calls.append(len(facts.claims))
        if len(calls) == 1:
            facts.claims = []  # what the count saw before the other claim was committed
        return facts

    monkeypatch.setattr(eligibility, "load_facts", stale_then_fresh)
    audit_before, mail_before = len(audit()), len(outbox())

    with pytest.raises(NotEligible) as refused:
        services.claim_benefit(story.taro, story.digest)

    assert len(calls) == 2  # the check passed once, then was asked again after the refusal
    assert refused.value.reason == Reason.LIMIT_REACHED
    assert refused.value.message == "You have claimed it already (1 claim in all)."
    assert len(claims_of(story.taro.id)) == 1
    assert (len(audit()), len(outbox())) == (audit_before, mail_before)


def test_the_database_keeps_one_open_claim_per_person_and_service(story: Story) -> None:
    first = add_claim(story.taro, story.member_rate)
    db.session.add(
        BenefitClaim(
            person_id=story.taro.id,
            service_id=story.member_rate.id,
            status="requested",
            period=first.period,
            slot=first.slot + 1,  # another place of the period: only the open-claim index stops it
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- approving ------------------------------------------------------------------------------


def test_the_provider_approves_and_the_member_receives_a_code_from_the_pool(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    outbox_before = len(outbox())

    services.approve_claim(claim, actor=story.one_nucleus_admin, note="See you in London.")

    claim = fresh(claim)
    assert claim.status == ClaimStatus.APPROVED
    assert claim.code == "ON-0001"
    assert claim.decided_by_id == story.one_nucleus_admin.id
    assert claim.decision_note == "See you in London."
    code = db.session.scalar(select(BenefitCode).where(BenefitCode.code == "ON-0001"))
    assert code is not None and code.claim_id == claim.id and code.assigned_at is not None
    [entry] = audit("benefit_claim.approve")
    assert entry.actor_id == story.one_nucleus_admin.id
    assert entry.organization_id == story.one_nucleus.id
    assert entry.reason == "See you in London."
    mails = outbox()[outbox_before:]
    assert [m.kind for m in mails] == ["benefits/claim_approved"]
    assert "ON-0001" in mails[0].body_text
    assert "Enter the code at checkout." in mails[0].body_text


def test_approval_in_japanese_mail_for_a_japanese_member(story: Story) -> None:
    story.taro.preferred_locale = "ja"
    db.session.commit()
    claim = services.claim_benefit(story.taro, story.member_rate)

    services.approve_claim(claim, actor=story.one_nucleus_admin)

    mail = outbox("benefits/claim_approved")[0]
    assert "Genesis会員価格" in mail.subject
    assert "お支払い画面でコードを入力してください。" in mail.body_text


@pytest.mark.parametrize("who", ["biocom_admin", "ucsd_admin", "staff", "admin"])
def test_only_the_providers_admin_decides_its_claims(story: Story, who: str) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    actor = getattr(story, who)

    with pytest.raises(NotFound):
        services.approve_claim(claim, actor=actor)
    with pytest.raises(NotFound):
        services.reject_claim(claim, actor=actor, reason="No.")

    assert fresh(claim).status == ClaimStatus.REQUESTED
    assert not audit("benefit_claim.approve") and not audit("benefit_claim.reject")


def test_staff_decide_claims_on_link_js_services_and_partner_admins_do_not(story: Story) -> None:
    claim = services.claim_benefit(story.alice, story.desk_day)

    with pytest.raises(NotFound):
        services.approve_claim(claim, actor=story.one_nucleus_admin)
    services.approve_claim(claim, actor=story.staff)

    assert fresh(claim).status == ClaimStatus.APPROVED
    assert audit("benefit_claim.approve")[0].actor_id == story.staff.id


def test_a_membership_that_expired_while_the_claim_waited_blocks_the_approval(
    story: Story,
) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    story.taro_membership.valid_until = today(story.hub) - timedelta(days=1)
    db.session.commit()
    mails_before = len(outbox())

    with pytest.raises(NotEligible) as refused:
        services.approve_claim(claim, actor=story.one_nucleus_admin)

    assert refused.value.reason == Reason.MEMBERSHIP_EXPIRED
    assert refused.value.message == (
        "This claim cannot be approved: The claimant's LINK-J membership has expired. "
        "Reject it with a reason instead."
    )
    claim = fresh(claim)
    assert claim.status == ClaimStatus.REQUESTED and claim.code is None
    assert not audit("benefit_claim.approve")
    assert len(outbox()) == mails_before
    assert (
        db.session.scalar(select(BenefitCode.id).where(BenefitCode.claim_id.is_not(None))) is None
    )


def test_a_revoked_membership_blocks_the_approval(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    story.taro_membership.status = MembershipStatus.REVOKED.value
    db.session.commit()

    with pytest.raises(NotEligible):
        services.approve_claim(claim, actor=story.one_nucleus_admin)

    assert fresh(claim).status == ClaimStatus.REQUESTED


def test_an_mou_suspended_while_the_claim_waited_blocks_the_approval(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    agreement("link-j-one-nucleus-2017").status = AgreementStatus.SUSPENDED.value
    db.session.commit()

    with pytest.raises(NotEligible) as refused:
        services.approve_claim(claim, actor=story.one_nucleus_admin)

    assert refused.value.reason == Reason.AGREEMENT_NOT_IN_FORCE
    assert fresh(claim).status == ClaimStatus.REQUESTED


def test_an_empty_pool_blocks_the_approval_until_codes_are_added(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    db.session.execute(
        BenefitCode.__table__.delete().where(BenefitCode.service_id == story.member_rate.id)
    )
    db.session.commit()

    with pytest.raises(NotEligible) as refused:
        services.approve_claim(claim, actor=story.one_nucleus_admin)
    assert "Upload more codes first." in refused.value.message
    assert fresh(claim).status == ClaimStatus.REQUESTED

    add_codes(story.member_rate, "ON-0100")
    services.approve_claim(claim, actor=story.one_nucleus_admin)
    assert fresh(claim).code == "ON-0100"


def test_a_claim_is_approved_once(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    services.approve_claim(claim, actor=story.one_nucleus_admin)

    with pytest.raises(InvalidTransition):
        services.approve_claim(claim, actor=story.one_nucleus_admin)

    assert len(audit("benefit_claim.approve")) == 1
    assert db.session.scalar(select(BenefitCode.code).where(BenefitCode.claim_id.is_not(None)))
    assert count(BenefitCode) == 3
    assert (
        len(db.session.scalars(select(BenefitCode).where(BenefitCode.claim_id.is_not(None))).all())
        == 1
    )


# --- rejecting, cancelling, fulfilling ------------------------------------------------------


def test_the_provider_rejects_with_a_reason_the_member_reads(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)

    services.reject_claim(claim, actor=story.one_nucleus_admin, reason="Genesis is sold out.")

    claim = fresh(claim)
    assert claim.status == ClaimStatus.REJECTED
    assert claim.decision_note == "Genesis is sold out."
    assert claim.code is None
    [entry] = audit("benefit_claim.reject")
    assert entry.reason == "Genesis is sold out." and entry.actor_id == story.one_nucleus_admin.id
    [mail] = outbox("benefits/claim_rejected")
    assert "Genesis is sold out." in mail.body_text
    # A refused claim does not use up the limit.
    assert eligibility.eligibility(story.taro, story.member_rate).eligible


def test_a_rejection_without_a_reason_changes_nothing(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)

    with pytest.raises(InvalidInput) as refused:
        services.reject_claim(claim, actor=story.one_nucleus_admin, reason="   ")

    assert refused.value.message == "Give a reason; the member will see it."
    assert fresh(claim).status == ClaimStatus.REQUESTED
    assert not audit("benefit_claim.reject") and not outbox("benefits/claim_rejected")


def test_the_member_cancels_a_claim_before_it_is_decided_and_may_claim_again(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)

    services.cancel_claim(claim, person=story.taro)

    claim = fresh(claim)
    assert claim.status == ClaimStatus.CANCELLED and claim.cancelled_at is not None
    assert audit("benefit_claim.cancel")[0].actor_id == story.taro.id
    assert eligibility.eligibility(story.taro, story.member_rate).eligible


def test_a_decided_claim_can_no_longer_be_cancelled(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.introductions)

    with pytest.raises(InvalidTransition):
        services.cancel_claim(claim, person=story.taro)

    assert fresh(claim).status == ClaimStatus.APPROVED


def test_nobody_cancels_someone_elses_claim(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    other, _ = add_member("link-j")

    with pytest.raises(NotFound):
        services.cancel_claim(claim, person=other)

    assert fresh(claim).status == ClaimStatus.REQUESTED


def test_the_provider_marks_a_granted_claim_fulfilled(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.introductions)

    services.fulfil_claim(claim, actor=story.biocom_admin, note="Met three companies.")

    claim = fresh(claim)
    assert claim.status == ClaimStatus.FULFILLED and claim.fulfilled_at is not None
    assert audit("benefit_claim.fulfil")[0].reason == "Met three companies."
    with pytest.raises(NotFound):
        services.fulfil_claim(claim, actor=story.one_nucleus_admin)


def test_only_granted_claims_are_fulfilled(story: Story) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)

    with pytest.raises(InvalidTransition):
        services.fulfil_claim(claim, actor=story.one_nucleus_admin)

    assert fresh(claim).status == ClaimStatus.REQUESTED


# --- code pools -----------------------------------------------------------------------------


def test_codes_upload_from_excel_csv_with_a_bom_and_a_title_row(story: Story) -> None:
    content = "\ufeffcode\r\nON-0101\r\nON-0102\r\n\r\n".encode()

    added = codes.import_codes(
        story.member_rate, content, actor=story.one_nucleus_admin, filename="codes.csv"
    )

    assert added == 2
    assert count(BenefitCode) == 5
    [entry] = audit("benefit_codes.import")
    assert entry.details["codes"] == 2 and entry.organization_id == story.one_nucleus.id


def test_codes_from_japanese_excel_in_shift_jis(story: Story) -> None:
    content = "コード\r\nクーポン-1\r\n".encode("cp932")

    assert codes.import_codes(story.member_rate, content, actor=story.staff) == 1
    assert db.session.scalar(select(BenefitCode.id).where(BenefitCode.code == "クーポン-1"))


def test_a_file_with_a_code_twice_imports_nothing_and_names_it(story: Story) -> None:
    content = b"ON-0201\nON-0202\nON-0201\n"

    with pytest.raises(InvalidInput) as refused:
        codes.import_codes(story.member_rate, content, actor=story.one_nucleus_admin)

    assert refused.value.message == ("Nothing was imported. Codes listed more than once: ON-0201.")
    assert count(BenefitCode) == 3
    assert not audit()


def test_codes_already_in_the_pool_import_nothing(story: Story) -> None:
    with pytest.raises(InvalidInput) as refused:
        codes.import_codes(story.member_rate, b"ON-0300\nON-0002\n", actor=story.staff)

    assert "Codes already in the pool: ON-0002." in refused.value.message
    assert count(BenefitCode) == 3


def test_an_empty_codes_file_is_refused(story: Story) -> None:
    with pytest.raises(InvalidInput) as refused:
        codes.import_codes(story.member_rate, b"code\n\n", actor=story.staff)

    assert refused.value.message == "The file has no codes."


def test_codes_go_only_to_pool_services_and_only_by_their_managers(story: Story) -> None:
    with pytest.raises(InvalidTransition):
        codes.import_codes(story.introductions, b"X-1\n", actor=story.biocom_admin)
    with pytest.raises(NotFound):
        codes.import_codes(story.member_rate, b"X-1\n", actor=story.biocom_admin)

    assert count(BenefitCode) == 3


def test_the_database_keeps_codes_unique_within_a_service(story: Story) -> None:
    other = add_service("link-j-one-nucleus-2017", "one-nucleus", redemption="code_pool")
    add_codes(other, "ON-0001")  # the same text in another service's pool is fine

    db.session.add(BenefitCode(service_id=story.member_rate.id, code="ON-0001"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_deciders_are_the_providers_admins(story: Story) -> None:
    assert [p.id for p in services.deciders(story.one_nucleus)] == [story.one_nucleus_admin.id]
    assert {p.id for p in services.deciders(story.hub)} == {story.staff.id, story.admin.id}


# --- the member's own data ------------------------------------------------------------------


def test_my_data_export_lists_my_claims_and_codes(story: Story) -> None:
    from portal.accounts import services as accounts

    services.claim_benefit(story.taro, story.digest)

    [claim] = accounts.export_personal_data(story.taro)["benefit_claims"]
    assert (claim["service"], claim["provider"], claim["status"], claim["code"]) == (
        "UCSD research digest",
        "ucsd",
        "approved",
        "UCSD-LINKJ",
    )


def test_deleting_an_account_withdraws_its_open_claims_and_keeps_decided_ones(
    story: Story,
) -> None:
    from portal.accounts import services as accounts
    from portal.accounts.models import Membership
    from tests.factories import PASSWORD, add_consent, add_person

    person = add_person("leaving@nihonbashi-pharma.example")
    add_consent(person, "one-nucleus", "biocom")
    db.session.add(
        Membership(
            person=person,
            organization=story.hub,
            status="verified",
            valid_until=today(story.hub) + timedelta(days=30),
        )
    )
    db.session.commit()
    waiting = services.claim_benefit(person, story.member_rate)
    granted = services.claim_benefit(person, story.introductions)

    accounts.delete_account(person, password=PASSWORD)

    assert fresh(waiting).status == ClaimStatus.CANCELLED
    assert fresh(granted).status == ClaimStatus.APPROVED  # still counted in the report

"""Memberships: claims, decisions by the home organization, expiry, domain rules, seats.

A partner admin decides their own organization's claims only and gets NotFound elsewhere
(rule 4); LINK-J staff decide LINK-J's. Every decision is audited (rule 7) and mailed (rule 8);
member treatment lasts while the membership is verified, unexpired and the MOU in force
(rule 3).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts import companies, domain_rules, memberships, queries, services
from portal.accounts.memberships import default_validity_end, today
from portal.accounts.models import (
    Company,
    EmailDomainRule,
    Invitation,
    Membership,
    MembershipKind,
    MembershipStatus,
    Person,
    VerificationSource,
)
from portal.accounts.services import Registration
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.organizations.models import Agreement, AgreementStatus
from tests.factories import PASSWORD, audit, count, link_token, org, outbox

pytestmark = pytest.mark.usefixtures("network", "english")

MakePerson = Callable[..., Person]
MakeMembership = Callable[..., Membership]
PartnerAdmin = Callable[[str], Person]

PENDING, VERIFIED = MembershipStatus.PENDING, MembershipStatus.VERIFIED


def unchanged(membership: Membership, status: MembershipStatus = PENDING) -> bool:
    """The membership is as it was: same state, undecided, and nobody was told or audited."""
    db.session.refresh(membership)
    return (
        membership.status == status
        and membership.decided_by_id is None
        and count(AuditEntry) == 0
        and count(OutboxMessage) == 0
    )


def opened(person: Person, on: date) -> list[tuple[str, str, str]]:
    """(agreement, provider, beneficiary) of every service the person's memberships open."""
    return [
        (agreement.slug, service.provider.slug, service.beneficiary.slug)
        for group in queries.services_opened_by(person, on)
        for agreement, services_ in group.by_agreement
        for service in services_
    ]


# --- claims ---------------------------------------------------------------------------------


def test_member_claims_a_membership_in_another_organization(make_person: MakePerson) -> None:
    person = make_person()

    membership = services.claim_membership(person, org("ucsd"), member_number=" UC-9 ")

    db.session.refresh(membership)
    assert (membership.status, membership.organization_id) == (PENDING, org("ucsd").id)
    assert membership.member_number == "UC-9"


def test_second_live_claim_in_the_same_organization_is_refused(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    person = make_person()
    make_membership(person, "biocom")

    with pytest.raises(InvalidTransition, match="already have a membership"):
        services.claim_membership(person, org("biocom"))

    assert count(Membership) == 1


def test_verified_member_cannot_claim_the_same_organization_again(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    person = make_person()
    make_membership(person, "biocom", status=VERIFIED, valid_until=today() + timedelta(days=9))

    with pytest.raises(InvalidTransition):
        services.claim_membership(person, org("biocom"))

    assert count(Membership) == 1


def test_database_refuses_a_second_live_membership_even_around_the_service(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    person = make_person()
    make_membership(person, "biocom")

    with pytest.raises(IntegrityError):
        make_membership(person, "biocom", status=VERIFIED)
    db.session.rollback()


def test_after_a_rejection_a_new_claim_is_allowed(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    person = make_person()
    first = make_membership(person, "biocom")
    memberships.reject_membership(first, actor=partner_admin("biocom"), reason="Not on our list")

    second = services.claim_membership(person, org("biocom"), member_number="BC-2")

    statuses = db.session.scalars(
        select(Membership.status).where(Membership.person_id == person.id).order_by(Membership.id)
    ).all()
    assert statuses == ["rejected", "pending"]
    assert second.id != first.id


# --- default validity ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "on", "end"),
    [
        ("link-j", date(2026, 1, 15), date(2026, 3, 31)),
        ("link-j", date(2026, 3, 31), date(2026, 3, 31)),
        ("link-j", date(2026, 4, 1), date(2027, 3, 31)),
        ("biocom", date(2026, 1, 1), date(2026, 12, 31)),
        ("biocom", date(2026, 12, 31), date(2026, 12, 31)),
        ("ucsd", date(2026, 6, 30), date(2026, 6, 30)),
        ("ucsd", date(2026, 7, 1), date(2027, 6, 30)),
    ],
)
def test_membership_year_ends_in_the_organizations_month(slug: str, on: date, end: date) -> None:
    assert default_validity_end(org(slug), on) == end


def test_membership_year_is_reckoned_in_the_organizations_time_zone(
    make_person: MakePerson,
    make_membership: MakeMembership,
    staff: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1 April 2027, 08:30 in Tokyo (Organization.timezone: "used for the organization's
    # events and membership-year ends"), though still 31 March in UTC.
    tokyo_morning = datetime(2027, 4, 1, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    monkeypatch.setattr(memberships, "utcnow", lambda: tokyo_morning.astimezone(UTC))
    membership = make_membership(make_person(), "link-j")

    memberships.verify_membership(membership, actor=staff)

    # Verified in LINK-J's new membership year, it must not end on the day that just passed.
    assert membership.valid_until == date(2028, 3, 31)


# --- verification by the home organization --------------------------------------------------


def test_partner_admin_verifies_their_own_members_claim_until_the_membership_year_end(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("biocom")
    membership = make_membership(make_person(), "biocom")

    memberships.verify_membership(membership, actor=officer, note="checked the CRM")

    db.session.refresh(membership)
    assert membership.status == VERIFIED
    assert membership.valid_until == date(today().year, 12, 31)
    assert membership.verified_via == VerificationSource.MANUAL
    assert membership.decided_by_id == officer.id
    assert membership.decided_at is not None
    [mail] = outbox()
    assert (mail.kind, mail.to_address) == ("accounts/membership_verified", membership.person.email)


def test_staff_verify_a_linkj_membership_until_march_31(
    make_person: MakePerson, make_membership: MakeMembership, staff: Person
) -> None:
    membership = make_membership(make_person(), "link-j")

    memberships.verify_membership(membership, actor=staff)

    db.session.refresh(membership)
    assert membership.status == VERIFIED
    assert (membership.valid_until.month, membership.valid_until.day) == (3, 31)
    assert membership.valid_until == default_validity_end(org("link-j"), today())
    assert today() <= membership.valid_until < today() + timedelta(days=366)


def test_verification_keeps_an_explicit_validity_end(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    membership = make_membership(make_person(), "ucsd")
    end = today() + timedelta(days=40)

    memberships.verify_membership(membership, actor=partner_admin("ucsd"), valid_until=end)

    assert membership.valid_until == end


def test_verification_with_an_end_in_the_past_is_refused(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("ucsd")
    membership = make_membership(make_person(), "ucsd")

    with pytest.raises(InvalidInput, match="in the past"):
        memberships.verify_membership(
            membership, actor=officer, valid_until=today(org("ucsd")) - timedelta(days=1)
        )

    assert unchanged(membership)


def test_partner_admin_cannot_verify_another_organizations_member(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    membership = make_membership(make_person(), "biocom")

    with pytest.raises(NotFound):
        memberships.verify_membership(membership, actor=partner_admin("eurobiomed"))

    assert unchanged(membership)


def test_partner_admin_cannot_verify_linkj_members(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    membership = make_membership(make_person(), "link-j")

    with pytest.raises(NotFound):
        memberships.verify_membership(membership, actor=partner_admin("biocom"))

    assert unchanged(membership)


def test_staff_cannot_verify_a_partners_members(
    make_person: MakePerson, make_membership: MakeMembership, staff: Person
) -> None:
    membership = make_membership(make_person(), "biocom")

    with pytest.raises(NotFound):
        memberships.verify_membership(membership, actor=staff)

    assert unchanged(membership)


def test_a_plain_member_cannot_verify_anyone(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    member = make_person()
    make_membership(member, "biocom", status=VERIFIED, valid_until=today() + timedelta(days=30))
    claim = make_membership(make_person(), "biocom")

    with pytest.raises(NotFound):
        memberships.verify_membership(claim, actor=member)

    assert unchanged(claim)


def test_verifying_twice_is_refused(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("krp")
    membership = make_membership(make_person(), "krp")
    memberships.verify_membership(membership, actor=officer)

    with pytest.raises(InvalidTransition, match="Only pending"):
        memberships.verify_membership(membership, actor=officer)

    assert len(audit("membership.verify")) == 1
    assert len(outbox()) == 1


def test_who_may_decide_and_who_may_view(
    make_person: MakePerson, staff: Person, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("biocom")
    member = make_person()

    assert memberships.can_decide_memberships(officer, org("biocom"))
    assert not memberships.can_decide_memberships(officer, org("ucsd"))
    assert not memberships.can_view_memberships(officer, org("ucsd"))
    assert memberships.can_decide_memberships(staff, org("link-j"))
    assert not memberships.can_decide_memberships(staff, org("biocom"))
    assert memberships.can_view_memberships(staff, org("biocom"))
    assert not memberships.can_view_memberships(member, org("biocom"))
    assert not memberships.can_decide_memberships(None, org("link-j"))


# --- rejection and revocation ---------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_rejection_needs_a_reason(
    make_person: MakePerson,
    make_membership: MakeMembership,
    partner_admin: PartnerAdmin,
    reason: str,
) -> None:
    officer = partner_admin("biocom")
    membership = make_membership(make_person(), "biocom")

    with pytest.raises(InvalidInput, match="Give a reason"):
        memberships.reject_membership(membership, actor=officer, reason=reason)

    assert unchanged(membership)


def test_rejection_reason_is_stored_and_mailed_to_the_person(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("biocom")
    membership = make_membership(make_person("ken@lab.example"), "biocom")

    memberships.reject_membership(
        membership, actor=officer, reason="  No member BC-77 in our records  "
    )

    db.session.refresh(membership)
    assert membership.status == MembershipStatus.REJECTED
    assert membership.decision_reason == "No member BC-77 in our records"
    [mail] = outbox()
    assert (mail.kind, mail.to_address) == ("accounts/membership_rejected", "ken@lab.example")
    assert "No member BC-77 in our records" in mail.body_text


def test_partner_admin_cannot_reject_another_organizations_claim(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    membership = make_membership(make_person(), "ibri")

    with pytest.raises(NotFound):
        memberships.reject_membership(membership, actor=partner_admin("krp"), reason="no")

    assert unchanged(membership)


def test_only_a_verified_membership_can_be_revoked(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("one-nucleus")
    membership = make_membership(make_person(), "one-nucleus")

    with pytest.raises(InvalidTransition, match="Only verified"):
        memberships.revoke_membership(membership, actor=officer, reason="Left the company")

    assert unchanged(membership)


def test_revoking_ends_a_verified_membership_with_a_reason_the_person_sees(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("one-nucleus")
    membership = make_membership(
        make_person(), "one-nucleus", status=VERIFIED, valid_until=today() + timedelta(days=90)
    )

    memberships.revoke_membership(membership, actor=officer, reason="Membership fees unpaid")

    db.session.refresh(membership)
    assert membership.status == MembershipStatus.REVOKED
    assert membership.decision_reason == "Membership fees unpaid"
    [mail] = outbox()
    assert mail.kind == "accounts/membership_revoked"
    assert "Membership fees unpaid" in mail.body_text


def test_revocation_needs_a_reason(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    membership = make_membership(
        make_person(), "ucsd", status=VERIFIED, valid_until=today() + timedelta(days=9)
    )

    with pytest.raises(InvalidInput, match="Give a reason"):
        memberships.revoke_membership(membership, actor=partner_admin("ucsd"), reason=" ")

    assert unchanged(membership, VERIFIED)


# --- the audit trail ------------------------------------------------------------------------


def _verify(m: Membership, actor: Person) -> str:
    memberships.verify_membership(m, actor=actor, note="seen their card")
    return "seen their card"


def _reject(m: Membership, actor: Person) -> str:
    memberships.reject_membership(m, actor=actor, reason="unknown to us")
    return "unknown to us"


def _revoke(m: Membership, actor: Person) -> str:
    m.status, m.valid_until = VERIFIED.value, today() + timedelta(days=5)
    db.session.commit()
    memberships.revoke_membership(m, actor=actor, reason="resigned")
    return "resigned"


@pytest.mark.parametrize(
    ("decide", "action"),
    [
        (_verify, "membership.verify"),
        (_reject, "membership.reject"),
        (_revoke, "membership.revoke"),
    ],
)
def test_every_decision_is_audited_with_actor_organization_and_reason(
    make_person: MakePerson,
    make_membership: MakeMembership,
    partner_admin: PartnerAdmin,
    decide: Callable[[Membership, Person], str],
    action: str,
) -> None:
    officer = partner_admin("eurobiomed")
    membership = make_membership(make_person(), "eurobiomed")

    reason = decide(membership, officer)

    [entry] = audit()
    assert entry.action == action
    assert entry.actor_id == officer.id
    assert entry.organization_id == org("eurobiomed").id
    assert (entry.subject_type, entry.subject_id) == ("membership", membership.id)
    assert entry.reason == reason
    assert entry.occurred_at is not None


# --- bulk verification ----------------------------------------------------------------------


def test_bulk_verify_acts_only_on_the_organizations_pending_claims(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("biocom")
    ours = [make_membership(make_person(), "biocom") for _ in range(2)]
    already = make_membership(
        make_person(), "biocom", status=VERIFIED, valid_until=today() + timedelta(days=3)
    )
    rejected = make_membership(make_person(), "biocom", status="rejected")
    theirs = make_membership(make_person(), "ucsd")

    verified = memberships.verify_memberships(
        [m.id for m in (*ours, already, rejected, theirs)] + [999_999],
        actor=officer,
        organization=org("biocom"),
    )

    assert verified == 2
    db.session.expire_all()
    assert [m.status for m in ours] == ["verified", "verified"]
    assert already.valid_until == today() + timedelta(days=3)
    assert rejected.status == "rejected"
    assert theirs.status == "pending"
    assert sorted(e.subject_id for e in audit("membership.verify")) == sorted(m.id for m in ours)
    assert len(outbox("accounts/membership_verified")) == 2


def test_bulk_verify_needs_a_selection(partner_admin: PartnerAdmin) -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        memberships.verify_memberships(
            [], actor=partner_admin("biocom"), organization=org("biocom")
        )


def test_bulk_verify_for_another_organization_is_not_found(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    claim = make_membership(make_person(), "ucsd")

    with pytest.raises(NotFound):
        memberships.verify_memberships(
            [claim.id], actor=partner_admin("biocom"), organization=org("ucsd")
        )

    assert unchanged(claim)


# --- expiry ---------------------------------------------------------------------------------


def test_expiry_moves_verified_memberships_past_their_end_to_expired(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    ended = make_membership(
        make_person(),
        "biocom",
        status=VERIFIED,
        valid_until=today(org("biocom")) - timedelta(days=1),
    )
    last_day = make_membership(
        make_person(), "biocom", status=VERIFIED, valid_until=today(org("biocom"))
    )
    pending = make_membership(make_person(), "biocom")

    assert memberships.expire_memberships() == 1

    db.session.expire_all()
    assert (ended.status, last_day.status, pending.status) == ("expired", "verified", "pending")
    [entry] = audit("membership.expire")
    assert (entry.subject_id, entry.actor_id) == (ended.id, None)
    assert entry.organization_id == org("biocom").id


def test_expiry_on_a_given_day(make_person: MakePerson, make_membership: MakeMembership) -> None:
    membership = make_membership(
        make_person(), "link-j", status=VERIFIED, valid_until=date(2027, 3, 31)
    )

    assert memberships.expire_memberships(on=date(2027, 3, 31)) == 0
    assert memberships.expire_memberships(on=date(2027, 4, 1)) == 1

    db.session.refresh(membership)
    assert membership.status == MembershipStatus.EXPIRED


def test_an_expired_member_may_claim_again(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    person = make_person()
    ended = today(org("biocom")) - timedelta(days=1)  # BIOCOM's date, not UTC's
    make_membership(person, "biocom", status=VERIFIED, valid_until=ended)
    memberships.expire_memberships()

    services.claim_membership(person, org("biocom"))

    assert sorted(m.status for m in person.memberships) == ["expired", "pending"]


def test_member_treatment_ends_the_day_after_valid_until(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    membership = make_membership(
        make_person(), "biocom", status=VERIFIED, valid_until=date(2026, 12, 31)
    )

    assert membership.effective_status(date(2026, 12, 31)) == VERIFIED
    assert membership.is_verified_on(date(2026, 12, 31))
    assert membership.effective_status(date(2027, 1, 1)) == MembershipStatus.EXPIRED
    assert not membership.is_verified_on(date(2027, 1, 1))


def test_pending_membership_stays_pending_whatever_the_day(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    membership = make_membership(make_person(), "biocom", valid_until=date(2020, 1, 1))

    assert membership.effective_status(date(2030, 1, 1)) == PENDING


# --- what a membership opens (rule 3) -------------------------------------------------------


@pytest.fixture
def biocom_member(make_person: MakePerson, make_membership: MakeMembership) -> Membership:
    return make_membership(
        make_person(), "biocom", status=VERIFIED, valid_until=today() + timedelta(days=60)
    )


def test_verified_biocom_member_sees_what_linkj_provides_to_biocom(
    biocom_member: Membership,
) -> None:
    services_ = opened(biocom_member.person, today())

    assert services_
    assert {agreement for agreement, _, _ in services_} == {"link-j-biocom-2016"}
    assert {(provider, beneficiary) for _, provider, beneficiary in services_} == {
        ("link-j", "biocom")
    }


def test_verified_linkj_member_sees_what_each_partner_provides(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    member = make_person()
    make_membership(member, "link-j", status=VERIFIED, valid_until=today() + timedelta(days=9))

    providers = {provider for _, provider, beneficiary in opened(member, today())}

    assert providers == {"ucsd", "biocom", "eurobiomed", "krp", "one-nucleus", "ibri"}


def test_pending_membership_opens_nothing(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    member = make_person()
    make_membership(member, "biocom")

    assert queries.services_opened_by(member, today()) == []


def test_membership_past_its_end_opens_nothing(biocom_member: Membership) -> None:
    after = biocom_member.valid_until + timedelta(days=1)

    assert opened(biocom_member.person, biocom_member.valid_until)
    assert opened(biocom_member.person, after) == []


def test_stored_expired_membership_opens_nothing(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    member = make_person()
    make_membership(member, "biocom", status="expired", valid_until=today() + timedelta(days=9))

    assert opened(member, today()) == []


def test_suspended_mou_opens_nothing(biocom_member: Membership) -> None:
    agreement = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-biocom-2016"))
    assert agreement is not None
    agreement.status = AgreementStatus.SUSPENDED.value
    db.session.commit()

    assert opened(biocom_member.person, today()) == []


# --- the verification queue -----------------------------------------------------------------


def queue_ids(slug: str, status: str, search: str = "") -> list[int]:
    return [m.id for m in queries.verification_queue(org(slug), status=status, search=search).items]


def test_verification_queue_lists_the_organizations_pending_claims_oldest_first(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    older = make_membership(make_person(), "biocom")
    newer = make_membership(make_person(), "biocom")
    older.created_at = newer.created_at - timedelta(minutes=5)
    make_membership(make_person(), "ucsd")
    make_membership(make_person(), "biocom", status=VERIFIED, valid_until=today())
    db.session.commit()

    assert queue_ids("biocom", "pending") == [older.id, newer.id]


def test_verification_queue_finds_a_claim_by_member_number_or_name(
    make_person: MakePerson, make_membership: MakeMembership
) -> None:
    wanted = make_membership(make_person(family_name="Okano"), "biocom", member_number="BC-77")
    make_membership(make_person(family_name="Honjo"), "biocom", member_number="BC-78")

    assert queue_ids("biocom", "all", search="bc-77") == [wanted.id]
    assert queue_ids("biocom", "pending", search=" OKANO ") == [wanted.id]
    assert queue_ids("ucsd", "all", search="bc-77") == []


# --- email-domain rules ---------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["gmail.com", "@Yahoo.co.jp", "docomo.ne.jp", "outlook.jp."])
def test_free_mail_domain_cannot_verify_members(partner_admin: PartnerAdmin, domain: str) -> None:
    with pytest.raises(InvalidInput, match="Anyone can have an address"):
        domain_rules.add_domain_rule(org("krp"), domain, actor=partner_admin("krp"))

    assert count(EmailDomainRule) == 0


@pytest.mark.parametrize("domain", ["", "example", "exa mple.com", "-bad.example", "a@b@c.com"])
def test_malformed_domain_is_refused(partner_admin: PartnerAdmin, domain: str) -> None:
    with pytest.raises(InvalidInput, match="Enter a domain"):
        domain_rules.add_domain_rule(org("krp"), domain, actor=partner_admin("krp"))

    assert count(EmailDomainRule) == 0


@pytest.mark.parametrize("domain", ["co.jp", "ac.jp", "co.uk", "gouv.fr"])
def test_a_domain_shared_by_many_organizations_cannot_verify_members(
    partner_admin: PartnerAdmin, domain: str
) -> None:
    with pytest.raises(InvalidInput, match="shared by many organizations"):
        domain_rules.add_domain_rule(org("krp"), domain, actor=partner_admin("krp"))

    assert count(EmailDomainRule) == 0


def test_a_revoked_members_new_claim_waits_for_a_person_despite_the_domain_rule(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("krp")
    person = make_person("sato@example.com")
    membership = make_membership(person, "krp", status="verified", valid_until=date(2099, 3, 31))
    memberships.revoke_membership(membership, actor=officer, reason="Left the company")
    domain_rules.add_domain_rule(org("krp"), "example.com", actor=officer)

    again = services.claim_membership(person, org("krp"))

    assert again.status == "pending"


def test_domain_rule_verifies_pending_confirmed_claims_at_the_domain_and_its_subdomains(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("krp")
    at_domain = make_membership(make_person("a@example.com"), "krp")
    at_subdomain = make_membership(make_person("b@lab.Example.com"), "krp")
    lookalike = make_membership(make_person("c@evilexample.com"), "krp")
    unconfirmed = make_membership(make_person("d@example.com", confirmed=False), "krp")
    other_org = make_membership(make_person("e@example.com"), "ibri")

    rule, verified = domain_rules.add_domain_rule(org("krp"), " Example.COM ", actor=officer)

    assert (rule.domain, verified) == ("example.com", 2)
    db.session.expire_all()
    assert at_domain.status == at_subdomain.status == "verified"
    assert at_domain.verified_via == VerificationSource.DOMAIN_RULE
    assert at_domain.valid_until == default_validity_end(org("krp"), today())
    assert (lookalike.status, unconfirmed.status, other_org.status) == ("pending",) * 3
    assert [e.action for e in audit()] == [
        "domain_rule.add",
        "membership.verify",
        "membership.verify",
    ]


def test_later_claim_by_a_confirmed_person_at_the_domain_is_verified_at_once(
    make_person: MakePerson, partner_admin: PartnerAdmin
) -> None:
    domain_rules.add_domain_rule(org("krp"), "krp.example.co.jp", actor=partner_admin("krp"))
    person = make_person("yuki@krp.example.co.jp")

    membership = services.claim_membership(person, org("krp"))

    assert membership.status == VERIFIED
    assert membership.verified_via == VerificationSource.DOMAIN_RULE
    assert [m.kind for m in outbox()] == ["accounts/membership_verified"]


def test_registration_at_the_domain_is_verified_when_the_address_is_confirmed(
    partner_admin: PartnerAdmin,
) -> None:
    domain_rules.add_domain_rule(org("krp"), "krp.example.co.jp", actor=partner_admin("krp"))
    person = services.register_person(
        Registration(
            email="yuki@krp.example.co.jp",
            password=PASSWORD,
            family_name="中村",
            given_name="由紀",
            home_organization_id=org("krp").id,
        )
    )
    assert person is not None
    assert [m.status for m in person.memberships] == ["pending"]  # not before confirmation

    services.confirm_email(link_token(outbox("accounts/confirm_email")[0]))

    assert [m.status for m in person.memberships] == ["verified"]


def test_unconfirmed_claim_at_the_domain_stays_pending(
    make_person: MakePerson, partner_admin: PartnerAdmin
) -> None:
    domain_rules.add_domain_rule(org("krp"), "krp.example.co.jp", actor=partner_admin("krp"))
    person = make_person("yuki@krp.example.co.jp", confirmed=False)

    membership = services.claim_membership(person, org("krp"))

    assert membership.status == PENDING


def test_same_domain_twice_is_refused(partner_admin: PartnerAdmin) -> None:
    officer = partner_admin("krp")
    domain_rules.add_domain_rule(org("krp"), "krp.example.co.jp", actor=officer)

    with pytest.raises(InvalidTransition, match="already has a rule"):
        domain_rules.add_domain_rule(org("krp"), "KRP.example.co.jp", actor=officer)

    assert count(EmailDomainRule) == 1


def test_partner_admin_cannot_add_a_rule_for_another_organization(
    partner_admin: PartnerAdmin,
) -> None:
    with pytest.raises(NotFound):
        domain_rules.add_domain_rule(org("ibri"), "ibri.example.jp", actor=partner_admin("krp"))

    assert count(EmailDomainRule) == 0


def test_removing_a_rule_stops_automatic_verification_and_keeps_verified_members(
    make_person: MakePerson, make_membership: MakeMembership, partner_admin: PartnerAdmin
) -> None:
    officer = partner_admin("krp")
    early = make_membership(make_person("a@krp.example.co.jp"), "krp")
    rule, _ = domain_rules.add_domain_rule(org("krp"), "krp.example.co.jp", actor=officer)

    domain_rules.remove_domain_rule(rule, actor=officer)
    late = services.claim_membership(make_person("b@krp.example.co.jp"), org("krp"))

    db.session.refresh(early)
    assert (early.status, late.status) == ("verified", "pending")
    assert count(EmailDomainRule) == 0
    assert audit("domain_rule.remove")[0].actor_id == officer.id


def test_partner_admin_cannot_remove_another_organizations_rule(
    partner_admin: PartnerAdmin,
) -> None:
    rule, _ = domain_rules.add_domain_rule(
        org("ibri"), "ibri.example.jp", actor=partner_admin("ibri")
    )

    with pytest.raises(NotFound):
        domain_rules.remove_domain_rule(rule, actor=partner_admin("krp"))

    assert count(EmailDomainRule) == 1


# --- LINK-J corporate members and their seats -----------------------------------------------


@pytest.fixture
def contact(make_person: MakePerson) -> Person:
    """The primary contact of a corporate member to be."""
    return make_person("chief@mitsui-life.example", family_name="三井", given_name="一郎")


def new_company(actor: Person, contact: Person, *, seats: int = 3, **extra: object) -> Company:
    return companies.create_company(
        actor=actor,
        name="Mitsui Life Example K.K.",
        email_domain="mitsui-life.example",
        seat_count=seats,
        primary_contact=contact,
        **extra,  # type: ignore[arg-type]
    )


def invitation_link(n: int = -1) -> str:
    return link_token(outbox("accounts/invitation")[n])


def test_staff_record_a_corporate_member_whose_contact_gets_a_verified_seat(
    staff: Person, contact: Person
) -> None:
    company = new_company(staff, contact)

    assert company.organization_id == org("link-j").id
    assert company.valid_until == default_validity_end(org("link-j"), today())
    [seat] = contact.memberships
    assert seat.status == VERIFIED
    assert seat.kind == MembershipKind.CORPORATE
    assert seat.company_id == company.id
    assert seat.organization_id == org("link-j").id
    assert seat.verified_via == VerificationSource.INVITATION
    assert seat.valid_until == company.valid_until
    assert {e.action for e in audit()} == {"company.create", "membership.verify"}
    assert all(e.actor_id == staff.id for e in audit())


def test_contacts_pending_linkj_claim_becomes_the_corporate_seat(
    staff: Person, contact: Person, make_membership: MakeMembership
) -> None:
    claim = make_membership(contact, "link-j")

    company = new_company(staff, contact)

    db.session.refresh(claim)
    assert (claim.status, claim.company_id, claim.kind) == ("verified", company.id, "corporate")
    assert count(Membership) == 1


def test_partner_admin_cannot_record_a_corporate_member(
    partner_admin: PartnerAdmin, contact: Person
) -> None:
    with pytest.raises(NotFound):
        new_company(partner_admin("biocom"), contact)

    assert count(Company) == 0 and count(Membership) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"name": " "}, "company's name"),
        ({"seat_count": 0}, "at least one seat"),
        ({"email_domain": "gmail.com"}, "Anyone can have"),
        ({"email_domain": "other-corp.example"}, "primary contact's address"),
        ({"valid_until": date(2000, 3, 31)}, "in the past"),
    ],
)
def test_bad_company_details_are_refused(
    staff: Person, contact: Person, extra: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "name": "Mitsui Life Example K.K.",
        "email_domain": "mitsui-life.example",
        "seat_count": 3,
        **extra,
    }

    with pytest.raises(InvalidInput, match=message):
        companies.create_company(actor=staff, primary_contact=contact, **fields)  # type: ignore[arg-type]

    assert count(Company) == 0 and count(Membership) == 0


def test_primary_contact_invites_a_colleague_at_the_companys_domain(
    staff: Person, contact: Person
) -> None:
    company = new_company(staff, contact)

    invitation = companies.invite_colleague(company, "Aoi@Mitsui-Life.example", actor=contact)

    assert invitation.email_normalized == "aoi@mitsui-life.example"
    assert invitation.expires_at > utcnow() + timedelta(days=13)
    [mail] = outbox("accounts/invitation")
    assert mail.to_address == "aoi@mitsui-life.example"
    assert "Mitsui Life Example K.K." in mail.subject
    assert audit("invitation.create")[0].actor_id == contact.id


def test_invitation_to_a_subdomain_of_the_company_is_allowed(
    staff: Person, contact: Person
) -> None:
    company = new_company(staff, contact)

    companies.invite_colleague(company, "aoi@rd.mitsui-life.example", actor=contact)

    assert count(Invitation) == 1


@pytest.mark.parametrize(
    "email", ["aoi@gmail.com", "aoi@evilmitsui-life.example", "aoi@mitsui-life.example.com"]
)
def test_invitation_outside_the_companys_domain_is_refused(
    staff: Person, contact: Person, email: str
) -> None:
    company = new_company(staff, contact)

    with pytest.raises(InvalidInput, match="Only addresses at mitsui-life.example"):
        companies.invite_colleague(company, email, actor=contact)

    assert count(Invitation) == 0 and outbox("accounts/invitation") == []


def test_only_the_primary_contact_invites(
    staff: Person, contact: Person, make_person: MakePerson
) -> None:
    company = new_company(staff, contact)

    for outsider in (staff, make_person("aoi@mitsui-life.example")):
        with pytest.raises(NotFound):
            companies.invite_colleague(company, "ren@mitsui-life.example", actor=outsider)

    assert count(Invitation) == 0


def test_invitations_stop_when_held_and_promised_seats_reach_the_limit(
    staff: Person, contact: Person
) -> None:
    company = new_company(staff, contact, seats=2)
    companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)

    with pytest.raises(InvalidTransition, match="All 2 seats"):
        companies.invite_colleague(company, "ren@mitsui-life.example", actor=contact)

    assert companies.seats_taken(company) == 2
    assert count(Invitation) == 1
    assert len(outbox("accounts/invitation")) == 1


def test_withdrawn_and_expired_invitations_free_their_seat(staff: Person, contact: Person) -> None:
    company = new_company(staff, contact, seats=3)
    withdrawn = companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)
    lapsed = companies.invite_colleague(company, "ren@mitsui-life.example", actor=contact)
    assert companies.seats_taken(company) == 3

    companies.revoke_invitation(withdrawn, actor=contact)
    lapsed.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert companies.seats_taken(company) == 1
    companies.invite_colleague(company, "ren@mitsui-life.example", actor=contact)
    assert companies.seats_taken(company) == 2


def test_a_live_invitation_is_not_sent_twice(staff: Person, contact: Person) -> None:
    company = new_company(staff, contact)
    companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)

    with pytest.raises(InvalidTransition, match="already has an open invitation"):
        companies.invite_colleague(company, "AOI@mitsui-life.example", actor=contact)

    assert count(Invitation) == 1


def test_colleague_accepts_with_the_invited_confirmed_address(
    staff: Person, contact: Person, make_person: MakePerson
) -> None:
    company = new_company(staff, contact)
    invitation = companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)
    colleague = make_person("Aoi@mitsui-life.example")

    seat = companies.accept_invitation(invitation_link(), person=colleague)

    db.session.refresh(seat)
    assert (seat.person_id, seat.organization_id) == (colleague.id, org("link-j").id)
    assert (seat.status, seat.kind, seat.company_id) == ("verified", "corporate", company.id)
    assert seat.verified_via == VerificationSource.INVITATION
    assert seat.valid_until == company.valid_until
    db.session.refresh(invitation)
    assert invitation.accepted_by_id == colleague.id and invitation.accepted_at is not None
    assert companies.seats_taken(company) == 2  # the promise became a held seat
    assert audit("invitation.accept")[0].actor_id == colleague.id


def test_invitation_accepted_by_another_person_is_refused(
    staff: Person, contact: Person, make_person: MakePerson
) -> None:
    company = new_company(staff, contact)
    invitation = companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)
    stranger = make_person("ren@mitsui-life.example")

    with pytest.raises(InvalidInput, match="This invitation is for aoi@mitsui-life.example"):
        companies.accept_invitation(invitation_link(), person=stranger)

    db.session.refresh(invitation)
    assert invitation.accepted_at is None
    assert stranger.memberships == []


def test_invitation_needs_the_address_confirmed(
    staff: Person, contact: Person, make_person: MakePerson
) -> None:
    company = new_company(staff, contact)
    companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)
    colleague = make_person("aoi@mitsui-life.example", confirmed=False)

    with pytest.raises(InvalidInput, match="confirmed address"):
        companies.accept_invitation(invitation_link(), person=colleague)

    assert colleague.memberships == []


def test_invitation_accepted_twice_is_refused(
    staff: Person, contact: Person, make_person: MakePerson
) -> None:
    company = new_company(staff, contact)
    companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)
    colleague = make_person("aoi@mitsui-life.example")
    token = invitation_link()
    companies.accept_invitation(token, person=colleague)

    with pytest.raises(InvalidTransition, match="already accepted"):
        companies.accept_invitation(token, person=colleague)

    assert count(Membership) == 2


@pytest.mark.parametrize("ended", ["expired", "withdrawn"])
def test_expired_or_withdrawn_invitation_is_refused(
    staff: Person, contact: Person, make_person: MakePerson, ended: str
) -> None:
    company = new_company(staff, contact)
    invitation = companies.invite_colleague(company, "aoi@mitsui-life.example", actor=contact)
    if ended == "expired":
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    else:
        companies.revoke_invitation(invitation, actor=contact)
    colleague = make_person("aoi@mitsui-life.example")

    with pytest.raises(InvalidInput, match="expired or was withdrawn"):
        companies.accept_invitation(invitation_link(), person=colleague)

    assert colleague.memberships == []


def test_holder_of_another_companys_seat_cannot_take_a_second(
    staff: Person, contact: Person, make_person: MakePerson
) -> None:
    parent = new_company(staff, contact)
    researcher = make_person("sora@rd.mitsui-life.example")
    companies.invite_colleague(parent, researcher.email, actor=contact)
    companies.accept_invitation(invitation_link(), person=researcher)
    subsidiary = companies.create_company(
        actor=staff,
        name="Mitsui Life R&D",
        email_domain="rd.mitsui-life.example",
        seat_count=3,
        primary_contact=make_person("head@rd.mitsui-life.example"),
    )
    companies.invite_colleague(
        subsidiary,
        researcher.email,
        actor=subsidiary.primary_contact,  # type: ignore[arg-type]
    )

    with pytest.raises(InvalidTransition, match="seat of another company"):
        companies.accept_invitation(invitation_link(), person=researcher)

    [seat] = [m for m in researcher.memberships if m.status == "verified"]
    db.session.refresh(seat)
    assert seat.company_id == parent.id

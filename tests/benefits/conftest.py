"""The people and services of the benefit stories, built straight from the models.

LINK-J's member Taro claims from One Nucleus (a member rate needing approval, paid out as a
code from a pool), BIOCOM (introductions, granted at once, twice a year) and UCSD (a digest
with one shared code); One Nucleus's member Alice may ask for a desk day at LINK-J, which
LINK-J's staff decide. Factories write rows without services: no mail, no audit entries, so
a test's assertions see only what the service under test did.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.accounts.memberships import today
from portal.accounts.models import Membership, MembershipStatus, Person, Role
from portal.benefits.eligibility import claim_period
from portal.benefits.models import COUNTED_STATES, BenefitClaim, BenefitCode, ClaimStatus
from portal.db import utcnow
from portal.extensions import db
from portal.organizations.models import Agreement, Organization, ReciprocalService
from tests.accounts.conftest import add_consent, english, org  # noqa: F401 - fixtures for this folder
from tests.admin.conftest import make_person

_numbers = itertools.count(1)
PARTNERS_ABROAD = ("ucsd", "biocom", "eurobiomed", "one-nucleus")


def agreement(slug: str) -> Agreement:
    found = db.session.scalar(select(Agreement).where(Agreement.slug == slug))
    assert found is not None, slug
    return found


def add_service(agreement_slug: str, provider_slug: str, **terms: Any) -> ReciprocalService:
    """A claimable service of the MOU, provided by ``provider_slug``, committed."""
    mou = agreement(agreement_slug)
    provider = org(provider_slug)
    beneficiary_id = mou.partner_id if provider.id == mou.hub_id else mou.hub_id
    values: dict[str, Any] = {
        "category": "member_services",
        "title_en": f"Service {next(_numbers)}",
        "title_ja": "",
        "claimable": True,
    }
    values.update(terms)
    service = ReciprocalService(
        agreement_id=mou.id, provider_id=provider.id, beneficiary_id=beneficiary_id, **values
    )
    db.session.add(service)
    db.session.commit()
    return service


def add_codes(service: ReciprocalService, *codes: str) -> list[BenefitCode]:
    rows = [BenefitCode(service_id=service.id, code=code) for code in codes]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def member_of(
    slug: str,
    *,
    email: str | None = None,
    status: MembershipStatus = MembershipStatus.VERIFIED,
    valid_until: date | None = None,
    family_name: str = "山田",
    given_name: str = "太郎",
) -> tuple[Person, Membership]:
    person = make_person(email or f"member{next(_numbers)}@{slug}.example", family_name, given_name)
    membership = Membership(
        person=person,
        organization=org(slug),
        status=status.value,
        valid_until=valid_until
        or (
            today(org(slug)) + timedelta(days=300) if status == MembershipStatus.VERIFIED else None
        ),
        member_number=f"M-{next(_numbers)}",
    )
    db.session.add(membership)
    db.session.commit()
    if slug == "link-j":
        # These stories are about claims, not consent (tests/accounts/test_consents.py):
        # LINK-J's members here agreed to their data going to the partners abroad.
        add_consent(person, *PARTNERS_ABROAD)
    return person, membership


def add_claim(
    person: Person,
    service: ReciprocalService,
    *,
    status: ClaimStatus = ClaimStatus.REQUESTED,
    created_at: Any = None,
    decided_by: Person | None = None,
    code: str | None = None,
) -> BenefitClaim:
    created_at = created_at or utcnow()
    period = claim_period(service, created_at)
    # The lowest place of the period that no live claim of the person holds, as a claim
    # would take it.
    taken = set(
        db.session.scalars(
            select(BenefitClaim.slot).where(
                BenefitClaim.person_id == person.id,
                BenefitClaim.service_id == service.id,
                BenefitClaim.period == period,
                BenefitClaim.status.in_([s.value for s in COUNTED_STATES]),
            )
        )
    )
    claim = BenefitClaim(
        person_id=person.id,
        service_id=service.id,
        status=status.value,
        period=period,
        slot=next(n for n in range(1, len(taken) + 2) if n not in taken),
        created_at=created_at,
        decided_at=None if status in (ClaimStatus.REQUESTED, ClaimStatus.CANCELLED) else utcnow(),
        decided_by_id=decided_by.id if decided_by else None,
        decision_note="Not this year." if status == ClaimStatus.REJECTED else "",
        code=code,
    )
    db.session.add(claim)
    db.session.commit()
    return claim


def grant(person: Person, role: Role, organization: Organization | None = None) -> Person:
    from portal.accounts.models import RoleGrant

    db.session.add(
        RoleGrant(
            person_id=person.id,
            role=role.value,
            organization_id=organization.id if organization else None,
        )
    )
    db.session.commit()
    return person


def fresh(record: Any) -> Any:
    """The record as the database has it now."""
    db.session.expire_all()
    return db.session.get(type(record), record.id)


@dataclass
class Story:
    hub: Organization
    one_nucleus: Organization
    biocom: Organization
    #: Verified LINK-J member.
    taro: Person
    taro_membership: Membership
    #: LINK-J member whose claim is still pending verification.
    pending_member: Person
    #: Verified One Nucleus member.
    alice: Person
    #: One Nucleus → LINK-J: approval, once a year, a code from a pool of three.
    member_rate: ReciprocalService
    #: BIOCOM → LINK-J: granted at once, twice a year, instructions.
    introductions: ReciprocalService
    #: UCSD → LINK-J: one code for everyone, no limit.
    digest: ReciprocalService
    #: LINK-J → One Nucleus: approval (by LINK-J's staff), once a quarter.
    desk_day: ReciprocalService
    one_nucleus_admin: Person
    biocom_admin: Person
    ucsd_admin: Person
    staff: Person
    admin: Person


@pytest.fixture
def story(network: None) -> Story:
    hub, one_nucleus, biocom = org("link-j"), org("one-nucleus"), org("biocom")
    taro, taro_membership = member_of(
        "link-j", email="taro.yamada@nihonbashi-pharma.example", given_name="太郎"
    )
    taro.romanized_name = "Taro Yamada"
    pending_member, _ = member_of("link-j", status=MembershipStatus.PENDING, given_name="待")
    alice, _ = member_of(
        "one-nucleus", email="alice@cambridge-bio.example", family_name="Smith", given_name="Alice"
    )
    member_rate = add_service(
        "link-j-one-nucleus-2017",
        "one-nucleus",
        title_en="Member rate at Genesis",
        title_ja="Genesis会員価格",
        requires_approval=True,
        limit_per_member=1,
        limit_period="year",
        redemption="code_pool",
        redemption_instructions_en="Enter the code at checkout.",
        redemption_instructions_ja="お支払い画面でコードを入力してください。",
    )
    add_codes(member_rate, "ON-0001", "ON-0002", "ON-0003")
    introductions = add_service(
        "link-j-biocom-2016",
        "biocom",
        title_en="Introductions to BIOCOM members",
        title_ja="BIOCOM会員の紹介",
        limit_per_member=2,
        limit_period="year",
        redemption_instructions_en="Write to intros@biocom.example.",
    )
    digest = add_service(
        "link-j-ucsd-2016",
        "ucsd",
        category="publications",
        title_en="UCSD research digest",
        redemption="shared_code",
        shared_code="UCSD-LINKJ",
    )
    desk_day = add_service(
        "link-j-one-nucleus-2017",
        "link-j",
        title_en="Desk day in Nihonbashi",
        title_ja="日本橋デスク利用",
        requires_approval=True,
        limit_per_member=1,
        limit_period="quarter",
    )
    one_nucleus_admin = grant(
        make_person("officer@onenucleus.example", "Jones", "Olivia"),
        Role.PARTNER_ADMIN,
        one_nucleus,
    )
    biocom_admin = grant(
        make_person("officer@biocom.example", "Rivera", "Sam"), Role.PARTNER_ADMIN, biocom
    )
    ucsd_admin = grant(
        make_person("officer@ucsd.example", "Chen", "Lee"), Role.PARTNER_ADMIN, org("ucsd")
    )
    staff = grant(make_person("secretariat@link-j.example", "佐藤", "花子"), Role.STAFF)
    admin = grant(make_person("root@link-j.example", "Root", "Admin"), Role.ADMIN)
    return Story(
        hub=hub,
        one_nucleus=one_nucleus,
        biocom=biocom,
        taro=taro,
        taro_membership=taro_membership,
        pending_member=pending_member,
        alice=alice,
        member_rate=member_rate,
        introductions=introductions,
        digest=digest,
        desk_day=desk_day,
        one_nucleus_admin=one_nucleus_admin,
        biocom_admin=biocom_admin,
        ucsd_admin=ucsd_admin,
        staff=staff,
        admin=admin,
    )

"""A verified LINK-J member agrees to share data with One Nucleus (UK) and claims its member
rate; One Nucleus approves; the code."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.memberships import today
from portal.accounts.models import Membership, MembershipStatus, Role
from portal.benefits.models import BenefitClaim, ClaimStatus
from portal.extensions import db
from portal.notifications.services import deliver_due, smtp_transport
from portal.organizations.models import Agreement, Organization, ReciprocalService

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.factories import SMTPCapture

PASSWORD = "Nihonbashi-Genesis-2026"
TITLE = "Member rate at One Nucleus Genesis"

pytestmark = pytest.mark.usefixtures("network")


def _organization(slug: str) -> Organization:
    found = db.session.scalar(select(Organization).where(Organization.slug == slug))
    assert found is not None
    return found


@pytest.fixture
def links_to_live_server(app: Flask, live_server: str) -> Iterator[None]:
    saved = app.config["PORTAL_BASE_URL"]
    app.config["PORTAL_BASE_URL"] = live_server
    yield
    app.config["PORTAL_BASE_URL"] = saved


@pytest.fixture
def one_nucleus_offer() -> int:
    """One Nucleus's member rate for LINK-J members: approval, once a year, a pool of codes;
    a verified LINK-J member; One Nucleus's admin. Returns the service's id."""
    hub, one_nucleus = _organization("link-j"), _organization("one-nucleus")
    mou = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-one-nucleus-2017"))
    assert mou is not None
    service = ReciprocalService(
        agreement_id=mou.id,
        provider_id=one_nucleus.id,
        beneficiary_id=hub.id,
        category="member_services",
        title_en=TITLE,
        title_ja="One Nucleus Genesis 会員価格",
        description_en="LINK-J members register at One Nucleus member rates.",
        claimable=True,
        requires_approval=True,
        limit_per_member=1,
        limit_period="year",
        redemption="code_pool",
        redemption_instructions_en="Enter the code at checkout on onenucleus.com.",
    )
    db.session.add(service)
    db.session.commit()
    from portal.benefits.codes import import_codes

    staff = services.create_person_directly(
        "secretariat@link-j.example", PASSWORD, family_name="Sato", given_name="Hanako"
    )
    services.grant_role(staff, Role.STAFF, actor=None)
    import_codes(service, b"code\nGENESIS-LJ-0001\nGENESIS-LJ-0002\n", actor=staff)

    member = services.create_person_directly(
        "taro.yamada@nihonbashi-pharma.example", PASSWORD, family_name="Yamada", given_name="Taro"
    )
    db.session.add(
        Membership(
            person=member,
            organization=hub,
            status=MembershipStatus.VERIFIED.value,
            valid_until=today(hub) + timedelta(days=200),
            member_number="LJ-0042",
        )
    )
    officer = services.create_person_directly(
        "officer@onenucleus.example", PASSWORD, family_name="Jones", given_name="Olivia"
    )
    services.grant_role(officer, Role.PARTNER_ADMIN, actor=None, organization=one_nucleus)
    db.session.commit()
    return service.id


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_linkj_member_claims_one_nucleus_member_rate_and_gets_the_code_after_approval(
    new_page: Callable[..., Page],
    expect: Any,
    assert_accessible: Callable[[Page], None],
    smtp_server: SMTPCapture,
    links_to_live_server: None,
    one_nucleus_offer: int,
) -> None:
    member = new_page()
    _log_in(member, "taro.yamada@nihonbashi-pharma.example")
    member.get_by_role("navigation", name="Main").get_by_role("link", name="Benefits").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Benefits under LINK-J's MOUs")
    offers = member.get_by_role("region", name="From One Nucleus, for LINK-J members")
    expect(offers.get_by_text("One Nucleus approves each claim").first).to_be_visible()
    assert_accessible(member)
    offers.get_by_role("button", name=f"Claim — {TITLE}").click()
    # One Nucleus is in the United Kingdom: Taro first agrees to his data going there.
    expect(member.get_by_role("heading", level=2)).to_have_text(
        "Sharing your data with One Nucleus (United Kingdom)"
    )
    assert_accessible(member)
    member.get_by_role("button", name="I agree and continue").click()
    expect(member.get_by_text(f"Your claim for {TITLE} is sent.")).to_be_visible()
    expect(member.get_by_text("Waiting for a decision").first).to_be_visible()
    assert_accessible(member)

    # One Nucleus's admin is told by mail, over real SMTP, with a link to the claim.
    assert deliver_due(smtp_transport()).sent == 1
    [to_decide] = smtp_server.wait_for(1)
    assert to_decide["To"] == "officer@onenucleus.example"
    body = to_decide.get_body(preferencelist=("plain",)).get_content()
    claim_link = re.search(r"http://127\.0\.0\.1:\d+/admin/claims/\d+", body)
    assert claim_link, body

    officer = new_page()
    _log_in(officer, "officer@onenucleus.example")
    officer.goto(claim_link.group(0))
    expect(officer.get_by_role("heading", level=1)).to_contain_text("Taro Yamada")
    assert_accessible(officer)
    officer.get_by_label("Note to the member (optional)").fill("See you at Genesis in London.")
    officer.get_by_role("button", name="Approve claim").click()
    expect(officer.get_by_text("The claim of Taro Yamada is approved")).to_be_visible()
    expect(officer.get_by_text("GENESIS-LJ-0001")).to_be_visible()

    member.goto("/benefits/claims")
    expect(member.get_by_text("Granted", exact=True)).to_be_visible()
    expect(member.get_by_text("GENESIS-LJ-0001")).to_be_visible()
    expect(member.get_by_text("Enter the code at checkout on onenucleus.com.")).to_be_visible()
    expect(member.get_by_text("See you at Genesis in London.")).to_be_visible()
    assert_accessible(member)
    member.goto("/account")
    expect(member.get_by_text("GENESIS-LJ-0001")).to_be_visible()

    # The approval reached the member by mail, with the code.
    deliver_due(smtp_transport())
    messages = smtp_server.wait_for(2)
    approval = next(m for m in messages if m["To"] == "taro.yamada@nihonbashi-pharma.example")
    assert approval["Subject"] == f"Granted: {TITLE} from One Nucleus"
    assert "GENESIS-LJ-0001" in approval.get_body(preferencelist=("plain",)).get_content()

    db.session.expire_all()
    claim = db.session.scalar(
        select(BenefitClaim).where(BenefitClaim.service_id == one_nucleus_offer)
    )
    assert claim is not None and claim.status == ClaimStatus.APPROVED
    assert claim.code == "GENESIS-LJ-0001"


def test_the_report_page_and_the_catalogue_on_a_phone(
    new_page: Callable[..., Page],
    expect: Any,
    assert_accessible: Callable[[Page], None],
    one_nucleus_offer: int,
) -> None:
    staff = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _log_in(staff, "secretariat@link-j.example")
    staff.goto("/admin/report")
    expect(staff.get_by_role("img", name=re.compile("Claims per direction"))).to_be_visible()
    assert_accessible(staff)

    member = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _log_in(member, "taro.yamada@nihonbashi-pharma.example")
    member.goto("/benefits")
    expect(member.get_by_role("button", name=f"Claim — {TITLE}")).to_be_visible()
    assert_accessible(member)

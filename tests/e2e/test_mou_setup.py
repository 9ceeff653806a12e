"""LINK-J's staff set up a new partner's MOU from scratch, in the browser, page by page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import Role
from portal.benefits.models import BenefitCode
from portal.extensions import db
from portal.organizations.models import Agreement, ReciprocalService

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "Secretariat-Nihonbashi-2026"

pytestmark = pytest.mark.usefixtures("network")


@pytest.fixture
def staff_account() -> None:
    person = services.create_person_directly(
        "secretariat@link-j.example", PASSWORD, family_name="Sato", given_name="Hanako"
    )
    services.grant_role(person, Role.STAFF, actor=None)


def test_staff_add_a_partner_its_mou_a_service_and_its_codes(
    page: Page,
    expect: Any,
    assert_accessible: Callable[[Page], None],
    staff_account: None,
    tmp_path: Path,
) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill("secretariat@link-j.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # 1. The partner organization.
    page.goto("/admin/")
    admin_nav = page.get_by_role("navigation", name="Administration")
    admin_nav.get_by_role("link", name="Organizations").click()
    assert_accessible(page)
    page.get_by_role("link", name="Add an organization").click()
    page.get_by_label("URL name").fill("medicon-valley")
    page.get_by_label("Short name").fill("MVA")
    page.get_by_label("Name in English").fill("Medicon Valley Alliance")
    page.get_by_label("Name in Japanese").fill("メディコンバレー・アライアンス")
    page.get_by_label("Country (ISO code)").fill("DK")
    page.get_by_label("City in English").fill("Copenhagen")
    page.get_by_label("Time zone").fill("Europe/Copenhagen")
    page.get_by_label("Currency (ISO code)").fill("DKK")
    page.get_by_label("Month in which its membership year ends").fill("12")
    assert_accessible(page)
    page.get_by_role("button", name="Add organization").click()
    expect(page.get_by_text("MVA is added. Next, record its MOU.")).to_be_visible()

    # 2. The MOU: the form arrives with the new partner chosen; a bad end date first.
    expect(page.get_by_label("Partner")).to_have_value(re.compile(r"\d+"))
    page.get_by_label("Signed on").fill("2026-06-01")
    page.get_by_label("Valid until (optional)").fill("2026-05-31")
    page.get_by_role("button", name="Record MOU").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The MOU cannot end before the day it was signed."
    )
    assert_accessible(page)
    page.get_by_label("Valid until (optional)").fill("2031-05-31")
    page.get_by_label("Link to the signed document (optional)").fill(
        "https://drive.example/mou-mva-2026.pdf"
    )
    page.get_by_label("Summary in English").fill("Services to each other's members.")
    page.get_by_role("button", name="Record MOU").click()
    expect(page.get_by_text("The MOU is recorded.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("MOU between LINK-J and MVA")
    assert_accessible(page)

    # 3. A service from the partner to LINK-J's members: approval, once a year, a code pool.
    page.get_by_role("link", name="Add a service from MVA").click()
    page.get_by_label("Title in English").fill("Member rate at Nordic Life Science Days")
    page.get_by_label("Each claim needs the provider's approval").check()
    page.get_by_label("Claims allowed per member (empty: once in all)").fill("0")
    page.get_by_label("How it is redeemed").select_option(
        label="A single-use code from a pool, one per granted claim"
    )
    page.get_by_role("button", name="Add service").click()
    expect(page.get_by_role("alert")).to_contain_text("A limit is at least 1 claim per member")
    page.get_by_label("Claims allowed per member (empty: once in all)").fill("1")
    page.get_by_label("Instructions in English, shown once granted").fill(
        "Enter the code when you register on nlsdays.com."
    )
    assert_accessible(page)
    page.get_by_role("button", name="Add service").click()

    # 4. Its codes, from a CSV file.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Codes of “Member rate at Nordic Life Science Days”"
    )
    codes = tmp_path / "codes.csv"
    codes.write_text("code\nNLSD-LJ-01\nNLSD-LJ-02\nNLSD-LJ-03\n", encoding="utf-8-sig")
    page.get_by_label("Codes file (CSV)").set_input_files(str(codes))
    page.get_by_role("button", name="Upload codes").click()
    expect(page.get_by_text("3 codes added to the pool.")).to_be_visible()
    assert_accessible(page)

    db.session.expire_all()
    mou = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-medicon-valley-2026"))
    assert mou is not None and mou.document_url == "https://drive.example/mou-mva-2026.pdf"
    service = db.session.scalar(
        select(ReciprocalService).where(ReciprocalService.agreement_id == mou.id)
    )
    assert service is not None
    assert (service.requires_approval, service.limit_per_member, service.redemption) == (
        True,
        1,
        "code_pool",
    )
    assert (
        len(
            db.session.scalars(
                select(BenefitCode).where(BenefitCode.service_id == service.id)
            ).all()
        )
        == 3
    )

    # The new MOU's pages, and the rest of the admin area, pass axe too.
    for path in ("/admin/mous", "/admin/claims", "/admin/report?period=year"):
        page.goto(path)
        assert_accessible(page)
    page.get_by_role("button", name="日本語").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("相互利用レポート")
    assert_accessible(page)

"""A BIOCOM member registers, confirms by mail, and is verified by BIOCOM's admin."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import Role
from portal.extensions import db
from portal.notifications.services import deliver_due, smtp_transport
from portal.organizations.models import Organization

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.factories import SMTPCapture

PASSWORD = "Torrey-Pines-2026"

pytestmark = pytest.mark.usefixtures("network")


@pytest.fixture
def links_to_live_server(app: Flask, live_server: str) -> Iterator[None]:
    saved = app.config["PORTAL_BASE_URL"]
    app.config["PORTAL_BASE_URL"] = live_server
    yield
    app.config["PORTAL_BASE_URL"] = saved


@pytest.fixture
def biocom_admin() -> None:
    biocom = db.session.scalar(select(Organization).where(Organization.slug == "biocom"))
    officer = services.create_person_directly(
        "officer@biocom.example", PASSWORD, family_name="Rivera", given_name="Sam"
    )
    services.grant_role(officer, Role.PARTNER_ADMIN, actor=None, organization=biocom)


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_biocom_member_is_verified_and_sees_what_linkj_offers_biocom_members(
    new_page: Callable[..., Page],
    expect: Any,
    assert_accessible: Callable[[Page], None],
    smtp_server: SMTPCapture,
    links_to_live_server: None,
    biocom_admin: None,
) -> None:
    member = new_page()
    member.goto("/register")
    assert_accessible(member)
    member.get_by_label("Email address").fill("jordan.lee@torreypines.example")
    member.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    member.get_by_label("Password again").fill(PASSWORD)
    member.get_by_label("Family name").fill("Lee")
    member.get_by_label("Given name").fill("Jordan")
    member.get_by_label("Affiliation (company or institution)").fill("Torrey Pines Therapeutics")
    member.get_by_label("Home organization").select_option(label="BIOCOM")
    member.get_by_label("Member number (if your organization issued one)").fill("BC-2041")
    member.get_by_role("button", name="Register").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Check your email")

    # The outbox worker sends the confirmation over real SMTP.
    assert deliver_due(smtp_transport()).sent == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "jordan.lee@torreypines.example"
    body = message.get_body(preferencelist=("plain",)).get_content()
    confirm_link = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", body)
    assert confirm_link, body

    member.goto(confirm_link.group(0))
    member.get_by_role("button", name="Confirm my address").click()
    expect(member.get_by_text("your email address is confirmed")).to_be_visible()
    # Confirming signs the person in: no second trip through the login form.
    expect(member.get_by_role("heading", level=1)).to_have_text("Welcome, Jordan Lee")
    expect(member.get_by_text("Pending verification")).to_be_visible()
    assert_accessible(member)
    member.goto("/benefits")
    expect(member.get_by_text("Services open once a membership is verified.")).to_be_visible()

    officer = new_page()
    _log_in(officer, "officer@biocom.example")
    officer.get_by_role("link", name="Administration").click()
    officer.get_by_role("link", name=re.compile("BIOCOM")).first.click()
    assert_accessible(officer)
    officer.get_by_role("link", name="Jordan Lee").click()
    officer.get_by_role("button", name="Verify membership").click()
    expect(officer.get_by_text("Jordan Lee is verified as a member of BIOCOM")).to_be_visible()

    member.goto("/account")
    expect(member.get_by_text("Verified", exact=True)).to_be_visible()
    member.goto("/benefits")
    services_open = member.get_by_role("region", name="Services open to me")
    for summary in services_open.locator("summary").all():
        summary.click()  # each MOU's services fold under its summary
    expect(
        services_open.get_by_text("LINK-J extends its member services to BIOCOM members")
    ).to_be_visible()
    expect(services_open.get_by_text("LINK-J shares its publications")).to_be_visible()
    assert_accessible(member)

    # The verification mail reached the member too.
    deliver_due(smtp_transport())
    subjects = [m["Subject"] for m in smtp_server.wait_for(2)]
    assert "Your BIOCOM membership is verified" in subjects

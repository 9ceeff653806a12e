"""The member's and the admin's day, in Chromium: the dashboard says what needs the member,
a partner admin lands on their work, confirming the address signs in, and "Register" leads
straight to paying.

Screenshots of the dashboard at 1280 and 390 px go to ``test-results/screenshots/``; each page
is checked for horizontal overflow (nothing wider than the viewport) and with axe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import insert, select

from portal.accounts import services
from portal.accounts.models import Role
from portal.benefits.models import BenefitClaim
from portal.db import utcnow
from portal.events import registering
from portal.events.models import Event, Registration
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.organizations.models import ReciprocalService
from tests.factories import (
    PASSWORD,
    add_event,
    add_membership,
    add_person,
    add_role,
    link_token,
    org,
    ticket,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.usefixtures("network")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _fits(page: Page) -> None:
    """Nothing on the page is wider than the viewport."""
    width = page.viewport_size["width"]  # type: ignore[index]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _paid_event(title: str = "Kobe–Nihonbashi Business Forum") -> Event:
    event = add_event(
        starts_in=timedelta(days=21),
        tickets=(
            {
                "audience": "linkj_member",
                "price": 8000,
                "currency": "JPY",
                "tax_rate": 10,
                "name_en": "LINK-J member",
                "name_ja": "LINK-J会員",
            },
        ),
    )
    event.title_en = title
    db.session.commit()
    return event


def _member(email: str = "taro@nihonbashi.example") -> Any:
    person = add_person(email, family_name="Yamada", given_name="Taro")
    person.affiliation = "Nihonbashi Pharma"
    db.session.commit()
    add_membership(
        person, "link-j", status="verified", valid_until=utcnow().date() + timedelta(300)
    )
    return person


def test_the_dashboard_answers_what_needs_me(
    new_page: Callable[..., Page], expect: Any, assert_accessible: Callable[[Page], None]
) -> None:
    member = _member()
    paid = _paid_event()
    free = add_event(starts_in=timedelta(days=9))
    free.title_en = "Members' Networking Evening"
    db.session.commit()
    registering.register(member, paid, ticket_type_id=ticket(paid, "linkj_member").id)
    registering.register(member, free, ticket_type_id=ticket(free, "linkj_member").id)
    service = db.session.scalar(
        select(ReciprocalService).where(
            ReciprocalService.beneficiary_id == org("link-j").id,
            ReciprocalService.claimable.is_(True),
        )
    )
    decider = add_person("officer@biocom.example")
    db.session.execute(
        insert(BenefitClaim),
        [
            {
                "service_id": service.id,
                "person_id": member.id,
                "status": "approved",
                "decided_at": utcnow(),
                "decided_by_id": decider.id,
                "period": "ever",
                "slot": 1,
            }
        ],
    )
    db.session.commit()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    heights = {}
    for name, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page = new_page(viewport=viewport)
        _log_in(page, member.email)
        # A member lands on the dashboard; what is owed comes first, with its deadline.
        assert page.url.endswith("/account")
        due = page.get_by_role("region", name="Payments due")
        expect(due.get_by_text("Your seat is held until")).to_be_visible()
        expect(due.get_by_role("link", name="Pay ¥8,000")).to_be_visible()
        upcoming = page.get_by_role("region", name="My upcoming events")
        expect(
            upcoming.get_by_role("link", name="Members' Networking Evening", exact=True)
        ).to_be_visible()
        expect(upcoming.get_by_role("link", name="Ticket: Linkj Member").first).to_be_visible()
        if name == "1280":
            # The news of a decision shows once: this first visit.
            news = page.get_by_role("region", name="Claims decided since your last visit")
            expect(news.get_by_text("Granted")).to_be_visible()
            expect(news.get_by_role("link", name="How to use it")).to_be_visible()
        expect(
            page.get_by_role("navigation", name="Main").get_by_role("link", name="My events")
        ).to_be_visible()
        expect(page.get_by_text("Services open to me")).to_have_count(0)
        _fits(page)
        assert_accessible(page)
        heights[name] = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)
        if name == "390":
            # Seen on the first visit: no longer news.
            expect(page.get_by_text("Claims decided since your last visit")).to_have_count(0)
            due.get_by_role("link", name="Pay ¥8,000").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Pay for")
    print(f"dashboard height: {heights['1280']} px at 1280, {heights['390']} px at 390")
    assert heights["390"] < 2500 and heights["1280"] < 1600


def test_a_partner_admin_lands_on_their_queue_and_the_claims_waiting(
    new_page: Callable[..., Page], expect: Any, assert_accessible: Callable[[Page], None]
) -> None:
    officer = add_role(
        add_person("officer@biocom.example", family_name="Rivera", given_name="Sam"),
        Role.PARTNER_ADMIN,
        org("biocom"),
    )
    add_membership(add_person("jordan@torreypines.example", confirmed=False), "biocom")
    service = db.session.scalar(
        select(ReciprocalService).where(
            ReciprocalService.provider_id == org("biocom").id,
            ReciprocalService.claimable.is_(True),
        )
    )
    claimant = _member("hanako@nihonbashi.example")
    db.session.add(
        BenefitClaim(
            service_id=service.id,
            person_id=claimant.id,
            status="requested",
            period="ever",
            slot=1,
        )
    )
    db.session.commit()

    page = new_page(viewport=PHONE)
    _log_in(page, officer.email)

    assert page.url.endswith("/admin/")
    expect(page.get_by_text("Signed in as Sam Rivera")).to_be_visible()
    expect(page.locator(".signed-in-role")).to_have_text("Partner admin")
    work = page.get_by_role("region", name="Waiting for you")
    expect(work.locator('[data-count="memberships-biocom"]')).to_have_text("1")
    expect(work.locator('[data-count="benefit-claims"]')).to_have_text("1")
    expect(page.get_by_role("columnheader", name="Membership claims to verify")).to_be_visible()
    _fits(page)
    assert_accessible(page)
    work.get_by_role("link", name="Taro Yamada claims").click()  # the waiting claim itself
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/admin/benefits/claims/" in page.url or "/claims/" in page.url

    # The queue: verify on the row, the unconfirmed address flagged; names never one letter
    # a line on a phone.
    page.goto("/admin/organizations/biocom/memberships")
    expect(page.get_by_text("Email not confirmed")).to_be_visible()
    name_cell = page.get_by_role("rowheader").first
    assert name_cell.bounding_box()["width"] > 60  # type: ignore[index]
    assert_accessible(page)
    page.get_by_role("button", name="Verify").first.click()
    expect(page.get_by_text("is verified as a member of BIOCOM")).to_be_visible()
    assert page.url.endswith("/admin/organizations/biocom/memberships")


def test_confirming_the_address_signs_the_person_in(
    new_page: Callable[..., Page], expect: Any, assert_accessible: Callable[[Page], None]
) -> None:
    services.register_person(
        services.Registration(
            email="jordan.lee@torreypines.example",
            password=PASSWORD,
            family_name="Lee",
            given_name="Jordan",
            home_organization_id=org("biocom").id,
            affiliation="Torrey Pines Therapeutics",
        )
    )
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "jordan.lee@torreypines.example")
    )
    page = new_page()

    page.goto(f"/confirm/{link_token(message)}")
    page.get_by_role("button", name="Confirm my address").click()

    expect(page.get_by_text("your email address is confirmed")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Jordan Lee")
    expect(page.get_by_text("Signed in as Jordan Lee")).to_be_visible()
    assert page.url.endswith("/account")
    assert_accessible(page)
    # The link is used up: again, it says so and signs nobody in anew.
    page.goto(f"/confirm/{link_token(message)}")
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("This link was already used")).to_be_visible()


def test_from_register_to_paying_in_one_click(
    new_page: Callable[..., Page],
    expect: Any,
    assert_accessible: Callable[[Page], None],
    stripe_on: str,  # noqa: F811 - the fixture imported above
) -> None:
    member = _member()
    event = _paid_event()

    # By card: one click from "Register" to the card form.
    page = new_page(viewport=PHONE)
    page.route("https://js.stripe.com/**", lambda route: route.abort())  # offline
    _log_in(page, member.email)
    page.goto(f"/events/{event.slug}")
    shortcut = page.locator(".register-shortcut a")
    box = shortcut.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]  # no scrolling
    assert_accessible(page)
    clicks = 0
    shortcut.click()  # on a phone: the form, far below the description
    expect(page.get_by_label("Card (Stripe)")).to_be_checked()
    page.get_by_role("button", name="Register", exact=True).click()
    clicks += 1
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay ¥8,000 by card")
    assert page.locator("#card-element").count() == 1
    registration = db.session.scalar(
        select(Registration).where(Registration.person_id == member.id)
    )
    assert registration.status == "awaiting_payment" and clicks == 1
    print(f"clicks from Register to the card form: {clicks} (plus 1 on a phone to reach it)")

    # By invoice: the same one click leads to the invoice form; issuing it is the second.
    other = _member("hanako@nihonbashi.example")
    page = new_page(viewport=DESKTOP)
    _log_in(page, other.email)
    page.goto(f"/events/{event.slug}")
    page.get_by_label("Invoice and bank transfer").check()
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("heading", name="Pay by invoice and bank transfer")).to_be_visible()
    expect(page.get_by_text("Seat held until")).to_be_visible()
    page.get_by_label("Company or institution, and department (invoice addressee)").fill(
        "Nihonbashi Pharma K.K."
    )
    page.get_by_role("button", name="Issue the invoice").click()
    expect(page.get_by_text("is issued. Your seat stays held until it is paid.")).to_be_visible()

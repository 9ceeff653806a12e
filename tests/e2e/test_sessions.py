"""A member signed in on a laptop and a phone sees both on "Where I am logged in" and logs
the phone out from the laptop (rule 15), in Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from portal.accounts import services

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "Nihonbashi-Muromachi-3"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)

pytestmark = pytest.mark.usefixtures("network")


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_a_member_logs_their_phone_out_from_the_laptop(
    new_page: Callable[..., Page], expect: Any, assert_accessible: Callable[[Page], None]
) -> None:
    services.create_person_directly(
        "aiko@link-j.example", PASSWORD, family_name="佐藤", given_name="愛子"
    )
    laptop, phone = new_page(), new_page(user_agent=IPHONE)
    _log_in(laptop, "aiko@link-j.example")
    _log_in(phone, "aiko@link-j.example")

    laptop.get_by_role("link", name="Where I am logged in").click()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Where I am logged in")
    assert_accessible(laptop)
    expect(laptop.get_by_role("heading", level=2)).to_have_count(2)
    expect(
        laptop.get_by_role("heading", name="Mobile Safari 17 on iOS 17 (iPhone)")
    ).to_be_visible()
    expect(laptop.get_by_text("This device")).to_have_count(1)

    laptop.get_by_role("button", name="Log out this session").click()

    expect(laptop.get_by_text("That session is ended: it is logged out.")).to_be_visible()
    expect(laptop.get_by_role("heading", level=2)).to_have_count(1)
    phone.goto("/account")
    expect(phone).to_have_url(re.compile(r".*/login\?next=.*"))

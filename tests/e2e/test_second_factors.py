"""A partner admin adds a passkey in Chromium (its virtual authenticator, through the DevTools
protocol's WebAuthn domain), signs out, signs in with password and passkey, and reaches the
management pages; without the passkey the password alone opens nothing. An authenticator
app is added with a code the test computes (rule 17)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.factors.models import AuthenticatorApp, Passkey
from portal.accounts.models import Role
from portal.extensions import db
from portal.organizations.models import Organization

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "Torrey-Pines-2026"
EMAIL = "officer@biocom.example"

pytestmark = pytest.mark.usefixtures("network")


@pytest.fixture
def site(app: Flask, live_server: str) -> Iterator[str]:
    """The live server under the name ``localhost``: browsers refuse an IP address as a
    passkey's relying party. The grace period is over: a factor is required at once."""
    url = live_server.replace("127.0.0.1", "localhost")
    saved = {
        key: app.config[key]
        for key in ("WEBAUTHN_RP_ID", "WEBAUTHN_ORIGIN", "TWO_FACTOR_GRACE_DAYS")
    }
    app.config.update(WEBAUTHN_RP_ID="localhost", WEBAUTHN_ORIGIN=url, TWO_FACTOR_GRACE_DAYS=0)
    yield url
    app.config.update(saved)


@pytest.fixture
def partner_admin() -> None:
    biocom = db.session.scalar(select(Organization).where(Organization.slug == "biocom"))
    officer = services.create_person_directly(
        EMAIL, PASSWORD, family_name="Rivera", given_name="Sam"
    )
    services.grant_role(officer, Role.PARTNER_ADMIN, actor=None, organization=biocom)


def _log_in(page: Page, *, here: bool = False) -> None:
    if not here:
        page.goto("/login")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _virtual_authenticator(page: Page) -> Any:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp


def test_a_partner_admin_signs_in_with_a_passkey_and_not_without_it(
    new_page: Callable[..., Page],
    expect: Any,
    assert_accessible: Callable[[Page], None],
    site: str,
    partner_admin: None,
) -> None:
    page = new_page(base_url=site)
    _virtual_authenticator(page)
    _log_in(page)
    # A partner admin lands on their work (the administration), which without a factor and
    # with no grace left sends them to add one.
    expect(page).to_have_url(f"{site}/account/security")

    # No factor and no grace left: the management pages send the admin to add one.
    page.goto("/admin/organizations/biocom/memberships")
    expect(page).to_have_url(f"{site}/account/security")
    expect(
        page.get_by_text("Add a second factor (a passkey or an authenticator app)")
    ).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Name of this passkey").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    assert db.session.scalar(select(Passkey.name)) == "Work laptop"
    page.goto("/admin/organizations/biocom/memberships")
    expect(page).to_have_url(f"{site}/admin/organizations/biocom/memberships")

    page.get_by_role("button", name="Log out").click()
    _log_in(page)
    expect(page).to_have_url(f"{site}/login/second-factor")
    assert_accessible(page)
    page.goto("/admin/organizations/biocom/memberships")  # the password alone opens nothing
    expect(page).to_have_url(f"{site}/login?next=%2Fadmin%2Forganizations%2Fbiocom%2Fmemberships")
    _log_in(page, here=True)  # the sign-in goes on to where it was asked for, after the passkey
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(f"{site}/admin/organizations/biocom/memberships")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert db.session.scalar(select(Passkey.sign_count)) >= 1

    # Another browser, with the password but without the authenticator: no way in.
    stranger = new_page(base_url=site)
    _log_in(stranger)
    expect(stranger).to_have_url(f"{site}/login/second-factor")
    stranger.goto("/admin/")
    expect(stranger).to_have_url(f"{site}/login?next=%2Fadmin%2F")


def test_an_authenticator_app_is_added_with_a_code_the_test_computes(
    new_page: Callable[..., Page], expect: Any, site: str, partner_admin: None
) -> None:
    page = new_page(base_url=site)
    _log_in(page)
    page.goto("/account/security")
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(
        page.get_by_role("img", name="QR code to scan with your authenticator app")
    ).to_be_visible()
    secret = page.locator(".secret-text").inner_text()

    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Add the app").click()
    expect(page.get_by_text("This code is not the one your app shows now")).to_be_visible()
    assert db.session.scalar(select(AuthenticatorApp.id)) is None

    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Add the app").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.goto("/admin/")
    expect(page).to_have_url(f"{site}/admin/")

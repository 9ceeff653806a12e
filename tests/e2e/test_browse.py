"""A visitor browses the public network pages in a real Chromium, in English and Japanese."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

AssertAccessible = Callable[["Page"], None]

pytestmark = pytest.mark.usefixtures("network")

#: The two directions of the LINK-J–BIOCOM MOU, as the partner and MOU pages head them.
BIOCOM_DIRECTIONS = (
    "What LINK-J members receive from BIOCOM",
    "What BIOCOM members receive from LINK-J",
)


def test_visitor_reads_an_mou_then_switches_to_japanese(
    page: Page, expect: Any, assert_accessible: AssertAccessible
) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("LINK-J and its partner network")
    assert_accessible(page)

    page.get_by_role("link", name="BIOCOM", exact=True).click()
    expect(page).to_have_url("/partners/biocom")
    expect(page.get_by_role("heading", level=1)).to_have_text("BIOCOM")
    mou = page.get_by_role("region", name="MOU between LINK-J and BIOCOM")
    for direction in BIOCOM_DIRECTIONS:
        expect(mou.get_by_role("heading", name=direction)).to_be_visible()
    assert_accessible(page)

    mou.get_by_role("link", name="MOU between LINK-J and BIOCOM").click()
    expect(page).to_have_url("/mou/link-j-biocom-2016")
    expect(page.get_by_role("heading", level=1)).to_have_text("MOU between LINK-J and BIOCOM")
    for direction in BIOCOM_DIRECTIONS:
        expect(page.get_by_role("region", name=direction)).to_be_visible()
    assert_accessible(page)

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="BIOCOM").click()
    expect(page).to_have_url("/partners/biocom")
    page.get_by_role("button", name="日本語").click()
    # The switcher redirects back to the page it was used on, now in Japanese.
    expect(page).to_have_url("/partners/biocom")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text("BIOCOM（バイオコム）")
    expect(page.get_by_role("button", name="日本語")).to_have_attribute("aria-pressed", "true")
    assert_accessible(page)

    # The choice is remembered (a cookie) on the next page the visitor opens.
    page.goto("/partners")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("button", name="日本語")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("link", name="カリフォルニア大学サンディエゴ校")).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page).to_have_url("/partners")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_directory_filters_partners_by_country(
    page: Page, expect: Any, assert_accessible: AssertAccessible
) -> None:
    page.goto("/partners")
    partners = page.get_by_role("main").get_by_role("heading", level=2)
    expect(partners).to_have_count(6)

    page.get_by_label("Country").select_option("US")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url("/partners?country=US")
    expect(page.get_by_label("Country")).to_have_value("US")
    expect(page.get_by_role("status")).to_have_text("2 partners — United States")
    expect(partners).to_have_count(2)
    assert sorted(partners.all_inner_texts()) == ["BIOCOM", "University of California San Diego"]
    assert_accessible(page)


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("/", "en"),
        ("/partners", "en"),
        ("/partners/link-j", "en"),
        ("/mou/link-j-biocom-2016", "en"),
        ("/", "ja"),
        ("/partners/link-j", "ja"),
    ],
)
def test_pages_fit_a_phone_screen(
    new_page: Callable[..., Page],
    expect: Any,
    assert_accessible: AssertAccessible,
    path: str,
    language: str,
) -> None:
    page = new_page(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale={"en": "en-US", "ja": "ja-JP"}[language],
    )
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", language)

    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], f"{path} scrolls sideways on a phone: {widths}"
    assert_accessible(page)


def test_accessibility_check_reports_what_it_finds(
    page: Page, assert_accessible: AssertAccessible
) -> None:
    # Guards the zero-violation assertions above against passing vacuously.
    page.set_content(
        '<html lang="en"><head><title>Broken</title></head><body><main><h1>Broken</h1>'
        '<input name="q"><p style="color: #aaa">Low contrast text</p></main></body></html>'
    )
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    assert "- label (critical)" in str(failure.value)
    assert "- color-contrast (serious)" in str(failure.value)


def test_health_check_answers_over_http(page: Page) -> None:
    response = page.request.get("/healthz")
    assert response.status == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["database"] == "ok"

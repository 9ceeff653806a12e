"""The portal on a phone and a desktop, and axe on every page a crawl reaches, in both languages.

With the demo data: screenshots at 1280 and 390 px of the member's dashboard, an event page,
"my events", the verification queue and the reciprocity report go to
``test-output/screenshots/`` (kept out of git), and no element on them is wider than the
window. Then LINK-J staff (who reach the most pages) crawl the portal's links in English and
in Japanese, and axe must find nothing on any page.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.demo import DEMO_PASSWORD, load_demo_data
from portal.events import pricing, registering
from portal.events.models import Event
from portal.extensions import db
from tests.factories import org

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.usefixtures("network")

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"en": "en-US", "ja": "ja-JP"}
MEMBER = "member@link-j.example"
STAFF = "staff@link-j.example"
#: Links a crawl must not follow: they end the session, download files or change state.
SKIPPED = (
    "/logout",
    "/language",
    ".csv",
    ".ics",
    ".pdf",
    "/export",
    "/calendar/",
    "/receipt",
    "/invoice.",
)
CRAWL_LIMIT = 60
#: Pages only the member has something on (the staff account has no claims or tickets).
MEMBER_PAGES = ("/account", "/benefits/claims", "/events/mine", "/benefits/")
#: Path segments naming one record of a collection: one page per kind is enough.
COLLECTIONS = {
    "organizations",
    "partners",
    "events",
    "mous",
    "mou",
    "claims",
    "people",
    "payments",
    "memberships",
    "tickets",
    "services",
    "invoices",
}


def _kind(path: str) -> str:
    """The page's kind: /admin/organizations/biocom/roster and …/krp/roster are one."""
    segments = path.split("?")[0].split("/")
    return "/".join(
        "*" if i > 0 and segments[i - 1] in COLLECTIONS and s else s for i, s in enumerate(segments)
    )


WIDEST = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.width > width + 1) {
      wide.push(`${element.tagName.toLowerCase()}.${element.className} ${Math.round(box.width)}px`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, client: width, wide: wide.slice(0, 8)};
}"""


@pytest.fixture
def demo(app: Any) -> dict[str, str]:
    """The demo data, with the member registered for an upcoming event; the pages to show."""
    load_demo_data()
    from portal.accounts.models import Person

    member = db.session.scalar(select(Person).where(Person.email == MEMBER))
    # The member's cheapest offer at the first upcoming event that has one for them.
    # (The demo's archive holds past joint activities, whose registration is long closed.)
    events = db.session.scalars(
        select(Event).where(Event.starts_at > utcnow()).order_by(Event.starts_at)
    ).all()
    event, offer = next((e, o[0]) for e in events if (o := pricing.offers_for(member, e)))
    if registering.live_registration(member, event) is None:
        registering.register(member, event, ticket_type_id=offer.ticket_type.id)
    # Two granted claims whose instructions the claims page shows, one section each.
    from portal.benefits.models import ClaimStatus
    from tests.factories import add_claim, add_service

    for provider in ("biocom", "ucsd"):
        service = add_service(
            f"link-j-{provider}-2016",
            provider,
            redemption_instructions_en="Show this page at the desk.",
            redemption_instructions_ja="受付でこのページをお見せください。",
        )
        add_claim(member, service, status=ClaimStatus.APPROVED)
    return {
        "dashboard": "/account",
        "event": f"/events/{event.slug}",
        "my-events": "/events/mine",
        "queue": f"/admin/organizations/{org('link-j').slug}/memberships",
        "report": "/admin/report",
    }


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form.stacked-form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _signed_in(new_page: Callable[..., Page], email: str, language: str, size: str) -> Page:
    # The browser's language (Accept-Language) chooses the portal's.
    page = new_page(viewport=WIDTHS[size], locale=LOCALES[language])
    _log_in(page, email)
    return page


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screens_fit_the_window_and_are_kept(
    new_page: Callable[..., Page], demo: dict[str, str], size: str, language: str
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        MEMBER: ("dashboard", "event", "my-events"),
        STAFF: ("queue", "report"),
    }
    too_wide = {}
    for email, names in pages.items():
        page = _signed_in(new_page, email, language, size)
        for name in names:
            response = page.goto(demo[name])
            assert response is not None and response.status == 200, (name, page.url)
            width = WIDTHS[size]["width"]
            page.screenshot(path=SCREENSHOTS / f"{name}-{width}-{language}.png", full_page=True)
            measured = page.evaluate(WIDEST)
            if measured["scroll"] > measured["client"] or measured["wide"]:
                too_wide[name] = measured
    assert not too_wide, f"wider than the {size} window: {too_wide}"


def _links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base or any(s in parts.path for s in SKIPPED):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


@pytest.mark.parametrize("language", ["en", "ja"])
def test_axe_finds_nothing_on_any_page_of_the_crawl(
    new_page: Callable[..., Page], demo: dict[str, str], live_server: str, language: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found: dict[str, list[str]] = {}

    def check(page: Page, path: str) -> bool:
        response = page.goto(path)
        content_type = response.headers.get("content-type", "") if response else ""
        if response is None or response.status != 200 or "text/html" not in content_type:
            return False
        violations = axe.run(page).response["violations"]
        if violations:
            found[path] = [
                f"{v['id']} ({v['impact']}): {node['target']}"
                for v in violations
                for node in v["nodes"]
            ]
        return True

    member = _signed_in(new_page, MEMBER, language, "desktop")
    for path in MEMBER_PAGES:
        check(member, path)

    page = _signed_in(new_page, STAFF, language, "desktop")
    queue = ["/", *demo.values(), "/admin/"]
    seen: set[str] = set()
    while queue and len(seen) < CRAWL_LIMIT:
        path = queue.pop(0)
        if _kind(path) in seen:
            continue
        seen.add(_kind(path))
        if check(page, path):
            queue.extend(link for link in _links(page, live_server) if _kind(link) not in seen)
    seen.update(MEMBER_PAGES)

    OUTPUT.mkdir(exist_ok=True)
    counts = Counter(line.split(" ")[0] for lines in found.values() for line in lines)
    (OUTPUT / f"axe-crawl-{language}.json").write_text(
        json.dumps({"pages": sorted(seen), "by_rule": counts, "violations": found}, indent=2)
    )
    assert len(seen) >= 15, f"the crawl reached only {sorted(seen)}"
    assert not found, f"axe on {len(seen)} pages ({language}): " + json.dumps(found, indent=2)

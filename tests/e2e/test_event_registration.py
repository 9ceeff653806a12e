"""A joint event from creation to the door, in a real Chromium.

LINK-J staff create a forum co-hosted by BIOCOM under the LINK-J–BIOCOM MOU, with one seat.
A BIOCOM member registers at the partner rate; the event is full, so a LINK-J member agrees
to share data with BIOCOM (US) and is waitlisted; the BIOCOM member cancels and the waiting
member is promoted; at the door, on a phone, staff check the promoted member in with the
value of their ticket's QR code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import segno
from sqlalchemy import select

from portal.accounts.models import Person, Role
from portal.db import utcnow
from portal.events import registering
from portal.events.calendar import qr_payload
from portal.events.models import Event, Registration
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests.e2e.browser import CHROMIUM_ARGS, DEFAULT_CHROMIUM, TIMEOUT_MS
from tests.factories import PASSWORD, add_event, add_membership, add_person, add_role, ticket

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.usefixtures("network")

PHONE = {"width": 375, "height": 740}


def _person(email: str, family_name: str, given_name: str, home: str | None = None) -> Person:
    person = add_person(email, family_name=family_name, given_name=given_name)
    if home:
        add_membership(
            person, home, status="verified", valid_until=utcnow().date() + timedelta(days=300)
        )
    return person


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _registration(person: Person) -> Registration:
    db.session.expire_all()
    return db.session.scalars(
        select(Registration)
        .where(Registration.person_id == person.id)
        .order_by(Registration.id.desc())
    ).first()


def test_partner_member_registers_waitlist_promotion_and_check_in_by_qr(
    new_page: Callable[..., Page], expect: Any, assert_accessible: Callable[[Page], None]
) -> None:
    staff = add_role(_person("events@link-j.example", "Sato", "Hanako"), Role.STAFF)
    jordan = _person("jordan.lee@torreypines.example", "Lee", "Jordan", home="biocom")
    taro = _person("taro.yamada@nihonbashi.example", "Yamada", "Taro", home="link-j")
    day = (utcnow() + timedelta(days=30)).astimezone(ZoneInfo("Asia/Tokyo")).date()

    # --- staff create the event in the editor and publish it
    office = new_page()
    _log_in(office, staff.email)
    office.goto("/admin/events")
    assert_accessible(office)
    office.get_by_role("link", name="New event").click()
    expect(office.get_by_role("heading", level=1)).to_have_text("New event")
    assert_accessible(office)
    office.locator("#title_en").fill("Kobe–San Diego Cell Therapy Forum")
    office.locator("#title_ja").fill("神戸・サンディエゴ細胞治療フォーラム")
    office.locator("#slug").fill("cell-therapy-forum")
    office.get_by_label("Kind", exact=True).select_option(label="Forum")
    office.get_by_role("group", name="Co-hosts").get_by_label("BIOCOM").check()
    office.get_by_role("group", name="MOUs the event runs under").get_by_label(
        "LINK-J–BIOCOM MOU (2016)"
    ).check()
    office.locator("#venue_en").fill("Nihonbashi Life Science Hub")
    office.get_by_label("Time zone of the event").select_option("Asia/Tokyo")
    office.locator("#starts_at").fill(f"{day:%Y-%m-%d}T14:00")
    office.locator("#ends_at").fill(f"{day:%Y-%m-%d}T17:00")
    office.locator("#capacity").fill("1")
    general = office.get_by_role("group", name="Ticket type 3")
    expect(general.get_by_label("Name in English")).to_have_value("General")
    general.get_by_label("Price").fill("5000")
    question = office.get_by_role("group", name="Question 1")
    question.get_by_label("Question in English").fill("Your research field")
    office.get_by_role("button", name="Save as a draft").click()
    expect(office.get_by_text("The event is saved as a draft.")).to_be_visible()
    office.get_by_role("button", name="Publish the event").click()
    expect(office.get_by_text("The event is published:")).to_be_visible()
    assert_accessible(office)  # the editor of an existing event, with its cancel form
    event = db.session.scalar(select(Event).where(Event.slug == "cell-therapy-forum"))
    assert event is not None and event.capacity == 1
    assert event.starts_at.astimezone(ZoneInfo("Asia/Tokyo")).hour == 14

    # --- a BIOCOM member registers at the partner rate
    member = new_page()
    _log_in(member, jordan.email)
    member.goto("/events/")
    member.get_by_role("link", name="Kobe–San Diego Cell Therapy Forum").click()
    expect(member.locator(".your-price")).to_contain_text(
        "Free — Partner-member rate under the LINK-J–BIOCOM MOU"
    )
    assert_accessible(member)
    member.get_by_label("Your research field").fill("Cell therapy manufacturing")
    member.get_by_role("button", name="Register", exact=True).click()
    expect(member.get_by_text("You are registered. Your ticket is below.")).to_be_visible()
    expect(member.locator(".ticket-qr svg")).to_be_visible()
    assert _registration(jordan).price_reason["agreement"] == "link-j-biocom-2016"

    # --- the event is full: the next person is waitlisted
    waiting = new_page()
    _log_in(waiting, taro.email)
    waiting.goto("/events/cell-therapy-forum")
    expect(waiting.get_by_text("Full — waitlist open")).to_be_visible()
    waiting.get_by_label("Your research field").fill("iPS cells")
    waiting.get_by_role("button", name="Join the waitlist").click()
    # BIOCOM co-hosts it from the United States: Taro, a LINK-J member, agrees first, and his
    # answer travels with the agreement.
    expect(waiting.get_by_role("heading", level=2)).to_have_text(
        "Sharing your data with BIOCOM (United States)"
    )
    assert_accessible(waiting)
    waiting.get_by_role("button", name="I agree and continue").click()
    expect(waiting.get_by_text("The event is full: you are on the waitlist.")).to_be_visible()
    expect(waiting.get_by_text("number 1 on the waitlist")).to_be_visible()
    assert _registration(taro).answers == {str(event.questions[0].id): "iPS cells"}

    # --- the first cancels; the waitlisted member is promoted and told by mail
    member.get_by_role("button", name="Cancel my registration").click()
    expect(member.get_by_text("Your registration is cancelled.")).to_be_visible()
    waiting.reload()
    expect(waiting.locator(".status")).to_have_text("Confirmed")
    expect(waiting.locator(".ticket-qr svg")).to_be_visible()
    promoted = _registration(taro)
    assert promoted.status == "confirmed"
    db.session.expire_all()
    assert (
        "events/registration_promoted"
        in db.session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.to_address == taro.email)
        ).all()
    )

    # --- staff see the registrations and their live counts
    office.goto("/admin/events/cell-therapy-forum/registrations")
    expect(office.locator('[data-count="registered"]')).to_have_text("1")
    expect(office.get_by_role("row", name="Taro Yamada")).to_contain_text("Confirmed")
    assert_accessible(office)

    # --- at the door, on a phone: check the promoted member in from the QR code's value
    door = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    problems: list[str] = []
    # A refused check-in answers 400, which Chromium logs as a failed resource: not a problem.
    door.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    door.on("pageerror", lambda error: problems.append(str(error)))
    _log_in(door, staff.email)
    door.goto("/admin/events/cell-therapy-forum/checkin")
    code_field = door.get_by_label("Ticket code")
    expect(code_field).to_be_focused()
    assert_accessible(door)
    door.evaluate("window.stayedOnThePage = true")  # the script checks in without a reload
    code_field.fill(qr_payload(promoted.code))
    door.get_by_role("button", name="Check in", exact=True).click()
    result = door.locator("#checkin-result")
    expect(result).to_contain_text("Checked in: Taro Yamada.")
    expect(code_field).to_have_value("")
    expect(door.locator('[data-count="checked_in"]')).to_have_text("1")
    assert _registration(taro).status == "checked_in"
    assert door.evaluate("window.stayedOnThePage") is True
    # Nothing on the page is wider than the phone.
    assert door.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The same ticket again: refused, saying when it was first checked in.
    code_field.fill(promoted.code)
    door.get_by_role("button", name="Check in", exact=True).click()
    expect(result).to_contain_text("Already checked in at")
    # A forged code.
    code_field.fill("LINKJ-TICKET:FORGEDFORGEDFORGED")
    door.get_by_role("button", name="Check in", exact=True).click()
    expect(result).to_contain_text("No ticket of this event has this code.")
    assert_accessible(door)
    assert problems == []  # no script error, nothing blocked by the Content-Security-Policy


def _qr_video(path: Path, text: str, width: int = 640, height: int = 480) -> Path:
    """A one-frame Y4M video of the QR code, for Chromium's fake camera (it loops the file)."""
    matrix = [list(row) for row in segno.make(text, error="m").matrix]
    scale, border = 8, 4
    size = (len(matrix) + 2 * border) * scale
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray([235]) * (width * height)  # white
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + (y + border) * scale + dy) * width + left + (x + border) * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (width * height // 4)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + bytes(luma) + chroma + chroma)
    return path


#: Chromium on Linux has no BarcodeDetector; phones do. This stand-in answers like the real
#: one, so the page's choice of the browser's own decoder is exercised too.
BARCODE_DETECTOR = """
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
  constructor(options) { window.detectorFormats = options.formats; }
  detect(source) {
    window.detectorSawVideo = source instanceof HTMLVideoElement && source.videoWidth > 0;
    return Promise.resolve([{ rawValue: PAYLOAD }]);
  }
};
"""


@pytest.mark.parametrize("decoder", ["jsQR", "BarcodeDetector"])
def test_staff_scan_a_ticket_with_the_phones_camera(
    playwright: Any, live_server: str, expect: Any, tmp_path: Path, decoder: str
) -> None:
    staff = add_role(_person("door@link-j.example", "Door", "Staff"), Role.STAFF)
    event = add_event(cohosts=("biocom",))
    guest = _person("guest@biocom.example", "Guest", "Alex", home="biocom")
    registration = registering.register(
        guest, event, ticket_type_id=ticket(event, "partner_member").id
    )
    video = _qr_video(tmp_path / "ticket.y4m", qr_payload(registration.code))
    browser = playwright.chromium.launch(
        executable_path=os.environ.get("PORTAL_CHROMIUM") or DEFAULT_CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(base_url=live_server, locale="en-US", viewport=PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        context.grant_permissions(["camera"])
        if decoder == "BarcodeDetector":
            payload = repr(qr_payload(registration.code))
            context.add_init_script(BARCODE_DETECTOR.replace("PAYLOAD", payload))
        door = context.new_page()
        _log_in(door, staff.email)
        door.goto(f"/admin/events/{event.slug}/checkin")
        door.get_by_role("button", name="Scan with the camera").click()
        expect(door.locator("#checkin-result")).to_contain_text("Checked in: Alex Guest.")
        if decoder == "BarcodeDetector":
            assert door.evaluate("window.detectorFormats") == ["qr_code"]
            assert door.evaluate("window.detectorSawVideo") is True
            assert door.evaluate("typeof window.jsQR") == "undefined"  # never loaded
        else:
            assert door.evaluate("typeof window.jsQR") == "function"
        door.get_by_role("button", name="Stop the camera").click()
        expect(door.locator("#checkin-video")).to_be_hidden()
    finally:
        browser.close()
    assert _registration(guest).status == "checked_in"

"""Every kind of page writes times one way (portal.timefmt), in both languages and three zones.

One event runs on 2 December 2030 from 04:30 to 08:30 UTC, held on the clock of Tokyo, Los
Angeles (where it starts the evening before) or London. The viewer keeps Tokyo in their
profile, or London when the event is in Tokyo, so every page also shows the viewer's own time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from portal import timefmt
from portal.accounts.models import Person, Role
from portal.audit.services import record
from portal.events import registering
from portal.events.models import Event, Registration
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.notifications.services import write_message
from portal.payments import documents, invoices
from tests.factories import add_event, add_membership, add_person, add_role, org, ticket
from tests.payments.pdfs import text_of
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

START = datetime(2030, 12, 2, 4, 30, tzinfo=UTC)
END = datetime(2030, 12, 2, 8, 30, tzinfo=UTC)
HOLD = datetime(2030, 11, 20, 3, 0, tzinfo=UTC)
ZONES = ("Asia/Tokyo", "America/Los_Angeles", "Europe/London")
LANGUAGES = ("en", "ja")
#: An organization of the network on each clock, for the audit log.
ORGANIZATION_ON = {
    "Asia/Tokyo": "link-j",
    "America/Los_Angeles": "biocom",
    "Europe/London": "one-nucleus",
}

#: The event, written as people write it: each day once, no seconds, the zone named.
SPAN = {
    ("Asia/Tokyo", "en"): "Mon 2 Dec 2030, 13:30–17:30 JST",
    ("Asia/Tokyo", "ja"): "2030年12月2日(月) 13:30〜17:30（日本時間）",
    ("America/Los_Angeles", "en"): "Sun 1 Dec 2030, 20:30 – Mon 2 Dec 2030, 00:30 PST",
    ("America/Los_Angeles", "ja"): (
        "2030年12月1日(日) 20:30〜2030年12月2日(月) 00:30（米国太平洋標準時）"
    ),
    ("Europe/London", "en"): "Mon 2 Dec 2030, 04:30–08:30 GMT",
    ("Europe/London", "ja"): "2030年12月2日(月) 04:30〜08:30（グリニッジ標準時）",
}
#: The seat hold's deadline and the audit entry's time: one instant.
MOMENT = {
    ("Asia/Tokyo", "en"): "Wed 20 Nov 2030, 12:00 JST",
    ("Asia/Tokyo", "ja"): "2030年11月20日(水) 12:00（日本時間）",
    ("America/Los_Angeles", "en"): "Tue 19 Nov 2030, 19:00 PST",
    ("America/Los_Angeles", "ja"): "2030年11月19日(火) 19:00（米国太平洋標準時）",
    ("Europe/London", "en"): "Wed 20 Nov 2030, 03:00 GMT",
    ("Europe/London", "ja"): "2030年11月20日(水) 03:00（グリニッジ標準時）",
}
YOUR_TIME = {"en": "your time: ", "ja": "お住まいの地域の時刻："}

cases = pytest.mark.parametrize(
    ("zone", "language"), [(z, lang) for z in ZONES for lang in LANGUAGES]
)


def viewer_zone_for(zone: str) -> str:
    return "Europe/London" if zone == "Asia/Tokyo" else "Asia/Tokyo"


def viewer(zone: str, language: str) -> Person:
    """A verified LINK-J member keeping another zone than the event's in their profile."""
    person = add_person(locale=language)
    person.timezone = viewer_zone_for(zone)
    db.session.commit()
    add_membership(person, "link-j", status="verified")
    return person


def event_on(zone: str, price: int = 0) -> Event:
    event = add_event(
        timezone=zone,
        tickets=(
            {"audience": "linkj_member", "price": price, "name_en": "Member", "name_ja": "会員"},
        ),
    )
    event.starts_at, event.ends_at = START, END
    db.session.commit()
    return event


def page(client: FlaskClient, url: str, language: str) -> str:
    response = client.get(url, headers={"Accept-Language": language})
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def assert_both_clocks(html: str, zone: str, language: str) -> None:
    assert SPAN[zone, language] in html
    assert YOUR_TIME[language] + SPAN[viewer_zone_for(zone), language] in html


# --- the formats themselves ---------------------------------------------------------------------


@cases
def test_a_span_and_a_moment_read_as_people_write_them(zone: str, language: str) -> None:
    with force_locale(language):
        assert timefmt.span(START, END, zone, viewer=None) == SPAN[zone, language]
        assert timefmt.moment(HOLD, zone, viewer=None) == MOMENT[zone, language]
        assert timefmt.iso(START, zone).endswith(
            {"Asia/Tokyo": "+09:00", "America/Los_Angeles": "-08:00", "Europe/London": "+00:00"}[
                zone
            ]
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_viewers_own_time_follows_only_where_the_clock_differs(language: str) -> None:
    with force_locale(language):
        same = timefmt.span(START, END, "Asia/Tokyo", viewer="Asia/Tokyo")
        other = timefmt.span(START, END, "Asia/Tokyo", viewer="Europe/London")

    assert same == SPAN["Asia/Tokyo", language]
    assert other.startswith(SPAN["Asia/Tokyo", language])
    assert YOUR_TIME[language] + SPAN["Europe/London", language] in other


def test_one_instant_on_two_clocks_names_each_clock_in_japanese() -> None:
    """Zone names are remembered between calls (Babel's look-up is slow): the same instant
    in two zones still gets each zone's own name, in any order, and summer time its own."""
    winter = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)
    names = {
        (moment, zone): timefmt.zone_label(moment, zone, "ja")
        for moment in (winter, summer, winter)
        for zone in ("America/Los_Angeles", "Europe/London", "America/Los_Angeles")
    }
    assert names[winter, "America/Los_Angeles"] == "米国太平洋標準時"
    assert names[summer, "America/Los_Angeles"] == "米国太平洋夏時間"
    assert names[winter, "Europe/London"] == "グリニッジ標準時"
    assert names[summer, "Europe/London"] == "英国夏時間"


def test_remembered_spans_are_each_clocks_and_each_languages_own() -> None:
    """Spans and moments are remembered between calls (``timefmt._local_span``): asked again in
    any order, on another clock, in the other language or with the same instant written on
    another clock, each still reads as it did the first time."""
    from zoneinfo import ZoneInfo

    asked = [(zone, language) for language in LANGUAGES for zone in ZONES] * 2
    spans, moments = {}, {}
    for zone, language in asked:
        with force_locale(language):
            spans.setdefault((zone, language), set()).add(
                timefmt.span(START, END, zone, viewer=None)
            )
            # The same instants, written on Los Angeles' clock: the same text.
            spans[zone, language].add(
                timefmt.span(
                    START.astimezone(ZoneInfo("America/Los_Angeles")),
                    END.astimezone(ZoneInfo("America/Los_Angeles")),
                    zone,
                    viewer=None,
                )
            )
            moments.setdefault((zone, language), set()).add(timefmt.moment(HOLD, zone, viewer=None))
    assert spans == {key: {SPAN[key]} for key in spans}
    assert moments == {key: {MOMENT[key]} for key in moments}


def test_a_programme_line_gives_the_clock_alone_and_nothing_has_seconds() -> None:
    with force_locale("ja"):
        assert timefmt.clock_span(START, END, "Asia/Tokyo") == "13:30〜17:30"
    with force_locale("en"):
        assert timefmt.clock_span(START, END, "Europe/London") == "04:30–08:30"
        assert ":00:00" not in timefmt.moment(START, "Asia/Tokyo", viewer=None)


# --- pages ---------------------------------------------------------------------------------------


@cases
def test_event_list_and_event_page(client: FlaskClient, zone: str, language: str) -> None:
    event = event_on(zone)
    login(client, viewer(zone, language))

    assert_both_clocks(page(client, "/events/", language), zone, language)
    assert_both_clocks(page(client, f"/events/{event.slug}", language), zone, language)


@cases
def test_my_events(client: FlaskClient, zone: str, language: str) -> None:
    person = viewer(zone, language)
    event = event_on(zone)
    registering.register(person, event, ticket_type_id=ticket(event, "linkj_member").id)
    login(client, person)

    assert_both_clocks(page(client, "/events/mine", language), zone, language)


@cases
def test_the_seat_hold_deadline_names_its_zone(
    client: FlaskClient, zone: str, language: str
) -> None:
    person = viewer(zone, language)
    event = event_on(zone, price=5000)
    registration = registering.register(person, event, ticket_type_id=event.ticket_types[0].id)
    assert registration.status == "awaiting_payment"
    registration.hold_expires_at = HOLD
    db.session.commit()
    login(client, person)

    html = page(client, f"/events/tickets/{registration.id}", language)

    assert MOMENT[zone, language] in html
    assert YOUR_TIME[language] + MOMENT[viewer_zone_for(zone), language] in html


@cases
def test_audit_log(client: FlaskClient, zone: str, language: str) -> None:
    staff = add_role(viewer(zone, language), Role.STAFF)
    entry = record(
        "role.grant",
        actor=staff,
        subject_type="person",
        subject_id=staff.id,
        organization_id=org(ORGANIZATION_ON[zone]).id,
        role="staff",
    )
    entry.occurred_at = HOLD
    db.session.commit()
    login(client, staff)

    html = page(client, "/admin/audit", language)

    assert MOMENT[zone, language] in html
    assert YOUR_TIME[language] + MOMENT[viewer_zone_for(zone), language] in html


@cases
def test_mail_writes_the_event_on_its_clock_and_the_recipients(zone: str, language: str) -> None:
    person = viewer(zone, language)
    event = event_on(zone)
    registering.register(person, event, ticket_type_id=event.ticket_types[0].id)
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == person.email)
    ).one()
    write_message(message)

    assert_both_clocks(message.body_text, zone, language)


@cases
def test_invoice_pdf_writes_the_event_on_its_clock(zone: str, language: str) -> None:
    person = viewer(zone, language)
    event = event_on(zone, price=11000)
    registration: Registration = registering.register(
        person, event, ticket_type_id=event.ticket_types[0].id
    )
    invoice = invoices.request_invoice(registration, person=person, company="日本橋製薬株式会社")

    text = text_of(documents.invoice_pdf(invoice, language))

    assert SPAN[zone, language] in text.replace("\n", "")
    # An invoice has no viewer: only the event's own clock.
    assert YOUR_TIME[language] not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_programme_lines_give_the_clock_once_and_the_day_only_when_it_changes(
    client: FlaskClient, language: str
) -> None:
    from datetime import timedelta

    from portal.events.models import EventSession

    event = event_on("Asia/Tokyo")
    event.ends_at = END + timedelta(days=1)
    event.sessions = [
        EventSession(title_en="Keynote", starts_at=START, ends_at=START + timedelta(minutes=40)),
        EventSession(
            title_en="Site visit",
            starts_at=START + timedelta(days=1),
            ends_at=START + timedelta(days=1, hours=2),
        ),
    ]
    db.session.commit()

    html = page(client, f"/events/{event.slug}", language)

    dash = {"en": "–", "ja": "〜"}[language]
    assert f">13:30{dash}14:10</time> <strong>Keynote" in html
    next_day = {"en": "Tue 3 Dec 2030", "ja": "2030年12月3日(火)"}[language]
    assert f">{next_day} 13:30{dash}15:30</time> <strong>Site visit" in html
    zone = {"en": "Times are JST.", "ja": "時刻は日本時間です。"}[language]
    assert zone in html

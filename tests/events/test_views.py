"""Event pages for everyone: the list and its filters, an event with the viewer's price and
why, registering (questions, waitlist, cancelling), tickets with QR codes, and calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select
from werkzeug.test import TestResponse

from portal.accounts.models import Person, Role
from portal.events import queries
from portal.events.models import Event, EventStatus, Visibility
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests.factories import add_event, member_of, registrations, ticket
from tests.factories import add_person as add_person_for_test
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

EN = {"Accept-Language": "en"}


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def titled(event: Event, title_en: str, **fields: Any) -> Event:
    event.title_en = title_en
    event.title_ja = ""
    for name, value in fields.items():
        setattr(event, name, value)
    db.session.commit()
    return event


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def scheduled(event: Event, starts_at: datetime) -> Event:
    event.starts_at = starts_at
    event.ends_at = starts_at + timedelta(hours=2)
    db.session.commit()
    return event


def outbox_kinds(to: str) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage.kind)
            .where(OutboxMessage.to_address == to)
            .order_by(OutboxMessage.id)
        )
    )


def register_through_the_page(
    client: FlaskClient, event: Event, ticket_type_id: int, **answers: Any
) -> TestResponse:
    return client.post(
        f"/events/{event.slug}/register",
        data={"ticket_type": str(ticket_type_id), **answers},
        headers=EN,
    )


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_upcoming_published_events_the_viewer_may_see(client: FlaskClient) -> None:
    titled(add_event(), "Open seminar")
    titled(add_event(status=EventStatus.DRAFT.value), "Draft seminar")
    titled(add_event(starts_in=timedelta(days=-3)), "Past seminar")
    titled(add_event(visibility=Visibility.LINKJ.value), "Members' evening")

    anonymous = text(client.get("/events/", headers=EN))
    login(client, member_of("link-j"))
    member = text(client.get("/events/", headers=EN))

    assert "Open seminar" in anonymous and "Members&#39; evening" not in anonymous
    assert "Draft seminar" not in anonymous and "Past seminar" not in anonymous
    assert "1 upcoming event" in anonymous
    assert "Members&#39; evening" in member and "2 upcoming events" in member


def test_the_list_filters_by_partner_kind_month_and_language(client: FlaskClient) -> None:
    biocom = titled(add_event(cohosts=("biocom",)), "BIOCOM forum", kind="forum", language="en")
    kobe = titled(add_event(host="ibri"), "Kobe seminar", kind="seminar", language="ja")
    scheduled(biocom, at(2030, 5, 20, 3))
    scheduled(kobe, at(2030, 6, 10, 3))

    def listed(query: str) -> set[str]:
        html = text(client.get(f"/events/?{query}", headers=EN))
        return {title for title in ("BIOCOM forum", "Kobe seminar") if title in html}

    assert listed("") == {"BIOCOM forum", "Kobe seminar"}
    assert listed("partner=biocom") == {"BIOCOM forum"}
    assert listed("partner=ibri") == {"Kobe seminar"}
    assert listed("kind=forum") == {"BIOCOM forum"}
    assert listed("month=2030-06") == {"Kobe seminar"}
    assert listed("language=en") == {"BIOCOM forum"}
    assert listed("language=ja") == {"Kobe seminar"}
    assert listed("kind=not-a-kind") == {"BIOCOM forum", "Kobe seminar"}


def test_the_month_filter_uses_the_events_own_calendar(client: FlaskClient) -> None:
    early = titled(add_event(timezone="Asia/Tokyo"), "April fool breakfast")
    scheduled(early, at(2030, 3, 31, 23))  # 1 April 2030, 08:00 in Tokyo

    html = text(client.get("/events/?month=2030-04", headers=EN))

    assert "April fool breakfast" in html


def test_the_list_is_paged(client: FlaskClient) -> None:
    for number in range(queries.EVENTS_PAGE_SIZE + 1):
        titled(add_event(starts_in=timedelta(days=10 + number)), f"Seminar number {number:02d}")

    first = text(client.get("/events/", headers=EN))
    second = text(client.get("/events/?page=2", headers=EN))

    assert "Page 1 of 2" in first and "Seminar number 00" in first
    assert "Seminar number 20" not in first and "Seminar number 20" in second
    assert 'rel="next" href="/events/?page=2"' in first


# --- an event ------------------------------------------------------------------------------------


def test_a_partner_member_sees_the_partner_rate_and_why(client: FlaskClient) -> None:
    event = add_event(
        host="link-j",
        cohosts=("biocom",),
        agreements=("link-j-biocom-2016",),
        tickets=(
            {"audience": "linkj_member", "price": 0},
            {"audience": "partner_member", "price": 2000},
            {"audience": "non_member", "price": 5000},
        ),
    )
    login(client, member_of("biocom"))

    html = text(client.get(f"/events/{event.slug}", headers=EN))

    assert "Your price:" in html and "<strong>¥2,000</strong>" in html
    assert "Partner-member rate under the LINK-J–BIOCOM MOU" in html


def test_anonymous_visitors_see_the_standard_price_and_log_in_to_register(
    client: FlaskClient,
) -> None:
    event = add_event()

    html = text(client.get(f"/events/{event.slug}", headers=EN))

    assert "Your price: <strong>¥5,000</strong> — Standard rate" in html
    assert f'href="/login?next=/events/{event.slug}">Log in to register' in html


def test_a_linkj_member_sees_the_linkj_rate(client: FlaskClient) -> None:
    event = add_event()
    login(client, member_of("link-j"))

    html = text(client.get(f"/events/{event.slug}", headers=EN))

    assert "<strong>Free</strong> — LINK-J member rate" in html


def test_an_event_in_san_diego_shows_pacific_time_and_the_viewers_own(client: FlaskClient) -> None:
    event = scheduled(add_event(host="biocom", timezone="America/Los_Angeles"), at(2030, 7, 1, 16))
    login(client, member_of("link-j"))  # LINK-J's clock: Tokyo

    html = text(client.get(f"/events/{event.slug}", headers=EN))

    assert "Mon 1 Jul 2030, 09:00–11:00 PDT" in html
    assert "your time: Tue 2 Jul 2030, 01:00–03:00 JST" in html


def test_an_event_in_kobe_shows_japan_time_without_a_second_clock_for_tokyo(
    client: FlaskClient,
) -> None:
    event = scheduled(add_event(host="ibri", timezone="Asia/Tokyo"), at(2030, 7, 1, 4))
    login(client, member_of("link-j"))

    html = text(client.get(f"/events/{event.slug}", headers=EN))

    assert "Mon 1 Jul 2030, 13:00–15:00 JST" in html
    assert "your time" not in html


def test_an_event_for_linkj_members_only_is_not_found_for_others(client: FlaskClient) -> None:
    event = add_event(visibility=Visibility.LINKJ.value)

    assert client.get(f"/events/{event.slug}").status_code == 404
    assert client.get(f"/events/{event.slug}.ics").status_code == 404
    login(client, member_of("biocom"))
    assert client.get(f"/events/{event.slug}").status_code == 404


def test_a_draft_is_not_found_by_the_public(client: FlaskClient) -> None:
    event = add_event(status=EventStatus.DRAFT.value)

    assert client.get(f"/events/{event.slug}").status_code == 404


# --- registering ---------------------------------------------------------------------------------

LUNCH = {
    "kind": "single",
    "label_en": "Lunch",
    "label_ja": "昼食",
    "required": True,
    "options": [
        {"value": "veg", "label_en": "Vegetarian", "label_ja": "ベジタリアン"},
        {"value": "any", "label_en": "Anything", "label_ja": "なんでも"},
    ],
}
FIELD = {"kind": "text", "label_en": "Research field", "label_ja": "研究分野"}


def test_the_registration_form_offers_only_open_tickets_and_asks_the_questions(
    client: FlaskClient,
) -> None:
    event = add_event(questions=(LUNCH, FIELD))
    login(client, member_of("link-j"))

    html = text(client.get(f"/events/{event.slug}", headers=EN))

    assert f'value="{ticket(event, "linkj_member").id}"' in html
    assert f'value="{ticket(event, "non_member").id}"' in html
    assert f'value="{ticket(event, "partner_member").id}"' not in html  # not a partner member
    assert "<legend>Lunch</legend>" in html and "Vegetarian" in html
    assert "Research field" in html
    assert ">Register</button>" in html


def test_registering_through_the_page_keeps_the_answers(client: FlaskClient) -> None:
    event = add_event(questions=(LUNCH, FIELD))
    lunch, field_question = event.questions
    person = member_of("link-j")
    login(client, person)

    response = register_through_the_page(
        client,
        event,
        ticket(event, "linkj_member").id,
        **{f"q_{lunch.id}": "veg", f"q_{field_question.id}": "Regenerative medicine"},
    )

    [registration] = registrations(event)
    assert urlsplit(response.location).path == f"/events/tickets/{registration.id}"
    assert registration.status == "confirmed"
    assert registration.answers == {
        str(lunch.id): "veg",
        str(field_question.id): "Regenerative medicine",
    }
    assert outbox_kinds(person.email) == ["events/registration_confirmed"]
    ticket_page = text(client.get(response.location, headers=EN))
    assert "You are registered. Your ticket is below." in ticket_page


def test_registering_is_limited_per_person_not_per_address(client: FlaskClient) -> None:
    first, second = add_event(), add_event()
    person, colleague = member_of("link-j"), member_of("link-j")
    login(client, person)
    for _press in range(20):
        pressed = register_through_the_page(client, first, ticket(first, "linkj_member").id)
        assert pressed.status_code == 302

    refused = register_through_the_page(client, second, ticket(second, "linkj_member").id)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    assert registrations(second) == []
    # The same address, another person: not held back by the first one's presses.
    login(client, colleague)
    answered = register_through_the_page(client, second, ticket(second, "linkj_member").id)
    assert answered.status_code == 302 and "/events/tickets/" in answered.location
    assert [r.person_id for r in registrations(second)] == [colleague.id]


def test_the_ticket_says_what_became_of_the_registration_without_writing_the_session(
    client: FlaskClient,
) -> None:
    event = add_event()
    login(client, member_of("link-j"))
    client.get(f"/events/{event.slug}", headers=EN)  # the page the button is on

    response = register_through_the_page(client, event, ticket(event, "linkj_member").id)
    just_after = client.get(response.location, headers=EN)
    later = client.get(urlsplit(response.location).path, headers=EN)

    # Neither pressing Register nor the ticket it leads to rewrites the session cookie.
    assert response.headers.getlist("Set-Cookie") == []
    assert just_after.headers.getlist("Set-Cookie") == []
    assert "You are registered. Your ticket is below." in text(just_after)
    # Coming back to the ticket later, nothing is said of having just registered.
    assert "You are registered. Your ticket is below." not in text(later)
    assert "Confirmed" in text(later)


def test_a_missing_required_answer_registers_nothing(client: FlaskClient) -> None:
    event = add_event(questions=(LUNCH,))
    login(client, member_of("link-j"))

    response = register_through_the_page(client, event, ticket(event, "linkj_member").id)
    html = text(client.get(response.location, headers=EN))

    assert urlsplit(response.location).path == f"/events/{event.slug}"
    assert "flash-error" in html
    assert registrations(event) == []


def test_a_double_click_registers_once(client: FlaskClient) -> None:
    event = add_event()
    login(client, member_of("link-j"))
    chosen = ticket(event, "linkj_member").id

    first = register_through_the_page(client, event, chosen)
    second = register_through_the_page(client, event, chosen)

    assert first.location == second.location
    assert len(registrations(event)) == 1


def test_a_full_event_offers_the_waitlist(client: FlaskClient) -> None:
    event = add_event(capacity=1)
    register_through_the_page_as(client, member_of("link-j"), event)
    waiting = member_of("link-j")
    login(client, waiting)

    detail = text(client.get(f"/events/{event.slug}", headers=EN))
    response = register_through_the_page(client, event, ticket(event, "linkj_member").id)
    ticket_page = text(client.get(response.location, headers=EN))

    assert "Full — waitlist open" in detail and ">Join the waitlist</button>" in detail
    assert "The event is full: you are on the waitlist." in ticket_page
    assert "number 1 on the waitlist" in ticket_page
    assert "<svg" not in ticket_page  # no QR code for a waitlisted ticket
    assert [r.status for r in registrations(event)] == ["confirmed", "waitlisted"]


def register_through_the_page_as(client: FlaskClient, person: Person, event: Event) -> None:
    login(client, person)
    register_through_the_page(client, event, ticket(event, "linkj_member").id)
    with client.session_transaction() as session:
        session.clear()


def test_cancelling_through_the_ticket_page_promotes_the_first_waiting(
    client: FlaskClient,
) -> None:
    event = add_event(capacity=1)
    first, waiting = member_of("link-j"), member_of("link-j")
    register_through_the_page_as(client, first, event)
    register_through_the_page_as(client, waiting, event)
    seat, queued = registrations(event)
    login(client, first)

    response = client.post(f"/events/tickets/{seat.id}/cancel", headers=EN, follow_redirects=True)

    assert "Your registration is cancelled." in text(response)
    assert [r.status for r in registrations(event)] == ["cancelled", "confirmed"]
    assert outbox_kinds(waiting.email)[-1] == "events/registration_promoted"
    login(client, waiting)
    assert "<svg" in text(client.get(f"/events/tickets/{queued.id}", headers=EN))


def test_cancelling_after_the_deadline_is_refused_on_the_ticket_page(client: FlaskClient) -> None:
    event = add_event()
    member = member_of("link-j")
    register_through_the_page_as(client, member, event)
    [seat] = registrations(event)
    event.cancellation_closes_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    login(client, member)

    response = client.post(f"/events/tickets/{seat.id}/cancel", headers=EN)

    assert urlsplit(response.location).path == f"/events/tickets/{seat.id}"
    assert "The cancellation deadline has passed." in text(
        client.get(response.location, headers=EN)
    )
    assert [r.status for r in registrations(event)] == ["confirmed"]


def test_registration_closed_is_refused_with_a_message(client: FlaskClient) -> None:
    event = add_event(registration_closes_at=datetime.now(UTC) - timedelta(days=1))
    login(client, member_of("link-j"))

    detail = text(client.get(f"/events/{event.slug}", headers=EN))
    response = register_through_the_page(client, event, ticket(event, "linkj_member").id)

    assert "Registration is not open." in detail
    assert urlsplit(response.location).path == f"/events/{event.slug}"
    assert "Registration for this event is not open." in text(
        client.get(response.location, headers=EN)
    )
    assert registrations(event) == []


def test_registering_needs_a_login(client: FlaskClient) -> None:
    event = add_event()

    response = register_through_the_page(client, event, ticket(event, "non_member").id)

    assert urlsplit(response.location).path == "/login"
    assert registrations(event) == []


# --- tickets -------------------------------------------------------------------------------------


def test_the_ticket_page_has_the_qr_code_and_the_code(client: FlaskClient) -> None:
    event = add_event()
    person = member_of("link-j")
    register_through_the_page_as(client, person, event)
    [registration] = registrations(event)
    login(client, person)

    html = text(client.get(f"/events/tickets/{registration.id}", headers=EN))

    assert "<svg" in html and "Show this code at the door." in html
    assert registration.code in html
    assert "LINK-J member rate" in html


def test_other_peoples_tickets_are_not_found(client: FlaskClient) -> None:
    event = add_event()
    owner = member_of("link-j")
    register_through_the_page_as(client, owner, event)
    [registration] = registrations(event)

    login(client, member_of("link-j"))

    assert client.get(f"/events/tickets/{registration.id}").status_code == 404
    assert client.post(f"/events/tickets/{registration.id}/cancel").status_code == 404
    assert registrations(event)[0].status == "confirmed"


def test_my_registrations_lists_them_with_the_feed_address(client: FlaskClient) -> None:
    event = titled(add_event(), "Kobe biocluster tour")
    person = member_of("link-j")
    register_through_the_page_as(client, person, event)
    login(client, person)

    html = text(client.get("/events/mine", headers=EN))

    assert "Kobe biocluster tour" in html and "Confirmed" in html
    db.session.expire_all()
    token = db.session.get(Person, person.id).calendar_token
    assert token and f"/calendar/{token}.ics" in html


# --- calendars -----------------------------------------------------------------------------------


def parse_ics(response: TestResponse) -> Calendar:
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    return Calendar.from_ical(response.get_data())


def test_the_event_downloads_as_ics(client: FlaskClient) -> None:
    event = add_event(online_url="https://zoom.example/j/123")

    response = client.get(f"/events/{event.slug}.ics")

    assert f'filename="{event.slug}.ics"' in response.headers["Content-Disposition"]
    [entry] = parse_ics(response).walk("VEVENT")
    assert str(entry["SUMMARY"]) == (
        "再生医療産業化フォーラム / Regenerative Medicine Industrialisation Forum"
    )
    assert entry.decoded("DTSTART") == event.starts_at
    assert entry.decoded("DTEND") == event.ends_at
    assert "日本橋ライフサイエンスハブ" in str(entry["LOCATION"])
    assert "zoom.example" not in response.get_data(as_text=True)  # not for anonymous visitors


def test_a_confirmed_attendees_ics_has_the_online_link(client: FlaskClient) -> None:
    event = add_event(online_url="https://zoom.example/j/123")
    person = member_of("link-j")
    register_through_the_page_as(client, person, event)
    login(client, person)

    [entry] = parse_ics(client.get(f"/events/{event.slug}.ics")).walk("VEVENT")

    assert str(entry["URL"]) == "https://zoom.example/j/123"


def test_the_calendar_feed_lists_my_registrations_by_token(client: FlaskClient) -> None:
    kept = titled(add_event(), "Kept seminar")
    full = titled(add_event(capacity=1), "Full seminar")
    person = member_of("link-j")
    register_through_the_page_as(client, member_of("link-j"), full)
    register_through_the_page_as(client, person, kept)
    register_through_the_page_as(client, person, full)  # waitlisted: not in the feed
    login(client, person)
    client.get("/events/mine")
    db.session.expire_all()
    token = db.session.get(Person, person.id).calendar_token

    with client.session_transaction() as session:
        session.clear()  # calendar applications fetch the feed without a login
    response = client.get(f"/calendar/{token}.ics")

    summaries = [str(e["SUMMARY"]) for e in parse_ics(response).walk("VEVENT")]
    assert summaries == ["Kept seminar"]
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_the_online_link_must_be_a_web_address() -> None:
    from portal.errors import InvalidInput
    from portal.events import setup
    from portal.events.setup import EventData, TicketTypeData
    from tests.factories import add_role, org

    staff = add_role(add_person_for_test(), Role.STAFF)
    starts = datetime.now(UTC) + timedelta(days=10)
    data = EventData(
        slug="webinar",
        kind="seminar",
        title_en="Webinar",
        title_ja="",
        host_id=org("link-j").id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        online_url="javascript:alert(document.cookie)",
        ticket_types=[TicketTypeData(audience="non_member", name_en="General", name_ja="")],
    )

    with pytest.raises(InvalidInput):
        setup.save_event(None, data, actor=staff)

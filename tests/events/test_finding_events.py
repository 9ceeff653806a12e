"""Finding events: keywords, the archive of past events (the seed's own), prices in the list,
and a way to register near the top of an event's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Role
from portal.events.demo import PAST_EVENTS, load_demo_events
from portal.events.models import Event
from portal.extensions import db
from tests.factories import add_event, add_person, add_role, member_of
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

EN = {"Accept-Language": "en"}


def _text(client: FlaskClient, path: str, **params: str) -> str:
    return client.get(path, query_string=params, headers=EN).get_data(as_text=True)


def test_keywords_find_events_by_title_description_or_venue_in_either_language(
    client: FlaskClient,
) -> None:
    cell = add_event()
    medtech = add_event()
    cell.title_en, cell.title_ja = "Cell Therapy Forum", "細胞治療フォーラム"
    medtech.title_en, medtech.title_ja = "Medtech Day", "メドテックデー"
    medtech.venue_en = "Marseille"
    db.session.commit()

    assert "Cell Therapy Forum" in _text(client, "/events/", q="cell  therapy")
    assert "Medtech Day" not in _text(client, "/events/", q="cell therapy")
    assert "Medtech Day" in _text(client, "/events/", q="marseille")
    assert "Cell Therapy Forum" in _text(client, "/events/", q="細胞")
    # LIKE's wildcards typed by someone are matched as themselves.
    assert "No upcoming event matches." in _text(client, "/events/", q="%")
    assert "No upcoming event matches." in _text(client, "/events/", q="_")


def test_the_list_shows_each_events_prices(client: FlaskClient) -> None:
    add_event()  # tickets: free for members, ¥5,000 general

    html = _text(client, "/events/")

    assert "Price: Free to ¥5,000" in html


def test_the_archive_lists_the_seeds_past_events_and_the_list_does_not(
    client: FlaskClient,
) -> None:
    add_role(add_person("staff@link-j.example"), Role.STAFF)
    load_demo_events()

    past = _text(client, "/events/past")
    upcoming = _text(client, "/events/")

    forum = db.session.scalar(
        select(Event).where(Event.slug == "regenerative-medicine-industrialisation-forum-2017")
    )
    assert forum is not None and forum.host.slug == "kobe-city"
    assert {o.slug for o in forum.cohosts} == {"ibri", "link-j"} and not forum.agreements
    assert forum.starts_at.year == 2017 and forum.starts_at.month == 10
    seminar = db.session.scalar(
        select(Event).where(Event.slug == "miller-montgomery-seminar-kobe-2018")
    )
    assert seminar is not None and (seminar.starts_at.year, seminar.starts_at.month) == (2018, 1)
    assert (
        "Sandrine Miller-Montgomery" in past and "Regenerative Medicine Industrialisation" in past
    )
    assert past.index("Sandrine") < past.index("Regenerative Medicine Industrialisation")
    assert "Hosted by Kobe City" in past
    assert "Sandrine" not in upcoming and "/events/past" in upcoming
    assert len(PAST_EVENTS) == 2


def test_kobe_city_hosts_but_has_no_members(client: FlaskClient) -> None:
    html = _text(client, "/register")

    assert "Kobe City" not in html


def test_an_events_page_offers_register_near_the_top(client: FlaskClient) -> None:
    event = add_event(starts_in=timedelta(days=10))
    login(client, member_of("link-j"))

    html = _text(client, f"/events/{event.slug}")

    shortcut = html.index('class="register-shortcut"')
    assert shortcut < html.index('class="prose"') < html.index('id="register-title"')
    assert 'href="#register-title">Register — Free' in html


@pytest.mark.parametrize("slug", ["past", "mine"])
def test_an_event_cannot_take_the_address_of_a_list_page(slug: str) -> None:
    from portal.errors import InvalidInput
    from portal.events.setup import EventData, TicketTypeData, save_event
    from tests.factories import org

    staff = add_role(add_person("editor@link-j.example"), Role.STAFF)
    start = (add_event().starts_at + timedelta(days=1)).replace(microsecond=0)
    data = EventData(
        slug=slug,
        kind="seminar",
        title_en="Kobe seminar",
        title_ja="神戸セミナー",
        host_id=org("ibri").id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Asia/Tokyo",
        capacity=50,
        ticket_types=[
            TicketTypeData(audience="non_member", name_en="General", name_ja="一般", price=0)
        ],
    )

    with pytest.raises(InvalidInput) as refused:
        save_event(None, data, actor=staff)

    assert refused.value.field == "slug"
    assert db.session.scalar(select(Event).where(Event.slug == slug)) is None

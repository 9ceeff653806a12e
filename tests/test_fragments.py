"""Parts of pages remembered by value and shared by every viewer (``portal.fragments``).

The event list's cards are remembered per process under what they print: these tests show
that a remembered card is never stale (an edit or a new price shows at once), that the seats
left change with every registration without anything being invalidated, that each language
and each viewer's own clock has its own card, and that the memo stays bounded.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.accounts.models import Role
from portal.events.models import Event, EventSession
from portal.extensions import db
from portal.fragments import FragmentMemo
from tests.factories import add_event, add_person, add_role, member_of, org, ticket
from tests.roles import login

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def page(client: FlaskClient, headers: dict[str, str] = EN) -> str:
    response = client.get("/events/", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def memo(app: Flask) -> FragmentMemo:
    return app.extensions["fragments"]


def test_a_remembered_card_is_the_card_rendered_afresh(
    app: Flask, client: FlaskClient, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_event(capacity=5)
    # Without the page cache: a second view would otherwise be the whole page it kept.
    monkeypatch.setitem(app.extensions, "versions", None)
    memo(app).clear()
    first = page(client)
    hits = memo(app).hits
    again = page(client)

    assert memo(app).hits > hits, "the second view did not use the remembered card"
    assert again == first


def test_an_edit_shows_at_once_and_the_seats_change_with_each_registration(
    app: Flask, client: FlaskClient, network: None
) -> None:
    event = add_event(capacity=5)
    event.title_en = "Digital Health Seminar"
    db.session.commit()
    assert "Digital Health Seminar" in page(client)
    assert "5 of 5 seats left" in page(client)

    event.title_en = "Digital Health Seminar, second edition"
    ticket(event, "non_member").price = 7000
    db.session.commit()
    edited = page(client)
    assert "Digital Health Seminar, second edition" in edited
    assert "¥7,000" in edited and "¥5,000" not in edited

    member = member_of("link-j")
    login(client, member)
    answer = client.post(
        f"/events/{event.slug}/register",
        data={"ticket_type": str(ticket(event, "linkj_member").id)},
        headers=EN,
    )
    assert answer.status_code == 302
    assert "4 of 5 seats left" in page(client)


def test_each_language_and_each_viewers_clock_has_its_own_card(
    app: Flask, client: FlaskClient, network: None
) -> None:
    add_event(capacity=5, starts_in=timedelta(days=40))
    english, japanese = page(client), page(client, JA)
    assert "Regenerative Medicine Industrialisation Forum" in english
    assert "再生医療産業化フォーラム" in japanese
    assert "再生医療産業化フォーラム" not in english

    abroad = add_person("abroad@example.org")
    abroad.timezone = "America/Los_Angeles"
    db.session.commit()
    login(client, abroad)
    theirs = page(client)
    assert "your time:" in theirs
    login(client, add_person("home@example.jp"))
    assert "your time:" not in page(client)


def test_the_memo_keeps_at_most_its_size(app: Flask) -> None:
    with app.test_request_context("/"):
        bounded = FragmentMemo(size=3)
        for number in range(10):
            bounded.render(("card", number), lambda number=number: f"<p>{number}</p>")
        assert len(bounded) == 3
        assert bounded.render(("card", 9), lambda: "never rendered") == "<p>9</p>"
        assert bounded.render(("card", 0), lambda: "<p>again</p>") == "<p>again</p>"


def test_an_event_the_viewer_may_not_see_is_not_shown_from_the_memo(
    app: Flask, client: FlaskClient, network: None
) -> None:
    """The memo holds cards, never lists: which events a viewer is shown is decided by the
    list's query every time."""
    hidden = add_event(visibility="linkj")
    hidden.title_en = "Members' evening"
    db.session.commit()
    login(client, member_of("link-j"))
    assert "Members&#39; evening" in page(client)
    client.get("/logout")
    anonymous = app.test_client()
    assert "Members&#39; evening" not in page(anonymous)
    assert db.session.get(Event, hidden.id) is not None


# --- the event page -------------------------------------------------------------------------


def event_page(client: FlaskClient, event: Event, headers: dict[str, str] = EN) -> str:
    response = client.get(f"/events/{event.slug}", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_part_of_an_events_definition_shows_at_once_on_its_page(
    app: Flask, client: FlaskClient, network: None
) -> None:
    """The event page's shared parts are remembered under every column of the event, its
    hosts, MOUs and their parties, ticket types and programme: a change to any of them, in
    any table, is a new key."""
    event = add_event(capacity=5, cohosts=("biocom",), agreements=("link-j-biocom-2016",))
    event.sessions.append(
        EventSession(
            title_en="Keynote",
            starts_at=event.starts_at,
            ends_at=event.starts_at + timedelta(hours=1),
        )
    )
    db.session.commit()
    before = event_page(client, event)
    assert "Keynote" in before and "BIOCOM" in before and "¥5,000" in before
    assert event_page(client, event) == before  # remembered

    event.sessions[0].title_en = "Opening keynote"
    ticket(event, "non_member").price = 6000
    org("biocom").short_name = "Biocom California"
    event.status = "cancelled"
    db.session.commit()
    after = event_page(client, event)

    assert "Opening keynote" in after
    assert "¥6,000" in after and "¥5,000" not in after
    assert "Biocom California" in after
    assert "This event is cancelled." in after


def priced_for_each_audience() -> Event:
    """Five seats, a price for LINK-J members, one for BIOCOM's under their MOU, one for
    everyone else."""
    return add_event(
        capacity=5,
        agreements=("link-j-biocom-2016",),
        tickets=(
            {"audience": "linkj_member", "price": 1000},
            {"audience": "partner_member", "price": 2000},
            {"audience": "non_member", "price": 5000},
        ),
    )


def test_the_event_pages_own_parts_stay_each_viewers_own(
    app: Flask, client: FlaskClient, network: None
) -> None:
    """Two viewers share the remembered parts of the page, never their prices, their
    registration or the seats left."""
    event = priced_for_each_audience()
    linkj, partner = member_of("link-j"), member_of("biocom")
    login(client, linkj)
    answer = client.post(
        f"/events/{event.slug}/register",
        data={"ticket_type": str(ticket(event, "linkj_member").id)},
        headers=EN,
    )
    assert answer.status_code == 302
    theirs = event_page(client, event)
    other = app.test_client()
    login(other, partner)
    mine = event_page(other, event)

    assert "You are registered:" in theirs and "You are registered:" not in mine
    assert "Your price: <strong>¥1,000</strong> — LINK-J member rate" in theirs
    assert "Your price: <strong>¥2,000</strong> — Partner-member rate" in mine
    assert "4 of 5 seats left" in theirs and "4 of 5 seats left" in mine


# --- the home page --------------------------------------------------------------------------


def test_the_home_pages_network_is_read_once_and_shows_a_change_at_once(
    app: Flask, client: FlaskClient, network: None, count_queries: list[str]
) -> None:
    """The network on the home page is remembered under the versions of the organization and
    agreement tables: a second visit reads neither, and any write to them (a rename, a new
    MOU's date) shows on the next visit."""
    count_queries.clear()
    first = client.get("/", headers=EN).get_data(as_text=True)
    assert "BIOCOM" in first
    assert [s for s in count_queries if "FROM organization" in s]
    count_queries.clear()
    assert client.get("/", headers=EN).get_data(as_text=True) == first
    assert not [s for s in count_queries if "organization" in s or "agreement" in s]

    org("biocom").name_en = "Biocom California (renamed)"
    db.session.commit()
    assert "Biocom California (renamed)" in client.get("/", headers=EN).get_data(as_text=True)
    assert "再生" not in first and "提携団体" in client.get("/", headers=JA).get_data(as_text=True)


def test_the_lists_filter_names_a_renamed_organization_at_once(
    app: Flask, client: FlaskClient, network: None, count_queries: list[str]
) -> None:
    """The list's filter is remembered per filter and version of the organization table: it
    reads the organizations only when one changed, and shows the change on the next view."""
    count_queries.clear()
    first = page(client)
    assert '<option value="biocom">BIOCOM</option>' in first
    assert [s for s in count_queries if "FROM organization ORDER BY" in s]
    count_queries.clear()
    assert page(client) == first
    assert not [s for s in count_queries if "FROM organization ORDER BY" in s]

    org("biocom").short_name = "Biocom California"
    db.session.commit()
    renamed = page(client)
    assert '<option value="biocom">Biocom California</option>' in renamed
    chosen = client.get("/events/?partner=biocom", headers=EN).get_data(as_text=True)
    assert '<option value="biocom" selected>Biocom California</option>' in chosen


def test_a_memo_of_size_zero_renders_every_time(app: Flask) -> None:
    """``FRAGMENT_MEMO_SIZE=0`` (the benchmark's uncached phase) keeps nothing."""
    with app.test_request_context("/"):
        off = FragmentMemo(size=0)
        assert off.render(("card", 1), lambda: "<p>a</p>") == "<p>a</p>"
        assert off.render(("card", 1), lambda: "<p>b</p>") == "<p>b</p>"
        assert len(off) == 0


def test_the_registration_form_is_shared_by_its_offers_and_keeps_each_viewers_token(
    app: Flask, client: FlaskClient, network: None, csrf_enabled: None
) -> None:
    """The form's fields are remembered by what they print (this viewer's ticket choices and
    the event's questions); the CSRF token beside them stays each session's own."""
    event = priced_for_each_audience()
    first, second = app.test_client(), app.test_client()
    login(first, member_of("biocom"))
    login(second, member_of("biocom"))
    login(client, member_of("link-j"))
    pages = [event_page(c, event) for c in (first, second, client)]

    def form(page: str) -> str:
        return page.split('class="stacked-form"', 1)[1].split("</form>", 1)[0]

    def token(page: str) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form(page))
        assert found is not None
        return found.group(1)

    def fields(page: str) -> str:
        return form(page).replace(token(page), "")

    assert fields(pages[0]) == fields(pages[1])
    assert "¥2,000" in fields(pages[0]) and "¥1,000" not in fields(pages[0])
    assert "¥1,000" in fields(pages[2])
    assert len({token(page) for page in pages}) == 3
    # The second viewer's own token, beside fields remembered from the first's page, works.
    answer = second.post(
        f"/events/{event.slug}/register",
        data={
            "csrf_token": token(pages[1]),
            "ticket_type": str(ticket(event, "partner_member").id),
        },
        headers=EN,
    )
    assert answer.status_code == 302 and "/events/tickets/" in answer.location


def test_an_edited_question_reaches_the_registration_form_at_once(
    app: Flask, client: FlaskClient, network: None
) -> None:
    """The form's class is kept per event's questions and its fields per what they print:
    a question's new wording or a new option is a new key for both."""
    event = add_event(
        capacity=5,
        questions=(
            {
                "kind": "single",
                "label_en": "Lunch",
                "label_ja": "昼食",
                "required": True,
                "options": [{"value": "veg", "label_en": "Vegetarian", "label_ja": "ベジ"}],
            },
        ),
    )
    login(client, member_of("link-j"))
    assert "Lunch" in event_page(client, event) and "Vegetarian" in event_page(client, event)

    question = event.questions[0]
    question.label_en = "Lunch choice"
    question.options = [*question.options, {"value": "halal", "label_en": "Halal"}]
    db.session.commit()
    edited = event_page(client, event)

    assert "Lunch choice" in edited and "Halal" in edited


def test_each_search_keeps_its_own_words_in_the_remembered_filter(
    app: Flask, client: FlaskClient, network: None
) -> None:
    """The filter form is remembered per filter: what a person typed comes back in the box,
    escaped, and another search never shows it."""
    add_event(capacity=5)
    first = client.get("/events/?q=regenerative&kind=forum", headers=EN).get_data(as_text=True)
    second = client.get("/events/?q=%3Cb%3Emedicine", headers=EN).get_data(as_text=True)
    again = client.get("/events/?q=regenerative&kind=forum", headers=EN).get_data(as_text=True)

    assert 'name="q" type="search" value="regenerative"' in first
    assert '<option value="forum" selected>' in first
    searched = second.split('class="filter"', 1)[1].split("</form>", 1)[0]
    assert 'value="&lt;b&gt;medicine"' in searched and "regenerative" not in searched
    assert '<option value="forum" selected>' not in searched
    assert again == first


def test_the_remembered_navigation_follows_the_area_the_viewer_and_their_roles(
    app: Flask, network: None
) -> None:
    """The header's links are remembered per page, kind of viewer and language: each area
    marks its own link, only a signed-in person sees their links, only an admin the
    administration, and a role granted shows at once."""
    visitor = app.test_client()
    home = page_at(visitor, "/")
    assert '<a href="/" aria-current="page">Home</a>' in home
    assert 'aria-current="page">Events</a>' in page(visitor)
    assert 'aria-current="page">Home</a>' not in page(visitor)
    assert "My dashboard" not in home and "Log in</a>" in home
    assert "ホーム</a>" in page_at(visitor, "/", JA)

    person = member_of("biocom")
    member = app.test_client()
    login(member, person)
    signed_in = page(member)
    assert "My dashboard" in signed_in and "Log in</a>" not in signed_in
    assert "Administration" not in signed_in

    add_role(person, Role.PARTNER_ADMIN, org("biocom"))
    db.session.commit()
    assert "Administration</a>" in page(member)


def page_at(client: FlaskClient, path: str, headers: dict[str, str] = EN) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)

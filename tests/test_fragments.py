"""Parts of pages remembered by value and shared by every viewer (``portal.fragments``).

The event list's cards are remembered per process under what they print: these tests show
that a remembered card is never stale (an edit or a new price shows at once), that the seats
left change with every registration without anything being invalidated, that each language
and each viewer's own clock has its own card, and that the memo stays bounded.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from portal.events.models import Event
from portal.extensions import db
from portal.fragments import FragmentMemo
from tests.factories import add_event, add_person, member_of, ticket
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
    app: Flask, client: FlaskClient, network: None
) -> None:
    add_event(capacity=5)
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
        assert len(bounded._entries) == 3
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
    anonymous = FlaskClient(app, use_cookies=True)
    assert "Members&#39; evening" not in page(anonymous)
    assert db.session.get(Event, hidden.id) is not None

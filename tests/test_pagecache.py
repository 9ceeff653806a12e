"""The page cache: a hit costs almost nothing, and no change is ever hidden behind it.

The whole suite runs with the cache on (tests/conftest.py), so every test that changes
something and reads a page again checks invalidation too; these tests pin the rules down.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie
from sqlalchemy import update

from portal import pagecache, versions
from portal.accounts.memberships import verify_membership
from portal.accounts.models import Membership, Person, Role, SessionEnd
from portal.accounts.sessions import end_all_sessions
from portal.events.models import Event
from portal.events.queries import event_by_slug
from portal.events.registering import register
from portal.extensions import db
from tests.factories import (
    add_event,
    add_membership,
    add_person,
    add_role,
    later,
    member_of,
    org,
    session_id_for,
    ticket,
)
from tests.processes import run_each
from tests.roles import login


def titled_event(title: str, **fields: Any) -> Event:
    forum = add_event(**fields)
    forum.title_en = title
    db.session.commit()
    return forum


def html(client: FlaskClient, path: str, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_anonymous_visitors_share_the_event_pages_and_a_hit_only_counts_seats(
    app: Flask, network: None, count_queries: list[str]
) -> None:
    """Kept once for every visitor who is not signed in (docs/performance.md): the second
    visitor's list and event page are hits that ask the database only for the seats."""
    forum = titled_event("Digital Health Forum")
    first, second = app.test_client(), app.test_client()
    assert first.get("/events/").headers["X-Cache"] == "miss"
    assert first.get(f"/events/{forum.slug}").headers["X-Cache"] == "miss"
    assert first.get("/").headers["X-Cache"] == "miss"

    for path in ("/events/", f"/events/{forum.slug}"):
        count_queries.clear()
        response = second.get(path)
        assert response.headers["X-Cache"] == "hit"
        assert "Digital Health Forum" in response.get_data(as_text=True)
        assert len(count_queries) == 1 and "registration" in count_queries[0]
        assert "Set-Cookie" not in response.headers
    count_queries.clear()
    assert second.get("/").headers["X-Cache"] == "hit"
    assert count_queries == []


def test_a_registration_changes_the_seats_left_on_the_kept_pages_without_invalidating_them(
    app: Flask, network: None
) -> None:
    forum = add_event(agreements=("link-j-biocom-2016",), capacity=2)
    page = f"/events/{forum.slug}"
    visitor = app.test_client()
    assert "2 of 2 seats left" in html(visitor, page)
    assert "2 of 2 seats left" in html(visitor, "/events/")
    assert "満席" not in html(visitor, "/events/", headers={"Accept-Language": "ja"})

    member = app.test_client()
    login(member, member_of("biocom"))
    form = html(member, page)
    assert 'name="ticket_type"' in form and "Log in to register" not in form
    answer = member.post(
        f"{page}/register",
        data={
            "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)[1],
            "ticket_type": ticket(forum, "partner_member").id,
        },
    )
    assert answer.status_code == 302, answer.status_code

    for path in (page, "/events/"):
        response = visitor.get(path)
        assert response.headers["X-Cache"] == "hit"
        assert "1 of 2 seats left" in response.get_data(as_text=True)
    # The member's own page is theirs: their registration, never the anonymous page.
    assert "You are registered" in html(member, page)

    register(member_of("link-j"), forum, ticket_type_id=ticket(forum, "linkj_member").id)
    response = visitor.get(page)
    assert response.headers["X-Cache"] == "hit"
    assert "Full — waitlist open" in response.get_data(as_text=True)
    # Printed again in the reader's language.
    japanese = visitor.get("/events/", headers={"Accept-Language": "ja"})
    assert japanese.headers["X-Cache"] == "hit"
    assert "満席" in japanese.get_data(as_text=True)


def member_named(slug: str, family_name: str) -> Person:
    person = member_of(slug)
    person.family_name, person.romanized_name = family_name, ""
    db.session.commit()
    return person


def signed_in(app: Flask, person: Person) -> FlaskClient:
    client = app.test_client()
    login(client, person)
    return client


def test_members_of_one_audience_share_the_event_pages_each_named_in_their_own_header(
    app: Flask, network: None, count_queries: list[str]
) -> None:
    """Kept once per audience (docs/performance.md): a second BIOCOM member's home page, event
    list and event page are hits that load only who they are and the seats, and say their name,
    never the first member's; visitors who are not signed in have a page of their own."""
    forum = titled_event("Digital Health Forum", agreements=("link-j-biocom-2016",))
    first = signed_in(app, member_named("biocom", "Firstmember"))
    second = signed_in(app, member_named("biocom", "Secondmember"))
    paths = ("/", "/events/", f"/events/{forum.slug}")
    for path in paths:
        response = first.get(path)
        assert response.headers["X-Cache"] == "miss"
        assert "Firstmember" in response.get_data(as_text=True)
    anonymous_page = html(app.test_client(), f"/events/{forum.slug}")
    assert "Log in to register" in anonymous_page and "Firstmember" not in anonymous_page

    statements = {}
    for path in paths:
        count_queries.clear()
        response = second.get(path)
        page = response.get_data(as_text=True)
        assert response.headers["X-Cache"] == "hit", path
        assert "Signed in as" in page and "Secondmember" in page and "Firstmember" not in page
        statements[path] = len(count_queries)
        assert pagecache.VIEWER_PLACEHOLDER not in page
    # Who the member is and their audience are read once (the session's statement on their
    # first page), then remembered: the list asks only for the seats, the event page for the
    # seats and whether this member holds a registration, in one statement.
    assert statements == {"/": 1, "/events/": 1, f"/events/{forum.slug}": 1}
    page = html(second, f"/events/{forum.slug}")
    assert "Digital Health Forum" in page and 'name="ticket_type"' in page
    assert "Log in to register" not in page


class CallCountingStore(versions.MemoryStore):
    """The embedded store, naming each call made to it (a round trip to Redis each in
    production)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def generations(self, scopes: list[str]) -> list[int]:
        self.calls.append("generations")
        return super().generations(scopes)

    def get(self, key: str) -> bytes | None:
        self.calls.append("get")
        return super().get(key)

    def generations_and_get(self, scopes: list[str], key: str) -> tuple[list[int], bytes | None]:
        self.calls.append("generations_and_get")
        return super().generations(scopes), super().get(key)


def test_a_hit_is_one_call_to_the_store_and_a_members_two(
    app: Flask, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: a visitor's hit reads the generations and the page kept for them together; a
    member's reads their remembered audience with the generations, then their audience's page
    (one call fewer each than reading the page under a key made of the generations)."""
    store = CallCountingStore()
    monkeypatch.setitem(app.extensions, "versions", store)
    forum = titled_event("Round Trip Forum", agreements=("link-j-biocom-2016",))
    paths = ("/", "/events/", f"/events/{forum.slug}")
    anonymous = app.test_client()
    first = signed_in(app, member_named("biocom", "Firstcaller"))
    second = signed_in(app, member_named("biocom", "Secondcaller"))
    for client in (anonymous, first, second):
        for path in paths:
            client.get(path)
    calls = {}
    for name, client in (("visitor", anonymous), ("member", second)):
        for path in paths:
            store.calls.clear()
            response = client.get(path)
            assert response.headers["X-Cache"] == "hit", (name, path)
            calls[name, path] = list(store.calls)
    for path in paths:
        assert calls["visitor", path] == ["generations_and_get"], path
        assert calls["member", path] == ["generations_and_get", "get"], path
    # The page is the one kept for each, not another's.
    assert "Secondcaller" in second.get(f"/events/{forum.slug}").get_data(as_text=True)
    assert "Log in to register" in html(anonymous, f"/events/{forum.slug}")


def test_a_session_ended_elsewhere_is_not_served_a_shared_page_as_its_member(
    app: Flask, network: None
) -> None:
    """Rule 15: the member remembered for a session is forgotten with any change to their rows,
    an ended session among them; their next page is a visitor's."""
    member = member_named("biocom", "Endedmember")
    client = signed_in(app, member)
    html(client, "/events/")
    assert "Endedmember" in html(client, "/events/")

    end_all_sessions(member, reason=SessionEnd.SIGNED_OUT_BY_ADMIN, actor=None)
    db.session.commit()

    page = html(client, "/events/")
    assert "Endedmember" not in page and "Signed in as" not in page


def test_a_role_granted_shows_on_the_shared_pages_at_once(app: Flask, network: None) -> None:
    member = member_of("link-j")
    client = signed_in(app, member)
    html(client, "/")
    assert "Administration" not in html(client, "/")

    add_role(member, Role.STAFF)

    page = html(client, "/")
    assert "Administration" in page and "LINK-J staff" in page


def test_each_audience_sees_its_own_events_and_prices(app: Flask, network: None) -> None:
    """LINK-J members, BIOCOM members and people of no member organization are three audiences:
    each gets the page rendered for theirs, never another's (rule 3)."""
    network_only = titled_event(
        "Members Roundtable", agreements=("link-j-biocom-2016",), visibility="network"
    )
    forum = add_event(agreements=("link-j-biocom-2016",))
    partner = signed_in(app, member_of("biocom"))
    hub = signed_in(app, member_of("link-j"))
    outsider = signed_in(app, add_person())
    for client in (partner, hub, outsider):
        html(client, "/events/")
        html(client, f"/events/{forum.slug}")

    assert "Members Roundtable" in html(partner, "/events/")
    assert "Members Roundtable" in html(hub, "/events/")
    assert "Members Roundtable" not in html(outsider, "/events/")
    assert outsider.get(f"/events/{network_only.slug}").status_code == 404
    prices = {
        "partner": html(partner, f"/events/{forum.slug}"),
        "hub": html(hub, f"/events/{forum.slug}"),
        "outsider": html(outsider, f"/events/{forum.slug}"),
    }
    assert "BIOCOM" in prices["partner"].split("Your price:")[1].split("</p>")[0]
    assert "LINK-J member rate" in prices["hub"].split("Your price:")[1].split("</p>")[0]
    assert "LINK-J member rate" not in prices["outsider"].split("Your price:")[1]


def test_a_membership_ended_changes_the_shared_pages_at_once(app: Flask, network: None) -> None:
    """The audience is read from the person loaded for each request: a membership revoked moves
    them to another audience on their next page, with nothing kept to invalidate."""
    network_only = titled_event(
        "Members Roundtable", agreements=("link-j-biocom-2016",), visibility="network"
    )
    member = member_of("biocom")
    client = signed_in(app, member)
    assert "Members Roundtable" in html(client, "/events/")
    assert "Members Roundtable" in html(client, "/events/")  # the kept page

    membership = member.memberships[0]
    membership.status = "revoked"
    db.session.commit()

    assert "Members Roundtable" not in html(client, "/events/")
    assert client.get(f"/events/{network_only.slug}").status_code == 404


def test_a_page_rendered_after_the_members_audience_changed_is_not_kept_for_the_old_one(
    app: Flask, network: None
) -> None:
    """The member's audience is read before the page is rendered; if their rows change in
    between, the page shows the new audience and must not be kept for the old one. Simulated
    with a change that bumps no generation (a statement on the session's connection): the
    remembered audience is then stale, as it is for the moment of a race."""
    titled_event("Members Roundtable", agreements=("link-j-biocom-2016",), visibility="network")
    member = member_of("biocom")
    client = signed_in(app, member)
    assert "Members Roundtable" in html(client, "/events/")  # the audience remembered
    db.session.connection().execute(
        update(Membership).where(Membership.person_id == member.id).values(status="revoked")
    )
    db.session.commit()

    assert "Members Roundtable" not in html(client, "/events/?page=1")  # rendered afresh

    other = signed_in(app, member_of("biocom"))
    response = other.get("/events/?page=1")
    assert "Members Roundtable" in response.get_data(as_text=True)
    assert response.headers["X-Cache"] == "miss"


def test_a_member_registers_from_a_shared_page_and_then_sees_their_own(
    app: Flask, network: None, csrf_enabled: None
) -> None:
    """The form on a kept page carries the reader's own CSRF token; once registered, the member
    is shown their registration (their page is theirs), and the others of their audience one
    seat fewer on the page they share."""
    forum = add_event(agreements=("link-j-biocom-2016",), capacity=2)
    page = f"/events/{forum.slug}"
    first = signed_in(app, member_of("biocom"))
    second = signed_in(app, member_of("biocom"))
    html(first, page)
    response = second.get(page)
    assert response.headers["X-Cache"] == "hit"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert token is not None

    answer = second.post(
        f"{page}/register",
        data={"csrf_token": token[1], "ticket_type": ticket(forum, "partner_member").id},
        headers={"Referer": f"https://localhost{page}"},
        base_url="https://localhost",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]

    assert "You are registered" in html(second, answer.headers["Location"])  # the ticket

    own = second.get(page)
    assert "X-Cache" not in own.headers
    assert "You are registered:" in own.get_data(as_text=True)
    assert "X-Cache" not in second.get(page).headers
    shared = first.get(page)
    assert shared.headers["X-Cache"] == "hit"
    assert "1 of 2 seats left" in shared.get_data(as_text=True)
    assert "You are registered" not in shared.get_data(as_text=True)


def test_a_full_event_shows_the_waitlist_button_on_the_shared_page(
    app: Flask, network: None
) -> None:
    forum = add_event(agreements=("link-j-biocom-2016",), capacity=1)
    page = f"/events/{forum.slug}"
    member = signed_in(app, member_of("biocom"))
    assert "Join the waitlist" not in html(member, page)
    assert member.get(page).headers["X-Cache"] == "hit"

    register(member_of("link-j"), forum, ticket_type_id=ticket(forum, "linkj_member").id)

    response = member.get(page)
    text = response.get_data(as_text=True)
    assert "Join the waitlist" in text and "Full — waitlist open" in text
    assert response.headers["X-Cache"] == "miss"  # the full page is another page


def test_organizers_see_drafts_and_members_do_not(app: Flask, network: None) -> None:
    draft = titled_event("Draft Symposium", status="draft")
    staff = signed_in(app, add_role(add_person(), Role.STAFF))
    member = signed_in(app, member_of("link-j"))
    assert html(staff, f"/events/{draft.slug}")
    assert "Draft: only its organizers see this page." in html(staff, f"/events/{draft.slug}")
    assert member.get(f"/events/{draft.slug}").status_code == 404
    assert "Administration" in html(staff, "/")
    assert "Administration" not in html(member, "/")


def test_a_signed_in_hit_runs_no_sql(
    client: FlaskClient, network: None, count_queries: list[str]
) -> None:
    login(client, member_of("biocom"))
    html(client, "/account")
    count_queries.clear()

    response = client.get("/account")

    assert response.headers["X-Cache"] == "hit"
    # The signed session names person and session record; the page was stored under them
    # and the person's generation after Flask-Login accepted them: nothing to ask the database.
    assert count_queries == []


def test_a_session_ended_elsewhere_gets_no_cached_page(client: FlaskClient, network: None) -> None:
    member = member_of("biocom")
    login(client, member)
    assert html(client, "/account")

    # What a password change, an admin's "sign out" or "log out all other sessions" does.
    end_all_sessions(member, reason=SessionEnd.SIGNED_OUT_BY_ADMIN, actor=None)
    db.session.commit()

    response = client.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_remembered_visitor_is_signed_in_not_shown_the_anonymous_page(
    app: Flask, network: None
) -> None:
    titled_event("Digital Health Forum")
    assert "Log in" in html(app.test_client(), "/events/")  # the anonymous page, now cached
    member = member_of("biocom")
    client = app.test_client()  # no session yet, only "remember me"
    with app.test_request_context():
        client.set_cookie(
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
            encode_cookie(session_id_for(member, remember=True)),
        )

    page = html(client, "/events/")

    assert "Log out" in page and "Log in" not in page


def test_a_removed_role_closes_the_cached_admin_page_at_once(
    client: FlaskClient, network: None
) -> None:
    admin = add_role(add_person("admin@biocom.example"), Role.PARTNER_ADMIN, org("biocom"))
    login(client, admin)
    queue = "/admin/organizations/biocom/memberships"
    assert client.get(queue).status_code == 200
    assert client.get(queue).status_code == 200  # from the cache

    for grant in list(admin.role_grants):
        db.session.delete(grant)
    db.session.commit()

    assert client.get(queue).status_code == 403


def test_another_persons_cached_page_is_never_served(app: Flask, network: None) -> None:
    admin = add_role(add_person("admin@biocom.example"), Role.PARTNER_ADMIN, org("biocom"))
    member = member_of("biocom")
    queue = "/admin/organizations/biocom/memberships"
    first, second = app.test_client(), app.test_client()
    login(first, admin)
    login(second, member)
    assert first.get(queue).status_code == 200

    assert second.get(queue).status_code == 403


def test_a_renamed_address_is_not_served_from_what_was_remembered(
    client: FlaskClient, network: None
) -> None:
    first = titled_event("First event")
    second = titled_event("Second event")
    login(client, member_of("biocom"))
    old_slug = first.slug
    assert "First event" in html(client, f"/events/{old_slug}")

    first.slug = "renamed"
    db.session.commit()
    assert client.get(f"/events/{old_slug}").status_code == 404
    assert "First event" in html(client, "/events/renamed")

    second.slug = old_slug  # the old address now names another event
    db.session.commit()
    page = html(client, f"/events/{old_slug}")
    assert "Second event" in page and "First event" not in page
    second.title_en = "Second event, edited"
    db.session.commit()
    assert "Second event, edited" in html(client, f"/events/{old_slug}")


def test_an_edited_event_shows_at_once_on_its_page_and_in_the_list(
    client: FlaskClient, network: None
) -> None:
    forum = titled_event("Old title")
    login(client, member_of("biocom"))
    assert "Old title" in html(client, f"/events/{forum.slug}")
    assert "Old title" in html(client, "/events/")

    forum.title_en = "New title"
    db.session.commit()

    assert "New title" in html(client, f"/events/{forum.slug}")
    assert "New title" in html(client, "/events/")


def test_a_registration_shows_at_once_and_leaves_every_definition_remembered(
    client: FlaskClient, network: None, count_queries: list[str]
) -> None:
    forum, seminar = add_event(capacity=10), add_event(capacity=10)
    forum_page, seminar_page = f"/events/{forum.slug}", f"/events/{seminar.slug}"
    html(client, seminar_page)
    assert "10 of 10 seats left" in html(client, forum_page)

    register(member_of("link-j"), forum, ticket_type_id=ticket(forum, "linkj_member").id)
    count_queries.clear()
    assert "9 of 10 seats left" in html(client, forum_page)
    html(client, seminar_page)
    # Each page counted its seats, and nothing else: the definitions were remembered.
    assert len(count_queries) == 2


def test_a_bulk_update_reaches_every_cached_page_it_may_touch(
    client: FlaskClient, network: None
) -> None:
    forum = titled_event("Old title")
    login(client, member_of("biocom"))
    assert "Old title" in html(client, f"/events/{forum.slug}")

    db.session.execute(update(Event).where(Event.id == forum.id).values(title_en="Bulk title"))
    db.session.commit()

    assert "Bulk title" in html(client, f"/events/{forum.slug}")


def test_a_membership_decision_reaches_the_members_cached_dashboard(
    client: FlaskClient, network: None
) -> None:
    member = add_person("pending@example.jp")
    membership = add_membership(member, "biocom")
    admin = add_role(add_person("admin@biocom.example"), Role.PARTNER_ADMIN, org("biocom"))
    login(client, member)
    assert "Pending" in html(client, "/account")

    verify_membership(membership, actor=admin, valid_until=later(days=100).date())

    page = html(client, "/account")
    assert "Pending" not in page
    assert "Verified" in page


def test_each_viewer_and_each_language_has_its_own_page(app: Flask, network: None) -> None:
    first, second = app.test_client(), app.test_client()
    login(first, add_person(family_name="Firstperson"))
    login(second, add_person(family_name="Secondperson"))

    assert "Firstperson" in html(first, "/account")
    page = html(second, "/account")
    assert "Secondperson" in page and "Firstperson" not in page

    english = html(first, "/events/", headers={"Accept-Language": "en"})
    japanese = html(first, "/events/", headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in english
    assert '<html lang="ja">' in japanese


def test_a_cached_page_carries_a_fresh_csrf_token_that_works(
    client: FlaskClient, network: None, csrf_enabled: None
) -> None:
    forum = add_event(agreements=("link-j-biocom-2016",))
    login(client, member_of("biocom"))
    html(client, "/account")

    response = client.get("/account")
    assert response.headers["X-Cache"] == "hit"
    page = response.get_data(as_text=True)

    assert pagecache.CSRF_PLACEHOLDER not in page
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        f"/events/{forum.slug}/register",
        data={
            "csrf_token": token.group(1),
            "ticket_type": ticket(forum, "partner_member").id,
        },
    )
    assert response.status_code == 302
    assert "/events/tickets/" in response.headers["Location"]


def test_a_page_with_a_message_is_neither_served_from_nor_kept_in_the_cache(
    client: FlaskClient, network: None
) -> None:
    login(client, member_of("biocom"))
    html(client, "/account")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A message for this one page")]

    assert "A message for this one page" in html(client, "/account")
    assert "A message for this one page" not in html(client, "/account")


def test_a_page_cached_before_registration_opens_is_not_served_after(
    client: FlaskClient, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum = add_event(
        agreements=("link-j-biocom-2016",),
        registration_opens_at=later(minutes=30).replace(microsecond=0),
    )
    login(client, member_of("biocom"))
    assert 'name="ticket_type"' not in html(client, f"/events/{forum.slug}")

    opened = later(minutes=31)
    monkeypatch.setattr("portal.pagecache.utcnow", lambda: opened)
    monkeypatch.setattr("portal.events.views.utcnow", lambda: opened)

    assert 'name="ticket_type"' in html(client, f"/events/{forum.slug}")


def test_a_kept_event_page_is_not_served_after_registration_opens(
    client: FlaskClient, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Within the cache's time to live (60 s): only the page's own moment can end it.
    forum = add_event(registration_opens_at=later(seconds=30))
    page = f"/events/{forum.slug}"
    assert "Registration is not open" in html(client, page)
    assert client.get(page).headers["X-Cache"] == "hit"

    opened = later(seconds=31)
    monkeypatch.setattr("portal.pagecache.utcnow", lambda: opened)
    monkeypatch.setattr("portal.events.views.utcnow", lambda: opened)

    response = client.get(page)
    assert response.headers["X-Cache"] == "miss"
    assert "Log in to register" in response.get_data(as_text=True)


def test_the_kept_list_is_not_served_after_any_event_it_counts_ends(
    client: FlaskClient, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first listed event may end after one listed later: the list's total counts them
    all, so it is kept until the first of them ends."""
    first = titled_event("First to start", starts_in=timedelta(hours=-4))
    first.ends_at = first.starts_at + timedelta(days=3)
    # Three hours long, it ends in 30 s: within the cache's time to live (60 s).
    titled_event("Short and later", starts_in=timedelta(hours=-3, seconds=30))
    db.session.commit()
    assert "2 upcoming events" in html(client, "/events/")
    assert client.get("/events/").headers["X-Cache"] == "hit"

    ended = later(seconds=31)
    monkeypatch.setattr("portal.pagecache.utcnow", lambda: ended)
    monkeypatch.setattr("portal.events.listing.utcnow", lambda: ended)

    response = client.get("/events/")
    assert response.headers["X-Cache"] == "miss"
    body = response.get_data(as_text=True)
    assert "1 upcoming event" in body and "Short and later" not in body


def test_a_page_must_declare_every_table_it_reads(app: Flask) -> None:
    with app.test_request_context("/somewhere"):
        pagecache._check_covered({"event", "registration"}, ["registration"], ["event:1"])
        pagecache._check_covered({"membership"}, [], ["org:3"])
        with pytest.raises(pagecache.ScopeError, match="payment"):
            pagecache._check_covered({"event", "payment"}, [], ["event:1"])
        with pytest.raises(pagecache.ScopeError, match="person"):
            pagecache._check_covered({"person"}, [], ["event:1"])


def test_portal_cache_clear_forgets_every_page(
    app: Flask, client: FlaskClient, network: None
) -> None:
    login(client, member_of("biocom"))
    html(client, "/account")
    assert client.get("/account").headers["X-Cache"] == "hit"

    result = app.test_cli_runner().invoke(args=["cache", "clear"])

    assert result.exit_code == 0, result.output
    assert client.get("/account").headers["X-Cache"] == "miss", "the page was rendered again"


def test_without_redis_pages_are_rendered_and_changes_still_commit(
    app: Flask, client: FlaskClient, network: None
) -> None:
    forum = titled_event("Old title")
    saved = app.extensions["versions"]
    app.extensions["versions"] = versions.RedisStore("redis://127.0.0.1:9/0")  # nobody there
    try:
        assert "Old title" in html(client, f"/events/{forum.slug}")
        forum.title_en = "New title"
        db.session.commit()
        assert "New title" in html(client, f"/events/{forum.slug}")
        assert "New title" in html(client, "/events/")
    finally:
        app.extensions["versions"] = saved


# --- an event's definition, remembered between requests ----------------------------------


def _fresh_request_reads(app: Flask, slug: str, count_queries: list[str]) -> tuple[Any, int]:
    """What a new request finds for the slug (its own session), and the statements it ran."""
    count_queries.clear()
    with app.app_context():
        event = event_by_slug(slug)
        shown = (
            event.title_en,
            event.capacity,
            [(t.audience, t.price) for t in event.ticket_types],
            [q.label_en for q in event.questions],
            [a.partner.slug for a in event.agreements],
            event.host.slug,
        )
        return shown, len(count_queries)


FORUM_QUESTIONS = ({"kind": "text", "label_en": "Affiliation", "label_ja": "所属"},)


def test_an_events_definition_is_read_once_until_something_in_it_changes(
    app: Flask, network: None, count_queries: list[str]
) -> None:
    forum = add_event(agreements=("link-j-biocom-2016",), questions=FORUM_QUESTIONS)
    first, statements = _fresh_request_reads(app, forum.slug, count_queries)
    assert statements > 0
    assert first[3] == ["Affiliation"] and first[4] == ["biocom"]

    again, statements = _fresh_request_reads(app, forum.slug, count_queries)
    assert (again, statements) == (first, 0)

    ticket(forum, "non_member").price = 7000
    db.session.commit()
    changed, statements = _fresh_request_reads(app, forum.slug, count_queries)
    assert ("non_member", 7000) in changed[2] and statements > 0

    forum.questions[0].label_en = "Organisation"
    db.session.commit()
    assert _fresh_request_reads(app, forum.slug, count_queries)[0][3] == ["Organisation"]

    db.session.execute(update(Event).values(capacity=99))  # a bulk change, rows unknown
    db.session.commit()
    assert _fresh_request_reads(app, forum.slug, count_queries)[0][1] == 99


def test_registrations_leave_the_remembered_definition_valid(
    app: Flask, network: None, count_queries: list[str]
) -> None:
    forum = add_event()
    _fresh_request_reads(app, forum.slug, count_queries)

    register(member_of("link-j"), forum, ticket_type_id=ticket(forum, "linkj_member").id)

    assert _fresh_request_reads(app, forum.slug, count_queries)[1] == 0


def test_a_remembered_definition_never_paints_over_changes_in_the_session(
    app: Flask, network: None, count_queries: list[str]
) -> None:
    forum = add_event()
    _fresh_request_reads(app, forum.slug, count_queries)
    with app.app_context():
        editing = db.session.get(Event, forum.id)
        editing.title_en = "Not yet saved"

        assert event_by_slug(forum.slug).title_en == "Not yet saved"
        db.session.rollback()


def test_a_remembered_definition_is_read_again_after_the_ttl(
    app: Flask, network: None, count_queries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    forum = titled_event("Before")
    _fresh_request_reads(app, forum.slug, count_queries)
    # Another process on the embedded default (no Redis) changes it: no generation moves here.
    # (a statement on the connection, not through the session's ORM, is not seen here either)
    db.session.connection().execute(update(Event).values(title_en="After"))
    db.session.commit()
    assert _fresh_request_reads(app, forum.slug, count_queries)[0][0] == "Before"

    later = time.monotonic() + app.config["PAGE_CACHE_TTL"] + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert _fresh_request_reads(app, forum.slug, count_queries)[0][0] == "After"


def test_an_unknown_address_is_not_remembered(app: Flask, network: None) -> None:
    with app.app_context():
        assert event_by_slug("not-yet") is None
    forum = add_event()
    forum.slug = "not-yet"
    db.session.commit()
    with app.app_context():
        assert event_by_slug("not-yet").id == forum.id


# --- several processes --------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    from datetime import timedelta
    from flask_migrate import upgrade
    from sqlalchemy import event, select
    from portal import create_app
    from portal.db import utcnow
    from portal.events.models import Event
    from portal.extensions import db

    database, redis_url, action = sys.argv[1:4]
    slug = sys.argv[4] if len(sys.argv) > 4 else "shared"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database,
                      "PAGE_CACHE_URL": redis_url})
    with app.app_context():
        if action == "setup":
            upgrade()
            from portal.organizations.services import seed_network
            seed_network()
            from portal.organizations.models import Organization
            hub = db.session.scalar(select(Organization).where(Organization.slug == "link-j"))
            starts = utcnow() + timedelta(days=20)
            db.session.add(Event(slug="shared", title_en="ShownBeforeRename", host=hub, capacity=5,
                                 status="published", starts_at=starts, timezone="Asia/Tokyo",
                                 ends_at=starts + timedelta(hours=2)))
            db.session.commit()
        elif action == "rename":
            shared = db.session.scalar(select(Event).where(Event.slug == slug))
            shared.title_en = "ShownAfterRename"
            db.session.commit()
    if action == "read":
        statements = []
        with app.app_context():
            event.listen(db.engine, "after_cursor_execute",
                         lambda *args: statements.append(args[2]))
        page = app.test_client().get("/events/shared").get_data(as_text=True)
        title = "After" if "ShownAfterRename" in page else "Before"
        print(title if "ShownBeforeRename" in page or title == "After" else "none",
              len(statements))
    """
)


def _run(database: str, action: str, instance: Path, redis_url: str, *more: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, database, redis_url, action, *more],
        env={**os.environ, "PORTAL_INSTANCE_PATH": str(instance)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_a_change_in_one_process_reaches_what_another_process_remembered(
    tmp_path: Path, redis_url: str
) -> None:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    # Five processes, one after the other: each forgets what the one before it remembered.
    outputs = run_each(
        WORKER,
        [[database, redis_url, action] for action in ("setup", "read", "read", "rename", "read")],
        env={"PORTAL_INSTANCE_PATH": str(tmp_path)},
    )
    first_title, _statements = outputs[1].split()
    second_title, _statements = outputs[2].split()
    third_title, _statements = outputs[4].split()

    # Each process remembers the event's definition in its own memory, under the generations
    # every process shares in Redis: the rename in another process reaches the page.
    assert (first_title, second_title, third_title) == ("Before", "Before", "After")


def test_a_change_in_another_process_reaches_an_event_this_one_remembers(
    app: Flask,
    network: None,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    count_queries: list[str],
) -> None:
    saved = app.extensions["versions"]
    app.extensions["versions"] = versions.store_for(redis_url, database_url)
    try:
        forum = titled_event("ShownBeforeRename")
        _fresh_request_reads(app, forum.slug, count_queries)
        assert _fresh_request_reads(app, forum.slug, count_queries)[1] == 0

        _run(database_url, "rename", tmp_path, redis_url, forum.slug)

        assert _fresh_request_reads(app, forum.slug, count_queries)[0][0] == "ShownAfterRename"
    finally:
        app.extensions["versions"] = saved


def test_redis_bumps_each_scope_once_per_commit_even_after_redis_forgot_its_scripts(
    redis_url: str, tmp_path: Path
) -> None:
    import redis

    store = versions.store_for(redis_url, f"sqlite:///{tmp_path / 'own.db'}")
    assert isinstance(store, versions.RedisStore)
    scopes = ["t:registration", "event:7", "person:3"]
    before = store.generations([*scopes, "event:8"])

    assert store.bump(scopes)
    # A restarted Redis has forgotten the script: the next bump loads it again.
    redis.Redis.from_url(redis_url).script_flush()
    assert store.bump(scopes[:2])

    after = store.generations([*scopes, "event:8"])
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2, 1, 0]

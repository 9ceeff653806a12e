"""Admin event pages: who may see and do what (the role matrix), the editor, registrations,
CSV export, mail to registrants and check-in at the door."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from werkzeug.test import TestResponse

from portal.accounts.models import MembershipStatus, Person, Role, VerificationSource
from portal.accounts.services import grant_role
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.events import calendar, queries, registering
from portal.events.management.editor import event_form_initial
from portal.events.models import Event, EventStatus, Registration, RegistrationStatus
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.timefmt import local_moment
from tests.factories import add_event, add_membership, add_person, org, recorded_statements, ticket
from tests.roles import Action, Cast, build_cast, check_outcome, login, matrix

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}
JSON = {"Accept": "application/json", "Accept-Language": "en"}


# --- helpers ------------------------------------------------------------------------------------


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def fresh(record: Any) -> Any:
    db.session.expire_all()
    return db.session.get(type(record), record.id)


def outbox_kinds(to: str | None = None) -> list[str]:
    db.session.expire_all()
    query = select(OutboxMessage.kind).order_by(OutboxMessage.id)
    if to is not None:
        query = query.where(OutboxMessage.to_address == to)
    return list(db.session.scalars(query))


def audit_actions() -> list[str]:
    """What was audited, apart from the roles the cast was given."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.not_like("role.%"))
            .order_by(AuditEntry.id)
        )
    )


def event_by_slug(slug: str) -> Event | None:
    db.session.expire_all()
    return db.session.scalar(select(Event).where(Event.slug == slug))


def add_registration(
    event: Event, person: Person, status: str, *, ticket_audience: str = "partner_member", **extra
) -> Registration:
    """A registration row in the given state, written around the services (no mail, no audit)."""
    held = status in ("confirmed", "checked_in", "awaiting_payment")
    chosen = ticket(event, ticket_audience)
    registration = Registration(
        event_id=event.id,
        person_id=person.id,
        ticket_type_id=chosen.id,
        price=chosen.price,
        currency=chosen.currency,
        status=status,
        code=registering.new_ticket_code(),
        confirmed_at=utcnow() if held else None,
        **extra,
    )
    db.session.add(registration)
    db.session.commit()
    return registration


def local_input(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def editor_post(event: Event, **changes: Any) -> dict[str, Any]:
    """The editor's form as the browser would send it back unchanged, with ``changes``."""
    initial = event_form_initial(event)
    data: dict[str, Any] = {}
    for name, value in initial.items():
        if name in ("ticket_types", "questions", "sessions"):
            for index, row in enumerate(value):
                for key, item in row.items():
                    data.update(_form_value(f"{name}-{index}-{key}", item))
        else:
            data.update(_form_value(name, value))
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _form_value(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {name: "y"} if value else {}
    if isinstance(value, datetime):
        return {name: value.strftime("%Y-%m-%dT%H:%M")}
    if isinstance(value, list):
        return {name: [str(v) for v in value]}
    return {name: "" if value is None else str(value)}


def new_event_post(cast: Cast, **changes: Any) -> dict[str, Any]:
    starts = (utcnow() + timedelta(days=60)).astimezone(ZoneInfo("Asia/Tokyo"))
    starts = starts.replace(hour=18, minute=0, second=0, microsecond=0)
    data = {
        "title_en": "Kobe–San Diego partnering night",
        "title_ja": "神戸・サンディエゴ パートナリングの夕べ",
        "slug": "kobe-san-diego-night",
        "kind": "networking",
        "language": "both",
        "host": str(cast.biocom.id),
        "cohosts": [str(cast.hub.id)],
        "timezone": "Asia/Tokyo",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "30",
        "visibility": "public",
        "reminder_hours_before": "24",
        "ticket_types-0-audience": "non_member",
        "ticket_types-0-name_en": "General",
        "ticket_types-0-name_ja": "一般",
        "ticket_types-0-price": "0",
        "ticket_types-0-currency": "JPY",
        "ticket_types-0-active": "y",
    }
    data.update(changes)
    return data


# --- the cast ------------------------------------------------------------------------------------


@dataclass
class Scene:
    """A forum hosted by LINK-J and co-hosted by BIOCOM (needing approval, 2 seats), its
    registrations in every state the actions need, and a draft."""

    cast: Cast
    forum: Event
    draft: Event
    pending: Registration
    confirmed: Registration
    waitlisted: Registration
    #: A UCSD member's registration: what UCSD's admin may read.
    ucsd_member: Person
    ucsd_registration: Registration


def build_scene() -> Scene:
    """The management cast (tests/roles.py), the forum and its registrations."""
    return build_scene_for(build_cast())


def build_scene_for(cast: Cast) -> Scene:
    forum = add_event(
        host="link-j",
        cohosts=("biocom",),
        agreements=("link-j-biocom-2016", "link-j-ucsd-2016"),
        capacity=2,
        requires_approval=True,
        questions=(
            {"kind": "text", "label_en": "Research field", "label_ja": "研究分野"},
            {
                "kind": "multiple",
                "label_en": "Sessions",
                "label_ja": "参加セッション",
                "options": [
                    {"value": "a", "label_en": "Morning panel", "label_ja": "午前パネル"},
                    {"value": "b", "label_en": "Site tour", "label_ja": "施設見学"},
                ],
            },
        ),
    )
    draft = add_event(host="link-j", cohosts=("biocom",), status=EventStatus.DRAFT.value)
    pending = add_registration(forum, cast.claimant, "pending_approval")
    confirmed = add_registration(
        forum,
        cast.verified_member,
        "confirmed",
        answers={str(forum.questions[0].id): "iPS cells", str(forum.questions[1].id): ["a", "b"]},
    )
    waitlisted = add_registration(forum, cast.colleague, "waitlisted", ticket_audience="non_member")
    ucsd_member = add_person(
        "sam.park@ucsd.example", family_name="Park", given_name="Sam", affiliation="UCSD"
    )
    add_membership(
        ucsd_member,
        cast.ucsd,
        status=MembershipStatus.VERIFIED,
        verified_via=VerificationSource.MANUAL,
    )
    ucsd_registration = add_registration(forum, ucsd_member, "cancelled")
    return Scene(
        cast=cast,
        forum=forum,
        draft=draft,
        pending=pending,
        confirmed=confirmed,
        waitlisted=waitlisted,
        ucsd_member=ucsd_member,
        ucsd_registration=ucsd_registration,
    )


@pytest.fixture
def scene(cast: Cast) -> Scene:
    return build_scene_for(cast)


# --- the role matrix ----------------------------------------------------------------------------


def _status(registration: Registration) -> str:
    return fresh(registration).status


def _forum(s: Scene) -> str:
    return f"/admin/events/{s.forum.slug}"


ACTIONS = [
    Action("events", "GET", lambda s: "/admin/events"),
    Action("new_event", "GET", lambda s: "/admin/events/new"),
    Action(
        "create_event",
        "POST",
        lambda s: "/admin/events/new",
        lambda s: new_event_post(s.cast),
        done=lambda s: event_by_slug("kobe-san-diego-night") is not None,
    ),
    Action("edit_event", "GET", lambda s: f"{_forum(s)}/edit"),
    Action(
        "save_event",
        "POST",
        lambda s: f"{_forum(s)}/edit",
        lambda s: editor_post(s.forum, title_en="Regenerative Medicine Forum 2"),
        done=lambda s: fresh(s.forum).title_en == "Regenerative Medicine Forum 2",
    ),
    Action(
        "publish_event",
        "POST",
        lambda s: f"/admin/events/{s.draft.slug}/publish",
        done=lambda s: fresh(s.draft).status == EventStatus.PUBLISHED,
    ),
    Action(
        "cancel_event",
        "POST",
        lambda s: f"{_forum(s)}/cancel",
        lambda s: {"reason": "Typhoon warning for Tokyo"},
        done=lambda s: fresh(s.forum).status == EventStatus.CANCELLED,
    ),
    Action("registrations", "GET", lambda s: f"{_forum(s)}/registrations"),
    Action("registrations_csv", "GET", lambda s: f"{_forum(s)}/registrations.csv"),
    Action(
        "approve",
        "POST",
        lambda s: f"{_forum(s)}/registrations/{s.pending.id}/approve",
        done=lambda s: _status(s.pending) == RegistrationStatus.CONFIRMED,
    ),
    Action(
        "reject",
        "POST",
        lambda s: f"{_forum(s)}/registrations/{s.pending.id}/reject",
        lambda s: {"reason": "Members of the press only"},
        done=lambda s: _status(s.pending) == RegistrationStatus.REJECTED,
    ),
    Action(
        "cancel_registration",
        "POST",
        lambda s: f"{_forum(s)}/registrations/{s.confirmed.id}/cancel",
        lambda s: {"reason": "Duplicate booking"},
        done=lambda s: _status(s.confirmed) == RegistrationStatus.CANCELLED,
    ),
    Action(
        "promote",
        "POST",
        lambda s: f"{_forum(s)}/registrations/{s.waitlisted.id}/promote",
        done=lambda s: _status(s.waitlisted) == RegistrationStatus.AWAITING_PAYMENT,
    ),
    Action(
        "mail",
        "POST",
        lambda s: f"{_forum(s)}/mail",
        lambda s: {"recipients": "confirmed", "subject": "Room change", "body": "Room 301."},
        done=lambda s: outbox_kinds().count("events/message") == 1,
    ),
    Action("checkin_page", "GET", lambda s: f"{_forum(s)}/checkin"),
    Action(
        "checkin",
        "POST",
        lambda s: f"{_forum(s)}/checkin",
        lambda s: {"code": s.confirmed.code},
        done=lambda s: _status(s.confirmed) == RegistrationStatus.CHECKED_IN,
        allowed_status=200,
    ),
    Action("counts", "GET", lambda s: f"{_forum(s)}/counts"),
]

#: Any partner admin: their list, and creating events their own organization runs.
ANY_ADMIN = {"events", "new_event"}
#: Another partner's admin may read the registrations of its own members.
READ = {"registrations", "registrations_csv"}
ORGANIZE = {a.name for a in ACTIONS} - ANY_ADMIN - READ - {"create_event"}
assert {a.name for a in ACTIONS} == ANY_ADMIN | READ | ORGANIZE | {"create_event"}

EVERYTHING = {a.name: "allowed" for a in ACTIONS}
EXPECTED: dict[str, dict[str, str | int]] = {
    "anonymous": {a.name: "login" for a in ACTIONS},
    "unverified_member": {a.name: 403 for a in ACTIONS},
    "verified_member": {a.name: 403 for a in ACTIONS},
    "biocom_admin": EVERYTHING,  # BIOCOM co-hosts the forum and hosts the new event
    "ucsd_admin": {
        **{name: 404 for name in ORGANIZE},
        **{name: "allowed" for name in ANY_ADMIN | READ},
        # UCSD is neither host nor co-host of the event it tries to create.
        "create_event": 400,
    },
    "staff": EVERYTHING,
    "admin": EVERYTHING,
}


@pytest.mark.parametrize(("role", "action"), matrix(ACTIONS, EXPECTED))
def test_role_matrix(
    client: FlaskClient, matrix_world: Callable[..., Scene], role: str, action: Action
) -> None:
    scene = matrix_world(build_scene)
    login(client, scene.cast.by_role(role))

    check_outcome(client, scene, action, EXPECTED[role][action.name], area="/admin/events")


def test_refused_pages_never_show_the_events_registrants(client: FlaskClient, scene: Scene) -> None:
    outsider = add_person("admin@krp.example", family_name="Admin", given_name="KRP")
    grant_role(outsider, Role.PARTNER_ADMIN, actor=None, organization=org("krp"))
    login(client, outsider)

    for path in ("/edit", "/checkin", "/counts"):
        response = client.get(f"{_forum(scene)}{path}", headers=EN)
        assert response.status_code == 404
        assert scene.cast.verified_member.email not in text(response)
    # KRP has no member registered: its admin reads an empty list.
    html = text(client.get(f"{_forum(scene)}/registrations", headers=EN))
    assert scene.cast.verified_member.email not in html
    assert "No registration matches." in html


def test_a_draft_is_hidden_from_other_partners_admins(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.ucsd_admin)

    assert client.get(f"/admin/events/{scene.draft.slug}/registrations").status_code == 404
    assert client.get(f"/admin/events/{scene.draft.slug}/registrations.csv").status_code == 404


def test_an_unknown_event_or_registration_is_not_found(client: FlaskClient, scene: Scene) -> None:
    other = add_event(cohosts=("biocom",))
    stranger = add_registration(other, scene.cast.claimant, "pending_approval")
    login(client, scene.cast.staff)

    assert client.get("/admin/events/no-such-event/edit").status_code == 404
    # A registration of another event, through this event's address.
    response = client.post(f"{_forum(scene)}/registrations/{stranger.id}/approve")
    assert response.status_code == 404
    assert _status(stranger) == "pending_approval"


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_status_dates_and_live_counts(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.biocom_admin)

    html = text(client.get("/admin/events", headers=EN))

    assert f"/admin/events/{scene.forum.slug}/edit" in html
    assert f"/admin/events/{scene.draft.slug}/edit" in html
    assert "Draft" in html and "Published" in html
    assert "1 of 2" in html  # one seat held of two
    assert 'href="/admin/events/new"' in html


def test_another_partners_admin_sees_the_events_their_members_registered_for(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.ucsd_admin)

    html = text(client.get("/admin/events", headers=EN))

    assert "You organize no event yet." in html
    assert "Events your members registered for" in html
    assert f"/admin/events/{scene.forum.slug}/registrations" in html
    assert f"/admin/events/{scene.forum.slug}/edit" not in html
    assert scene.draft.slug not in html


# --- the editor ----------------------------------------------------------------------------------


def test_staff_create_an_event_with_tickets_questions_and_a_program_in_san_diego_time(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.staff)
    data = new_event_post(
        cast,
        slug="",
        title_en="Digital Health Partnering — San Diego",
        host=str(cast.biocom.id),
        cohosts=[str(cast.hub.id), str(cast.ucsd.id)],
        agreements=[],
        timezone="America/Los_Angeles",
        starts_at="2030-07-01T09:00",
        ends_at="2030-07-01T17:30",
        registration_closes_at="2030-06-28T17:00",
        online_url="https://biocom.example/live",
        **{
            "ticket_types-0-audience": "partner_member",
            "ticket_types-0-name_en": "Partner member",
            "ticket_types-0-price": "25.50",
            "ticket_types-0-currency": "USD",
            "ticket_types-0-capacity": "10",
            "ticket_types-1-audience": "non_member",
            "ticket_types-1-name_en": "General",
            "ticket_types-1-price": "1,200",
            "ticket_types-1-currency": "USD",
            "ticket_types-1-active": "y",
            "ticket_types-2-audience": "student",  # an unused row: no name
            "ticket_types-2-price": "0",
            "questions-0-kind": "single",
            "questions-0-label_en": "Lunch",
            "questions-0-label_ja": "昼食",
            "questions-0-required": "y",
            "questions-0-options": "veg|Vegetarian|ベジタリアン\nany|Anything|なんでも\n",
            "questions-1-kind": "text",
            "questions-1-label_en": "",
            "sessions-0-title_en": "Keynote",
            "sessions-0-starts_at": "2030-07-01T09:00",
            "sessions-0-ends_at": "2030-07-01T10:00",
            "sessions-0-room": "Hall A",
        },
    )

    del data["ticket_types-0-active"]  # "on sale" left unticked

    response = client.post("/admin/events/new", data=data, headers=EN)

    assert response.status_code == 302, text(response)
    event = event_by_slug("digital-health-partnering-san-diego-2030-07")
    assert event is not None and event.status == "draft"
    assert urlsplit(response.location).path == f"/admin/events/{event.slug}/edit"
    # 09:00 Pacific daylight time is 16:00 UTC.
    assert event.starts_at == datetime(2030, 7, 1, 16, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2030, 7, 2, 0, 30, tzinfo=UTC)
    assert event.registration_closes_at == datetime(2030, 6, 29, 0, 0, tzinfo=UTC)
    assert event.timezone == "America/Los_Angeles"
    assert {o.slug for o in event.cohosts} == {"link-j", "ucsd"}
    assert [
        (t.audience, t.price, t.currency, t.capacity, t.active) for t in event.ticket_types
    ] == [
        ("partner_member", 2550, "USD", 10, False),
        ("non_member", 120000, "USD", None, True),
    ]
    [question] = event.questions
    assert question.required and question.options == [
        {"value": "veg", "label_en": "Vegetarian", "label_ja": "ベジタリアン"},
        {"value": "any", "label_en": "Anything", "label_ja": "なんでも"},
    ]
    [session] = event.sessions
    assert session.starts_at == datetime(2030, 7, 1, 16, 0, tzinfo=UTC) and session.room == "Hall A"
    assert audit_actions() == ["event.create"]


def test_the_editor_shows_times_on_the_events_clock(client: FlaskClient, cast: Cast) -> None:
    event = add_event(timezone="Europe/Paris")
    event.starts_at = datetime(2030, 1, 15, 8, 30, tzinfo=UTC)
    event.ends_at = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
    db.session.commit()
    login(client, cast.staff)

    html = text(client.get(f"/admin/events/{event.slug}/edit", headers=EN))

    assert 'name="starts_at" required type="datetime-local" value="2030-01-15T09:30"' in html
    assert '<option selected value="Europe/Paris">' in html


def test_saving_an_unchanged_event_keeps_ticket_types_and_answers(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)
    before = [(t.id, t.price) for t in scene.forum.ticket_types]
    question_ids = [q.id for q in scene.forum.questions]
    starts_at = scene.forum.starts_at

    response = client.post(f"{_forum(scene)}/edit", data=editor_post(scene.forum), headers=EN)

    assert response.status_code == 302
    event = fresh(scene.forum)
    assert [(t.id, t.price) for t in event.ticket_types] == before
    assert [q.id for q in event.questions] == question_ids
    assert [s.starts_at for s in event.sessions] == []
    assert event.starts_at == starts_at.replace(second=0)  # the editor works in minutes


def chosen_tax_rates(html: str) -> list[str]:
    """The tax rate each ticket row of the editor has selected, row by row."""
    selects = re.findall(
        r'<select[^>]*name="ticket_types-\d+-tax_rate"[^>]*>(.*?)</select>', html, re.S
    )
    return [re.search(r'<option selected value="(\d+)"', options).group(1) for options in selects]


def test_the_tax_rate_chosen_in_the_editor_is_saved_and_shown_again(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.staff)
    data = new_event_post(
        cast,
        host=str(cast.hub.id),
        cohosts=[],
        **{"ticket_types-0-price": "11,000", "ticket_types-0-tax_rate": "10"},
    )

    created = client.post("/admin/events/new", data=data, headers=EN)

    assert created.status_code == 302, text(created)
    event = event_by_slug("kobe-san-diego-night")
    assert [(t.price, t.currency, t.tax_rate) for t in event.ticket_types] == [(11000, "JPY", 10)]
    editor = text(client.get(f"/admin/events/{event.slug}/edit", headers=EN))
    assert chosen_tax_rates(editor)[0] == "10"

    edited = client.post(
        f"/admin/events/{event.slug}/edit",
        data=editor_post(event, **{"ticket_types-0-tax_rate": "8"}),
        headers=EN,
    )

    assert edited.status_code == 302, text(edited)
    assert fresh(event).ticket_types[0].tax_rate == 8


def test_a_new_yen_ticket_of_an_event_linkj_hosts_starts_at_the_standard_rate(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.staff)
    new_for_linkj = chosen_tax_rates(text(client.get("/admin/events/new", headers=EN)))
    linkj_event = add_event(host="link-j")
    biocom_event = add_event(host="biocom")
    more_for_linkj = chosen_tax_rates(
        text(client.get(f"/admin/events/{linkj_event.slug}/edit", headers=EN))
    )
    more_for_biocom = chosen_tax_rates(
        text(client.get(f"/admin/events/{biocom_event.slug}/edit", headers=EN))
    )
    login(client, cast.biocom_admin)
    new_for_biocom = chosen_tax_rates(text(client.get("/admin/events/new", headers=EN)))

    # Three suggested rows and an empty one.
    assert new_for_linkj == ["10"] * 4
    # The three saved tickets keep their rate (0); the empty rows to add one start at 10%.
    assert more_for_linkj == ["0"] * 3 + ["10"] * 3
    assert more_for_biocom == ["0"] * 6
    assert new_for_biocom == ["0"] * 4


def test_emptying_a_ticket_rows_names_retires_it(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)
    student = scene.forum.ticket_types[2]
    data = editor_post(scene.forum, **{"ticket_types-2-name_en": "", "ticket_types-2-name_ja": ""})

    client.post(f"{_forum(scene)}/edit", data=data, headers=EN)

    assert fresh(student).active is False
    assert fresh(scene.waitlisted).ticket_type_id == student.id  # registrations keep it


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at": "2020-01-01T10:00"}, "The end must be after the start."),
        ({"title_en": "", "title_ja": ""}, "Give the event a title in English or Japanese."),
        ({"capacity": "0"}, "Enter 1 or more seats."),
        ({"capacity": "many"}, "Capacity (seats)"),
        ({"timezone": "Mars/Olympus"}, "Not a valid choice"),
        ({"ticket_types-0-price": "12.345", "ticket_types-0-currency": "USD"}, "main unit"),
        ({"ticket_types-0-price": "5000.5"}, "main unit"),
        ({"ticket_types-0-price": "-5"}, "main unit"),
        (
            {"ticket_types-0-currency": "USD", "ticket_types-0-tax_rate": "10"},
            "Consumption tax applies to yen prices only",
        ),
        ({"ticket_types-0-name_en": "", "ticket_types-0-name_ja": ""}, "Offer at least one"),
        ({"online_url": "javascript:alert(1)"}, "starting with https://"),
        ({"slug": "Kobe Night"}, "lower-case letters, digits and hyphens"),
        ({"starts_at": "next tuesday"}, "Not a valid datetime value"),
        (
            {
                "questions-0-kind": "single",
                "questions-0-label_en": "Lunch",
                "questions-0-options": "veg|Vegetarian",
            },
            "A choice question needs at least two answers.",
        ),
        (
            {
                "questions-0-kind": "multiple",
                "questions-0-label_en": "Lunch",
                "questions-0-options": "veg|Vegetarian\nveg|Vegan",
            },
            "each value different",
        ),
        (
            {"sessions-0-title_en": "Keynote", "sessions-0-starts_at": "2030-07-01T09:00"},
            "a start and an end",
        ),
        (
            {
                "registration_opens_at": "2030-01-02T10:00",
                "registration_closes_at": "2030-01-01T10:00",
            },
            "Registration must close after it opens.",
        ),
    ],
)
def test_bad_input_in_the_editor_is_refused_and_changes_nothing(
    client: FlaskClient, cast: Cast, changes: dict[str, str], message: str
) -> None:
    login(client, cast.staff)

    response = client.post("/admin/events/new", data=new_event_post(cast, **changes), headers=EN)

    assert response.status_code == 400
    html = text(response)
    assert "Nothing was changed. Please correct:" in html
    assert message in html
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0
    assert audit_actions() == []


def test_capacity_below_the_seats_held_is_refused(client: FlaskClient, scene: Scene) -> None:
    add_registration(
        scene.forum, add_person("x@example.org", family_name="X", given_name="Y"), "confirmed"
    )
    login(client, scene.cast.staff)

    response = client.post(
        f"{_forum(scene)}/edit", data=editor_post(scene.forum, capacity="1"), headers=EN
    )

    assert response.status_code == 400
    assert "2 seats are already held; the capacity cannot be lower." in text(response)
    assert fresh(scene.forum).capacity == 2


def test_a_refusal_of_the_editor_stands_beside_what_it_is_about(
    client: FlaskClient, scene: Scene
) -> None:
    add_registration(
        scene.forum, add_person("x@example.org", family_name="X", given_name="Y"), "confirmed"
    )
    login(client, scene.cast.staff)
    held = "2 seats are already held; the capacity cannot be lower."
    no_tickets = {f"ticket_types-{i}-{n}": "" for i in range(3) for n in ("name_en", "name_ja")}

    capacity = text(
        client.post(
            f"{_forum(scene)}/edit", data=editor_post(scene.forum, capacity="1"), headers=EN
        )
    )
    tickets = client.post(
        f"{_forum(scene)}/edit", data=editor_post(scene.forum, **no_tickets), headers=EN
    )

    assert f'<a href="#capacity">Capacity (seats): {held}</a>' in capacity
    assert f'<p class="error-message" id="capacity-error">{held}</p>' in capacity
    assert tickets.status_code == 400
    assert '<a href="#ticket_types">Ticket types: Offer at least one ticket type.</a>' in text(
        tickets
    )
    assert 'id="ticket_types"' in text(tickets)
    assert [t.active for t in fresh(scene.forum).ticket_types] == [True, True, True]


def test_a_partner_admin_creates_an_event_only_for_their_organization(
    client: FlaskClient, cast: Cast
) -> None:
    login(client, cast.biocom_admin)

    form = text(client.get("/admin/events/new", headers=EN))
    assert f'<option selected value="{cast.biocom.id}">' in form  # BIOCOM suggested as host
    refused = client.post(
        "/admin/events/new",
        data=new_event_post(cast, host=str(cast.ucsd.id), cohosts=[]),
        headers=EN,
    )
    assert refused.status_code == 400
    assert "Your organization must host or co-host the event." in text(refused)
    assert event_by_slug("kobe-san-diego-night") is None

    created = client.post("/admin/events/new", data=new_event_post(cast), headers=EN)
    assert created.status_code == 302
    assert event_by_slug("kobe-san-diego-night").host_id == cast.biocom.id


def test_publish_a_draft_once(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)

    first = client.post(
        f"/admin/events/{scene.draft.slug}/publish", headers=EN, follow_redirects=True
    )
    again = client.post(
        f"/admin/events/{scene.draft.slug}/publish", headers=EN, follow_redirects=True
    )

    assert "The event is published" in text(first)
    assert "Only a draft can be published." in text(again)
    assert fresh(scene.draft).status == "published"
    assert audit_actions() == ["event.publish"]


def test_cancelling_an_event_needs_a_reason_and_tells_every_registrant(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)

    refused = client.post(f"{_forum(scene)}/cancel", data={"reason": " "}, headers=EN)
    assert refused.status_code == 400
    assert "Give a reason; every registrant will see it." in text(refused)
    assert fresh(scene.forum).status == "published"

    done = client.post(
        f"{_forum(scene)}/cancel",
        data={"reason": "Typhoon warning for Tokyo"},
        headers=EN,
        follow_redirects=True,
    )
    assert "The event is cancelled; 3 registrants are told by mail." in text(done)
    assert outbox_kinds().count("events/event_cancelled") == 3
    assert {r.status for r in db.session.scalars(select(Registration))} == {"cancelled"}


# --- registrations ------------------------------------------------------------------------------


def test_cancelling_a_cancelled_event_is_refused_on_its_page(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)
    client.post(f"{_forum(scene)}/cancel", data={"reason": "Typhoon warning for Tokyo"})
    told = len(outbox_kinds())

    again = client.post(f"{_forum(scene)}/cancel", data={"reason": "Again"}, headers=EN)

    assert again.location == f"{_forum(scene)}/edit"
    assert "This event is already cancelled." in text(client.get(again.location, headers=EN))
    assert len(outbox_kinds()) == told
    assert audit_actions() == ["event.cancel"]


def test_registrations_filter_search_and_live_counts(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)
    base = f"{_forum(scene)}/registrations"

    everyone = text(client.get(base, headers=EN))
    waiting = text(client.get(f"{base}?status=waitlisted", headers=EN))
    found = text(client.get(f"{base}?q=JANE.DOE", headers=EN))
    by_code = text(client.get(f"{base}?q={scene.pending.code.lower()}", headers=EN))

    assert "4 registrations" in everyone
    assert 'data-count="registered">1<' in everyone and 'data-count="waitlisted">1<' in everyone
    assert "hanako.sato" not in waiting and "colleague@link-j.org" in waiting
    assert "1 registration" in found and "jane.doe@example.edu" in found
    assert "hanako.sato@biocom-member.org" in by_code and "jane.doe" not in by_code
    bad = client.get(f"{base}?status=nonsense", headers=EN)
    assert bad.status_code == 200 and "4 registrations" in text(bad)


def test_registrations_are_paged(client: FlaskClient, scene: Scene) -> None:
    for number in range(queries.REGISTRATIONS_PAGE_SIZE):
        person = add_person(
            f"p{number:03d}@example.org", family_name="Person", given_name=f"{number:03d}"
        )
        add_registration(scene.forum, person, "cancelled")
    login(client, scene.cast.staff)

    first = text(client.get(f"{_forum(scene)}/registrations", headers=EN))
    second = text(client.get(f"{_forum(scene)}/registrations?page=2", headers=EN))

    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert "p049@example.org" in second or "p048@example.org" in second
    assert "hanako.sato" in first and "hanako.sato" not in second


def test_the_registrations_page_loads_in_a_fixed_number_of_queries(
    client: FlaskClient, scene: Scene, no_page_cache: None
) -> None:
    login(client, scene.cast.staff)

    def queries_for_page() -> int:
        with recorded_statements() as statements:
            client.get(f"{_forum(scene)}/registrations", headers=EN)
        return len(statements)

    few = queries_for_page()
    for number in range(20):
        person = add_person(f"q{number}@example.org", family_name="Person", given_name=str(number))
        add_registration(scene.forum, person, "cancelled")
    assert queries_for_page() == few


def test_partner_admin_of_another_org_sees_only_their_members_and_no_actions(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.ucsd_admin)

    html = text(client.get(f"{_forum(scene)}/registrations", headers=EN))

    assert "sam.park@ucsd.example" in html
    assert "jane.doe@example.edu" not in html and "hanako.sato" not in html
    assert "/approve" not in html and "/cancel" not in html and "mail-form" not in html
    assert "data-counts-url" not in html
    assert "You see the registrations of your own verified members" in html


def test_approve_reject_and_move_off_the_waitlist(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.biocom_admin)
    base = f"{_forum(scene)}/registrations"
    back = f"{base}?status=pending_approval"

    response = client.post(f"{base}/{scene.pending.id}/approve", data={"next": back}, headers=EN)
    assert response.location == back
    assert _status(scene.pending) == "confirmed"
    # Both seats are now held: the waitlisted person cannot be moved off the list.
    refused = client.post(
        f"{base}/{scene.waitlisted.id}/promote", headers=EN, follow_redirects=True
    )
    assert "No seat is free. Raise the capacity or cancel a registration first." in text(refused)
    assert _status(scene.waitlisted) == "waitlisted"

    no_reason = client.post(
        f"{base}/{scene.confirmed.id}/cancel",
        data={"reason": ""},
        headers=EN,
        follow_redirects=True,
    )
    assert "Give a reason; the person will see it." in text(no_reason)
    assert _status(scene.confirmed) == "confirmed"

    client.post(f"{base}/{scene.confirmed.id}/cancel", data={"reason": "Asked by phone"})
    # The freed seat went to the first person waiting.
    assert _status(scene.waitlisted) == "awaiting_payment"
    assert audit_actions() == ["registration.approve", "registration.cancel"]
    assert outbox_kinds(scene.cast.colleague.email) == ["events/registration_promoted"]
    assert fresh(scene.pending).decided_by_id == scene.cast.biocom_admin.id


def test_a_refused_decision_goes_back_to_the_filtered_registrations(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)
    back = f"{_forum(scene)}/registrations?status=confirmed&page=1"

    response = client.post(
        f"{_forum(scene)}/registrations/{scene.confirmed.id}/reject",
        data={"reason": "Members of the press only", "next": back},
        headers=EN,
    )

    assert response.location == back
    assert "Only pending registrations can be rejected." in text(client.get(back, headers=EN))
    assert _status(scene.confirmed) == "confirmed"
    assert audit_actions() == []


def test_reject_tells_the_person_why(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)

    client.post(
        f"{_forum(scene)}/registrations/{scene.pending.id}/reject",
        data={"reason": "Members of the press only"},
    )

    registration = fresh(scene.pending)
    assert registration.status == "rejected"
    assert registration.decision_reason == "Members of the press only"
    assert outbox_kinds(scene.cast.claimant.email) == ["events/registration_rejected"]


def test_a_forged_next_address_goes_back_to_the_registrations(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)

    response = client.post(
        f"{_forum(scene)}/registrations/{scene.pending.id}/approve",
        data={"next": "https://evil.example/"},
    )

    assert response.location == f"{_forum(scene)}/registrations"


# --- mail to registrants -------------------------------------------------------------------------


def test_mail_the_selected_registrants(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)

    response = client.post(
        f"{_forum(scene)}/mail",
        data={
            "recipients": "selected",
            "registration_ids": [str(scene.pending.id), str(scene.waitlisted.id)],
            "subject": "Parking",
            "body": "Use the north entrance.",
        },
        headers=EN,
        follow_redirects=True,
    )

    assert "2 messages are queued." in text(response)
    assert outbox_kinds(scene.cast.claimant.email) == ["events/message"]
    assert outbox_kinds(scene.cast.colleague.email) == ["events/message"]
    assert outbox_kinds(scene.cast.verified_member.email) == []
    assert "event.mail" in audit_actions()


def test_mail_everyone_on_the_waitlist(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)

    client.post(
        f"{_forum(scene)}/mail",
        data={"recipients": "waitlisted", "subject": "Seats", "body": "We are adding seats."},
    )

    assert outbox_kinds() == ["events/message"]
    assert outbox_kinds(scene.cast.colleague.email) == ["events/message"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"recipients": "selected", "subject": "S", "body": "B"}, "Tick the registrants"),
        ({"recipients": "confirmed", "subject": "", "body": "B"}, "Write a subject."),
        ({"recipients": "confirmed", "subject": "S", "body": ""}, "Write a message."),
        ({"recipients": "everyone-ever", "subject": "S", "body": "B"}, "Not a valid choice"),
    ],
)
def test_mail_with_bad_input_sends_nothing(
    client: FlaskClient, scene: Scene, data: dict[str, str], message: str
) -> None:
    login(client, scene.cast.staff)

    response = client.post(f"{_forum(scene)}/mail", data=data, headers=EN)

    assert response.status_code == 400
    assert message in text(response)
    assert outbox_kinds() == []


# --- CSV export ----------------------------------------------------------------------------------


def read_csv(response: TestResponse) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_has_a_bom_answers_and_times_on_the_events_clock(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)

    response = client.get(f"{_forum(scene)}/registrations.csv", headers=EN)

    assert response.mimetype == "text/csv"
    assert (
        f'filename="{scene.forum.slug}-registrations.csv"'
        in response.headers["Content-Disposition"]
    )
    header, *rows = read_csv(response)
    assert header == [
        "Name",
        "Name in kana",
        "Email",
        "Affiliation",
        "Home organization",
        "Memberships",
        "Ticket",
        "Price",
        "Currency",
        "Status",
        "Ticket code",
        "Registered at (Asia/Tokyo)",
        "Checked in at (Asia/Tokyo)",
        "Payment method",
        "Payment status",
        "Invoice number",
        "Research field",
        "Sessions",
    ]
    by_email = {row[2]: row for row in rows}
    assert set(by_email) == {
        "hanako.sato@biocom-member.org",
        "jane.doe@example.edu",
        "colleague@link-j.org",
        "sam.park@ucsd.example",
    }
    jane = by_email["jane.doe@example.edu"]
    assert jane[0] == "Jane Doe" and jane[3] == "UCSD Lab"
    assert jane[6] == "Partner Member" and jane[7:10] == ["0", "JPY", "Confirmed"]
    assert jane[10] == scene.confirmed.code
    tokyo = fresh(scene.confirmed).created_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert jane[11] == tokyo.isoformat(timespec="seconds")  # ISO 8601 with its +09:00 offset
    assert jane[13:16] == ["", "", ""]  # nothing paid for a free ticket
    assert jane[16:] == ["iPS cells", "Morning panel; Site tour"]
    # Prices are numbers a spreadsheet adds up, with their currency beside them.
    assert by_email["colleague@link-j.org"][7:9] == ["5000", "JPY"]
    assert by_email["colleague@link-j.org"][9] == "On the waitlist"


def test_csv_in_japanese_has_family_name_first_kana_and_japanese_answers(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)

    header, *rows = read_csv(client.get(f"{_forum(scene)}/registrations.csv", headers=JA))

    hanako = next(row for row in rows if row[2] == "hanako.sato@biocom-member.org")
    assert hanako[0] == "佐藤 花子" and hanako[1] == "サトウ ハナコ"
    assert header[16:] == ["研究分野", "参加セッション"]
    jane = next(row for row in rows if row[2] == "jane.doe@example.edu")
    assert jane[17] == "午前パネル; 施設見学"


def test_csv_cells_cannot_become_spreadsheet_formulas(client: FlaskClient, scene: Scene) -> None:
    registration = fresh(scene.confirmed)
    registration.answers = {str(scene.forum.questions[0].id): '=HYPERLINK("http://x")'}
    db.session.commit()
    login(client, scene.cast.staff)

    _header, *rows = read_csv(client.get(f"{_forum(scene)}/registrations.csv", headers=EN))

    jane = next(row for row in rows if row[2] == "jane.doe@example.edu")
    assert jane[16] == '\'=HYPERLINK("http://x")'


def test_csv_of_another_partners_admin_has_only_their_members(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.ucsd_admin)

    _header, *rows = read_csv(client.get(f"{_forum(scene)}/registrations.csv", headers=EN))

    assert [row[2] for row in rows] == ["sam.park@ucsd.example"]


def test_csv_of_2000_registrations_is_fast_and_needs_no_query_per_row(
    client: FlaskClient, scene: Scene
) -> None:
    now = utcnow()
    people = [
        {
            "email": f"bulk{n}@example.org",
            "email_normalized": f"bulk{n}@example.org",
            "family_name": "大量",
            "given_name": f"{n}",
            "family_name_kana": "タイリョウ",
            "given_name_kana": "",
            "romanized_name": "",
            "affiliation": "Bulk Pharma",
            "preferred_locale": "en",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(2000)
    ]
    db.session.execute(insert(Person), people)
    ids = db.session.scalars(select(Person.id).where(Person.email.like("bulk%"))).all()
    ticket_id = ticket(scene.forum, "non_member").id
    db.session.execute(
        insert(Registration),
        [
            {
                "event_id": scene.forum.id,
                "person_id": person_id,
                "ticket_type_id": ticket_id,
                "status": "cancelled",
                "price": 5000,
                "currency": "JPY",
                "price_reason": {"audience": "non_member"},
                "answers": {str(scene.forum.questions[0].id): "oncology"},
                "code": f"BULK{n:016d}",
                "created_at": now,
            }
            for n, person_id in enumerate(ids)
        ],
    )
    db.session.commit()
    login(client, scene.cast.staff)
    started = time.perf_counter()
    with recorded_statements() as statements:
        response = client.get(f"{_forum(scene)}/registrations.csv", headers=EN)
    elapsed = time.perf_counter() - started

    assert len(read_csv(response)) == 1 + 2004
    assert len(statements) < 15, statements
    assert elapsed < 5, f"{elapsed:.1f}s for 2,000 rows"


# --- check-in ------------------------------------------------------------------------------------


def test_check_in_by_typed_code(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)

    response = client.post(
        f"{_forum(scene)}/checkin", data={"code": f" {scene.confirmed.code.lower()} "}, headers=EN
    )

    assert response.status_code == 200
    html = text(response)
    assert "Checked in: Jane Doe." in html
    assert "UCSD Lab · Partner Member" in html
    assert 'value=""' in html  # the field is empty, ready for the next ticket
    registration = fresh(scene.confirmed)
    assert registration.status == "checked_in"
    assert registration.checked_in_by_id == scene.cast.staff.id
    assert audit_actions() == ["registration.check_in"]


def test_check_in_by_the_qr_codes_value(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.biocom_admin)

    response = client.post(
        f"{_forum(scene)}/checkin",
        data={"code": calendar.qr_payload(scene.confirmed.code)},
        headers=EN,
    )

    assert "Checked in: Jane Doe." in text(response)
    assert _status(scene.confirmed) == "checked_in"


def test_a_forged_code_is_refused_and_changes_nothing(client: FlaskClient, scene: Scene) -> None:
    other = add_event()
    elsewhere = add_registration(
        other, scene.cast.claimant, "confirmed", ticket_audience="linkj_member"
    )
    login(client, scene.cast.staff)

    for code in ("ABCDEFGHJKLMNPQRSTUV", "LINKJ-TICKET:ZZZZ", elsewhere.code):
        response = client.post(f"{_forum(scene)}/checkin", data={"code": code}, headers=EN)
        assert response.status_code == 400
        assert "No ticket of this event has this code." in text(response)
    assert _status(elsewhere) == "confirmed"
    assert audit_actions() == []


def test_checking_in_twice_says_when_the_first_check_in_happened(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)
    url = f"{_forum(scene)}/checkin"
    client.post(url, data={"code": scene.confirmed.code})
    first = fresh(scene.confirmed).checked_in_at
    response = client.post(url, data={"code": scene.confirmed.code}, headers=EN)

    assert response.status_code == 400
    when = local_moment(first, "Asia/Tokyo", "en")
    assert f"Already checked in at {when}." in text(response)
    assert fresh(scene.confirmed).checked_in_at == first
    assert audit_actions() == ["registration.check_in"]


def test_a_waitlisted_ticket_is_not_checked_in(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)

    response = client.post(
        f"{_forum(scene)}/checkin", data={"code": scene.waitlisted.code}, headers=EN
    )

    assert response.status_code == 400
    assert "This ticket is not confirmed" in text(response)
    assert _status(scene.waitlisted) == "waitlisted"


def test_a_refused_ticket_says_its_state_in_the_viewers_words(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)

    response = client.post(
        f"{_forum(scene)}/checkin", data={"code": scene.waitlisted.code}, headers=JSON
    )

    assert "waitlisted" not in response.json["message"]
    assert "On the waitlist" in response.json["message"]


def test_an_empty_code_is_asked_for_again(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)

    response = client.post(f"{_forum(scene)}/checkin", data={"code": ""}, headers=EN)

    assert response.status_code == 400
    assert "Type or scan a ticket code." in text(response)


def test_check_in_answers_json_to_the_pages_script(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)
    url = f"{_forum(scene)}/checkin"

    done = client.post(url, data={"code": scene.confirmed.code}, headers=JSON)
    again = client.post(url, data={"code": scene.confirmed.code}, headers=JSON)
    forged = client.post(url, data={"code": "NOPE"}, headers=JSON)

    assert done.status_code == 200 and done.mimetype == "application/json"
    assert done.json["ok"] is True and done.json["name"] == "Jane Doe"
    assert done.json["message"] == "Checked in: Jane Doe."
    assert done.json["counts"]["checked_in"] == 1
    assert again.status_code == 400 and again.json["ok"] is False
    assert again.json["message"].startswith("Already checked in at ")
    assert forged.json == {
        "ok": False,
        "message": "No ticket of this event has this code.",
        "name": "",
        "detail": "",
        "counts": queries.live_counts(fresh(scene.forum)),
    }


def test_check_in_needs_the_pages_security_token(
    client: FlaskClient, scene: Scene, csrf_enabled: None
) -> None:
    login(client, scene.cast.staff)

    response = client.post(f"{_forum(scene)}/checkin", data={"code": scene.confirmed.code})

    assert response.status_code == 400
    assert _status(scene.confirmed) == "confirmed"


def test_live_counts_as_json(client: FlaskClient, scene: Scene) -> None:
    login(client, scene.cast.staff)
    client.post(f"{_forum(scene)}/checkin", data={"code": scene.confirmed.code})

    counts = client.get(f"{_forum(scene)}/counts").json

    assert counts == {
        "registered": 1,
        "confirmed": 1,
        "awaiting_payment": 0,
        "waitlisted": 1,
        "pending_approval": 1,
        "checked_in": 1,
        "capacity": 2,
    }


def test_the_check_in_page_is_built_for_a_phone_at_the_door(
    client: FlaskClient, scene: Scene
) -> None:
    login(client, scene.cast.staff)

    html = text(client.get(f"{_forum(scene)}/checkin", headers=EN))

    field_tag = re.search(r'<input id="checkin-code"[^>]*>', html)
    assert field_tag and "autofocus" in field_tag.group(0)
    assert 'autocomplete="off"' in field_tag.group(0)
    assert '<label for="checkin-code">Ticket code</label>' in html
    # Static files go by content-hashed names (portal/assets.py).
    assert re.search(r'src="/static/js/checkin\.[0-9a-f]{12}\.js"', html)
    assert re.search(r'data-decoder-url="/static/js/vendor/jsQR\.[0-9a-f]{12}\.js"', html)
    assert f'data-counts-url="{_forum(scene)}/counts"' in html
    assert 'role="status"' in html


@pytest.mark.parametrize("page", ["/edit", "/registrations", "/checkin"])
def test_the_pages_speak_japanese(client: FlaskClient, scene: Scene, page: str) -> None:
    login(client, scene.cast.staff)

    response = client.get(f"{_forum(scene)}{page}", headers=JA)

    assert response.status_code == 200
    assert '<html lang="ja">' in text(response)
    assert "再生医療産業化フォーラム" in text(response)  # the event's Japanese title


@pytest.mark.parametrize("page", ["/edit", "/registrations", "/checkin"])
def test_new_pages_keep_to_the_content_security_policy(
    client: FlaskClient, scene: Scene, page: str
) -> None:
    login(client, scene.cast.staff)

    html = text(client.get(f"{_forum(scene)}{page}", headers=EN))

    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"
    assert not re.search(r"<[^>]+\son[a-z]+=", html), "inline event handler"
    assert html.count("<h1") == 1


def test_the_vendored_decoder_and_script_are_served(client: FlaskClient) -> None:
    decoder = client.get("/static/js/vendor/jsQR.js")
    script = client.get("/static/js/checkin.js")

    assert decoder.status_code == 200 and b"Apache License" in decoder.get_data()[:600]
    assert script.status_code == 200 and b"BarcodeDetector" in script.get_data()
    decoder.close()
    script.close()

"""Each key page answers in a small number of SQL statements, whatever the amount of data.

For every page: one request with 10 rows of the data it lists, one with 1,000 rows, the
statements counted with an ``after_cursor_execute`` listener (Indico's ``count_queries``).
The counts must be equal and small. A count that grows with the data is an N+1: a query
run once per row shown. Rows are bulk-inserted, so the 1,000-row case stays fast.

The page cache is off here: these are the statements of rendering a page. What a page costs
when it comes from the cache is counted in ``tests/test_pagecache.py``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select, update

from portal import versions
from portal.accounts.models import Membership, Person, Role
from portal.benefits.models import BenefitClaim
from portal.db import utcnow
from portal.events.models import Event, Registration, TicketType, event_agreement, event_cohost
from portal.extensions import db
from portal.organizations.models import Agreement, ReciprocalService
from portal.payments.models import Invoice, Payment
from tests.factories import (
    add_event,
    add_member,
    add_membership,
    add_person,
    add_role,
    member_of,
    org,
    recorded_statements,
    ticket,
)
from tests.roles import login

pytestmark = pytest.mark.usefixtures("no_page_cache")

#: No page needs more statements than this, at any size.
LIMIT = 15
SIZES = (10, 1_000)
TOKYO = ZoneInfo("Asia/Tokyo")

_numbers = itertools.count(1)


# --- counting ---------------------------------------------------------------------------------


def statements_for(client: FlaskClient, path: str) -> list[str]:
    """The statements of one GET of ``path`` (after a first GET, so no cache is cold)."""
    assert client.get(path).status_code == 200
    with recorded_statements() as statements:
        response = client.get(path)
    assert response.status_code == 200, f"{path} answered {response.status_code}"
    return statements


def _first_line(statement: str) -> str:
    return " ".join(statement.split())[:160]


def assert_constant(page: str, by_size: dict[int, list[str]]) -> None:
    """Equal counts at every size, and at most LIMIT; else name the statements that grew."""
    small, large = (by_size[size] for size in SIZES)
    grown = Counter(map(_first_line, large)) - Counter(map(_first_line, small))
    repeated = "\n".join(f"  +{n}× {text}" for text, n in grown.most_common(5))
    assert len(small) == len(large), (
        f"{page}: {len(small)} statements with {SIZES[0]} rows, {len(large)} with {SIZES[1]}; "
        f"repeated per row:\n{repeated}"
    )
    assert len(large) <= LIMIT, f"{page}: {len(large)} statements (limit {LIMIT})"


def measure(
    client: FlaskClient, path: str | Callable[[], str], grow_to: Callable[[int], None]
) -> dict[int, list[str]]:
    by_size = {}
    for size in SIZES:
        grow_to(size)
        by_size[size] = statements_for(client, path() if callable(path) else path)
    return by_size


# --- data, in bulk ----------------------------------------------------------------------------


def bulk_people(count: int) -> list[int]:
    """``count`` confirmed people, inserted in one statement; their ids in order."""
    now = utcnow()
    rows = []
    for _ in range(count):
        n = next(_numbers)
        rows.append(
            {
                "email": f"bulk{n}@example.org",
                "email_normalized": f"bulk{n}@example.org",
                "email_confirmed_at": now,
                "family_name": "佐藤",
                "given_name": f"花子{n}",
                "family_name_kana": "サトウ",
                "given_name_kana": "ハナコ",
                "affiliation": "Nihonbashi Therapeutics",
                "preferred_locale": "en",
            }
        )
    ids = db.session.scalars(
        insert(Person).returning(Person.id, sort_by_parameter_order=True), rows
    ).all()
    db.session.commit()
    return list(ids)


def bulk_registrations(event_: Event, count: int, *, audience: str = "non_member") -> list[int]:
    chosen = ticket(event_, audience)
    rows = [
        {
            "event_id": event_.id,
            "person_id": person_id,
            "ticket_type_id": chosen.id,
            "status": "confirmed" if n % 7 else "waitlisted",
            "price": chosen.price,
            "currency": chosen.currency,
            "price_reason": {"audience": audience},
            "answers": {str(q.id): "Vegetarian" for q in event_.questions},
            "code": f"BULK{next(_numbers):016d}",
            "confirmed_at": utcnow(),
        }
        for n, person_id in enumerate(bulk_people(count))
    ]
    ids = db.session.scalars(
        insert(Registration).returning(Registration.id, sort_by_parameter_order=True), rows
    ).all()
    db.session.commit()
    return list(ids)


class Growing:
    """Adds rows up to a total: ``grow_to(10)`` then ``grow_to(1000)`` adds 990 more."""

    def __init__(self, add: Callable[[int], Any]) -> None:
        self.add = add
        self.total = 0

    def __call__(self, size: int) -> None:
        self.add(size - self.total)
        self.total = size


def popular_event() -> Event:
    """A LINK-J forum co-hosted by BIOCOM under their MOU, with questions and a program."""
    return add_event(
        cohosts=("biocom",),
        agreements=("link-j-biocom-2016",),
        capacity=5_000,
        tickets=(
            {"audience": "linkj_member", "price": 0},
            {"audience": "partner_member", "price": 5000, "tax_rate": 10},
            {"audience": "non_member", "price": 15000, "tax_rate": 10},
        ),
        questions=(
            {"kind": "text", "label_en": "Dietary requirements"},
            {
                "kind": "single",
                "label_en": "How did you hear of it?",
                "options": [{"value": "web", "label_en": "Web"}, {"value": "mail"}],
            },
        ),
    )


# --- the pages --------------------------------------------------------------------------------


def test_event_list_for_anonymous_visitors(client: FlaskClient, network: None) -> None:
    agreement = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-ucsd-2016"))
    assert agreement is not None

    def add_events(count: int) -> None:
        starts = utcnow() + timedelta(days=10)
        rows = [
            {
                "slug": f"bulk-event-{next(_numbers)}",
                "title_en": "Digital Health Seminar",
                "host_id": org("link-j" if n % 2 else "ucsd").id,
                "status": "published",
                "visibility": "public",
                "starts_at": starts + timedelta(hours=n),
                "ends_at": starts + timedelta(hours=n + 2),
                # Bulk inserts skip the model's before_insert hook that sets it.
                "starts_on_local": (starts + timedelta(hours=n)).astimezone(TOKYO).date(),
                "capacity": 50,
            }
            for n in range(count)
        ]
        ids = db.session.scalars(
            insert(Event).returning(Event.id, sort_by_parameter_order=True), rows
        ).all()
        db.session.execute(
            insert(TicketType),
            [
                {"event_id": i, "audience": audience, "name_en": audience, "price": price}
                for i in ids
                for audience, price in (("linkj_member", 0), ("non_member", 5000))
            ],
        )
        biocom = org("biocom").id
        db.session.execute(
            insert(event_cohost), [{"event_id": i, "organization_id": biocom} for i in ids]
        )
        db.session.execute(
            insert(event_agreement), [{"event_id": i, "agreement_id": agreement.id} for i in ids]
        )
        db.session.commit()
        for event_id in ids[:3]:
            bulk_registrations(db.session.get(Event, event_id), 2)  # type: ignore[arg-type]

    assert_constant("event list", measure(client, "/events/", Growing(add_events)))


def test_event_page_for_a_verified_partner_member(client: FlaskClient, network: None) -> None:
    forum = popular_event()
    login(client, member_of("biocom"))
    by_size = measure(
        client, f"/events/{forum.slug}", Growing(lambda n: bulk_registrations(forum, n))
    )
    assert_constant("event page (partner member)", by_size)


def test_member_dashboard(client: FlaskClient, network: None) -> None:
    """A long-standing member: every year's expired membership stays in their history, and
    every benefit they ever claimed (the dashboard shows the latest few)."""
    member = member_of("biocom")
    add_membership(member, "link-j", status="verified", valid_until=date.today() + timedelta(300))
    login(client, member)
    services = db.session.scalars(
        select(ReciprocalService.id).where(ReciprocalService.beneficiary_id == org("biocom").id)
    ).all()
    assert services

    places = itertools.count(1)

    def add_history(count: int) -> None:
        db.session.execute(
            insert(Membership),
            [
                {
                    "person_id": member.id,
                    "organization_id": org(("ucsd", "krp", "ibri")[n % 3]).id,
                    "status": "expired",
                    "valid_until": date.today() - timedelta(days=365 + n),
                }
                for n in range(count)
            ],
        )
        db.session.execute(
            insert(BenefitClaim),
            [
                {
                    "service_id": services[n % len(services)],
                    "person_id": member.id,
                    "status": "fulfilled",
                    "decided_at": utcnow(),
                    "fulfilled_at": utcnow(),
                    # Each its own place of the member's allowance (one live claim per place).
                    "period": "ever",
                    "slot": next(places),
                }
                for n in range(count)
            ],
        )
        db.session.commit()

    # Issue 19: the dashboard is one of the three busiest pages (the session's person and
    # row, the registrations, the dues standing, the claims).
    assert_busy_page("member dashboard", measure(client, "/account", Growing(add_history)))


#: The dashboard's sections (payments due, LINK-J membership, upcoming events, claims decided
#: since the last visit) with news to show, whatever their number: the sign-in session, the
#: person and the steps, each section's one or two statements, and recording the visit.
DASHBOARD_LIMIT = 12


def test_member_dashboard_with_payments_due_events_and_news(
    client: FlaskClient, network: None
) -> None:
    """Many seats held for payment (some invoiced), many upcoming registrations, and many
    claims decided since the last visit: the dashboard lists what needs the member in a
    constant number of statements, the visit's record included."""
    member = member_of("link-j")
    login(client, member)
    services = db.session.scalars(
        select(ReciprocalService.id).where(ReciprocalService.beneficiary_id == org("link-j").id)
    ).all()
    places = itertools.count(1)

    def add_work(count: int) -> None:
        starts = utcnow() + timedelta(days=20)
        events = db.session.scalars(
            insert(Event).returning(Event.id, sort_by_parameter_order=True),
            [
                {
                    "slug": f"due-event-{next(_numbers)}",
                    "title_en": "Paid seminar",
                    "host_id": org("link-j").id,
                    "status": "published",
                    "visibility": "public",
                    "starts_at": starts + timedelta(hours=n),
                    "ends_at": starts + timedelta(hours=n + 2),
                    "starts_on_local": starts.astimezone(TOKYO).date(),
                    "capacity": 50,
                }
                for n in range(count)
            ],
        ).all()
        tickets = db.session.scalars(
            insert(TicketType).returning(TicketType.id, sort_by_parameter_order=True),
            [
                {"event_id": i, "audience": "linkj_member", "name_en": "Member", "price": 3000}
                for i in events
            ],
        ).all()
        registrations = db.session.scalars(
            insert(Registration).returning(Registration.id, sort_by_parameter_order=True),
            [
                {
                    "event_id": event_id,
                    "person_id": member.id,
                    "ticket_type_id": ticket_id,
                    "status": "awaiting_payment",
                    "price": 3000,
                    "currency": "JPY",
                    "price_reason": {"audience": "linkj_member"},
                    "code": f"DUE{next(_numbers):017d}",
                    "hold_expires_at": utcnow() + timedelta(minutes=30),
                }
                for event_id, ticket_id in zip(events, tickets, strict=True)
            ],
        ).all()
        payments = db.session.scalars(
            insert(Payment).returning(Payment.id, sort_by_parameter_order=True),
            [
                {
                    "registration_id": r,
                    "person_id": member.id,
                    "method": "invoice",
                    "amount": 3000,
                    "currency": "JPY",
                    "status": "pending",
                }
                for r in registrations[::2]
            ],
        ).all()
        db.session.execute(
            insert(Invoice),
            [
                {
                    "payment_id": payment_id,
                    "number": f"LJ-2026-{next(_numbers):06d}",
                    "issued_on": date.today(),
                    "due_on": date.today() + timedelta(days=14),
                    "issuer_name": "LINK-J",
                    "issuer_registration_number": "T0000000000000",
                    "recipient_company": "Nihonbashi Pharma",
                    "currency": "JPY",
                    "total": 3000,
                }
                for payment_id in payments
            ],
        )
        db.session.execute(
            insert(BenefitClaim),
            [
                {
                    "service_id": services[n % len(services)],
                    "person_id": member.id,
                    "status": "rejected",
                    "decided_at": utcnow(),
                    "decided_by_id": member.id,
                    "decision_note": "Not this year",
                    "period": "ever",
                    "slot": next(places),
                }
                for n in range(count)
            ],
        )
        db.session.commit()

    grow = Growing(add_work)
    by_size = {}
    for size in SIZES:
        grow(size)
        assert client.get("/account").status_code == 200  # warm; records the visit
        db.session.execute(
            update(Person).where(Person.id == member.id).values(dashboard_seen_at=None)
        )
        db.session.commit()
        with recorded_statements() as statements:
            html = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Payments due" in html and "Claims decided since your last visit" in html
        by_size[size] = statements
    assert_constant("member dashboard with what needs them", by_size)
    largest = by_size[SIZES[-1]]
    assert len(largest) <= DASHBOARD_LIMIT, "\n".join(s[:160] for s in largest)


def test_partner_admin_verification_queue(client: FlaskClient, network: None) -> None:
    admin = add_role(add_person("admin@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    login(client, admin)

    def add_claims(count: int) -> None:
        db.session.execute(
            insert(Membership),
            [
                {
                    "person_id": person_id,
                    "organization_id": org("biocom").id,
                    "member_number": f"B-{person_id}",
                    "status": "pending",
                }
                for person_id in bulk_people(count)
            ],
        )
        db.session.commit()

    by_size = measure(client, "/admin/organizations/biocom/memberships", Growing(add_claims))
    assert_constant("verification queue", by_size)


@pytest.fixture
def staff(network: None) -> Person:
    return add_role(add_person("events@link-j.org"), Role.STAFF)


def test_staff_registrations_list(client: FlaskClient, staff: Person) -> None:
    forum = popular_event()
    login(client, staff)
    by_size = measure(
        client,
        f"/admin/events/{forum.slug}/registrations",
        Growing(lambda n: bulk_registrations(forum, n)),
    )
    assert_constant("staff registrations list", by_size)


def test_registrations_csv_export(client: FlaskClient, staff: Person) -> None:
    forum = popular_event()
    login(client, staff)
    by_size = measure(
        client,
        f"/admin/events/{forum.slug}/registrations.csv",
        Growing(lambda n: bulk_registrations(forum, n)),
    )
    assert_constant("registrations CSV", by_size)


def test_staff_payments_list(client: FlaskClient, staff: Person) -> None:
    forum = popular_event()
    login(client, staff)

    def add_payments(count: int) -> None:
        registrations = bulk_registrations(forum, count)
        people = dict(
            db.session.execute(
                select(Registration.id, Registration.person_id).where(
                    Registration.id.in_(registrations)
                )
            ).all()
        )
        ids = db.session.scalars(
            insert(Payment).returning(Payment.id, sort_by_parameter_order=True),
            [
                {
                    "registration_id": registration_id,
                    "person_id": people[registration_id],
                    "method": "invoice" if n % 5 == 0 else "card",
                    "status": "paid",
                    "amount": 15000,
                    "currency": "JPY",
                    "refunded_amount": 5000 if n % 9 == 0 else 0,
                    "paid_at": utcnow(),
                }
                for n, registration_id in enumerate(registrations)
            ],
        ).all()
        db.session.execute(
            insert(Invoice),
            [
                {
                    "payment_id": payment_id,
                    "number": f"LJ-BULK-{payment_id:06d}",
                    "issued_on": date.today(),
                    "due_on": date.today() + timedelta(days=14),
                    "issuer_name": "LINK-J",
                    "issuer_registration_number": "T0000000000000",
                    "recipient_company": "日本橋製薬株式会社",
                    "currency": "JPY",
                    "total": 15000,
                }
                for n, payment_id in enumerate(ids)
                if n % 5 == 0
            ],
        )
        db.session.commit()

    assert_constant("payments list", measure(client, "/admin/payments", Growing(add_payments)))


def test_partner_admin_claims_queue(client: FlaskClient, network: None) -> None:
    """BIOCOM's admin decides the claims on the services BIOCOM provides."""
    admin = add_role(add_person("claims@biocom.org"), Role.PARTNER_ADMIN, org("biocom"))
    login(client, admin)
    services = db.session.scalars(
        select(ReciprocalService.id).where(ReciprocalService.provider_id == org("biocom").id)
    ).all()
    assert services

    def add_claims(count: int) -> None:
        db.session.execute(
            insert(BenefitClaim),
            [
                {
                    "service_id": services[n % len(services)],
                    "person_id": person_id,
                    "period": "ever",
                }
                for n, person_id in enumerate(bulk_people(count))
            ],
        )
        db.session.commit()

    assert_constant("claims queue", measure(client, "/admin/claims", Growing(add_claims)))


# --- the busiest pages, rendered afresh, in at most four statements ----------------------------

#: Issue 19: the event page and the event list, signed in or not, and the member's dashboard,
#: without any cache.
BUSY_PAGE_LIMIT = 4


def add_listed_events(count: int) -> None:
    """``count`` public events with a co-host, an MOU and two ticket types (bulk)."""
    agreement = db.session.scalar(select(Agreement).where(Agreement.slug == "link-j-biocom-2016"))
    assert agreement is not None
    starts = utcnow() + timedelta(days=10)
    ids = db.session.scalars(
        insert(Event).returning(Event.id, sort_by_parameter_order=True),
        [
            {
                "slug": f"listed-{next(_numbers)}",
                "title_en": "Digital Health Seminar",
                "host_id": org("link-j").id,
                "status": "published",
                "visibility": "public",
                "starts_at": starts + timedelta(hours=n),
                "ends_at": starts + timedelta(hours=n + 2),
                "starts_on_local": (starts + timedelta(hours=n)).astimezone(TOKYO).date(),
                "capacity": 50,
            }
            for n in range(count)
        ],
    ).all()
    db.session.execute(
        insert(TicketType),
        [{"event_id": i, "audience": "non_member", "name_en": "General"} for i in ids],
    )
    db.session.execute(
        insert(event_cohost), [{"event_id": i, "organization_id": org("biocom").id} for i in ids]
    )
    db.session.execute(
        insert(event_agreement), [{"event_id": i, "agreement_id": agreement.id} for i in ids]
    )
    db.session.commit()


def assert_busy_page(page: str, by_size: dict[int, list[str]]) -> None:
    assert_constant(page, by_size)
    statements = by_size[SIZES[-1]]
    assert len(statements) <= BUSY_PAGE_LIMIT, (
        f"{page}: {len(statements)} statements (at most {BUSY_PAGE_LIMIT}):\n"
        + "\n".join(f"  {_first_line(s)}" for s in statements)
    )


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "partner member"])
def test_event_page_in_four_statements(client: FlaskClient, network: None, signed_in: bool) -> None:
    """The viewer, the event with everything it is defined by, and its seats with the
    viewer's own registration: no MOU looked up again for the price's description."""
    forum = popular_event()
    if signed_in:
        login(client, member_of("biocom"))
    by_size = measure(
        client, f"/events/{forum.slug}", Growing(lambda n: bulk_registrations(forum, n))
    )
    assert_busy_page(f"event page ({'signed in' if signed_in else 'anonymous'})", by_size)
    page = client.get(f"/events/{forum.slug}").text
    if signed_in:
        assert "Partner-member rate under the LINK-J–BIOCOM MOU" in page
    assert f"{5_000 - _held(forum.id):,d} of 5000 seats left".replace(",", "") in page


def _held(event_id: int) -> int:
    return db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == event_id, Registration.status == "confirmed"
        )
    )


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "partner member"])
def test_event_list_in_four_statements(client: FlaskClient, network: None, signed_in: bool) -> None:
    """Cards, organizers, seats held and the total in one statement, whatever the number of
    events and registrations."""
    if signed_in:
        login(client, member_of("biocom"))

    def grow(count: int) -> None:
        add_listed_events(count)
        first = db.session.scalar(select(Event).where(Event.slug.like("listed-%")))
        assert first is not None
        bulk_registrations(first, 3)

    by_size = measure(client, "/events/", Growing(grow))
    assert_busy_page(f"event list ({'signed in' if signed_in else 'anonymous'})", by_size)
    page = client.get("/events/").text
    assert "co-hosted by BIOCOM" in page
    first = db.session.scalar(select(Event.id).where(Event.slug.like("listed-%")))
    assert f"{50 - _held(first)} of 50 seats left" in page
    assert "1000 upcoming events" in page


def test_pressing_register_in_four_statements(
    app: Flask, client: FlaskClient, network: None
) -> None:
    """Issue 19: the viewer with their session record, the event's lock, the registration
    counted and written in one statement, and its queued mail (on PostgreSQL queued by the
    registration's own statement: three statements); the
    event's definition and who listens to webhooks are remembered between requests, as in
    production (this module turns the store off: it is put back here, and taken away again
    after the test). An event with organizers abroad adds the look-up of the registrant's
    consent (rule 11)."""
    app.extensions["versions"] = versions.MemoryStore()
    forum = add_event(
        capacity=5_000,
        tickets=({"audience": "linkj_member", "price": 0},),
        questions=(
            {"kind": "text", "label_en": "Dietary requirements"},
            {
                "kind": "single",
                "label_en": "How did you hear of it?",
                "options": [{"value": "web", "label_en": "Web"}, {"value": "mail"}],
            },
        ),
    )
    path = f"/events/{forum.slug}/register"
    form = {
        "ticket_type": str(ticket(forum, "linkj_member").id),
        **{f"q_{q.id}": "web" if q.options else "No requirements" for q in forum.questions},
    }
    grow = Growing(lambda n: bulk_registrations(forum, n, audience="linkj_member"))
    by_size: dict[int, list[str]] = {}
    for size in SIZES:
        grow(size)
        # The first press after a change may read what the next finds remembered.
        for _press in range(2):
            member, _membership = add_member("link-j")
            login(client, member)
            with recorded_statements() as statements:
                answer = client.post(path, data=form)
            assert answer.status_code == 302, answer.text
            assert "/events/tickets/" in answer.headers["Location"]
            by_size[size] = statements
    assert_busy_page("pressing Register", by_size)
    if db.engine.dialect.name == "postgresql":
        assert len(by_size[SIZES[-1]]) == 3, by_size[SIZES[-1]]

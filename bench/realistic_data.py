"""The database ``bench.realistic`` loads: the demo network, N members, events of every kind.

Built through the portal itself (migrations, ``seed_network``, the demo data, ``save_event``
and ``publish_event`` for the events), with the people and their memberships bulk-inserted in
a few statements, so it works on SQLite and PostgreSQL alike and 2,000 members take seconds.
Filling again is safe: what exists is kept, and only the opening-day event is emptied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import delete, func, insert, select

PASSWORD = "realistic-Nihonbashi-2026"  # noqa: S105 - a benchmark database's, printed
DOMAIN = "realistic.example"
MEMBER_EMAIL = "member-{:05d}@" + DOMAIN
OPENING_SLUG = "realistic-opening-day"
OPENING_SEATS = 100
EVENTS = 40
#: Where members' verified memberships are: LINK-J and each partner.
HOMES = {
    "link-j": 0.50,
    "biocom": 0.12,
    "ucsd": 0.10,
    "eurobiomed": 0.07,
    "krp": 0.09,
    "one-nucleus": 0.06,
    "ibri": 0.06,
}
VISIBILITIES = (("public", 0.6), ("network", 0.25), ("linkj", 0.15))
KINDS = ("seminar", "forum", "symposium", "workshop", "networking")


@dataclass
class Workload:
    """What the client needs: who can sign in, which events there are, the opening event."""

    #: (address, slug of the organization they are a verified member of)
    members: list[tuple[str, str]]
    #: (slug, visibility, slugs of the partners of its MOUs) of every published event
    events: list[tuple[str, str, frozenset[str]]]
    opening_slug: str
    opening_event_id: int


def build(app: Flask, members: int, *, seed: int = 19) -> Workload:
    """Migrate, seed, add the demo data, the members and the events; empty the opening event."""
    from flask_migrate import upgrade

    from portal.demo import load_demo_data
    from portal.extensions import db
    from portal.organizations.services import seed_network

    with app.app_context():
        upgrade()
        seed_network()
        load_demo_data()
        _fill_members(members, random.Random(seed))
        _fill_events(random.Random(seed + 1))
        opening = _opening_event()
        _empty(opening)
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does to a database in use: the planner's row estimates.
            db.session.commit()
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE"
                )
        workload = Workload(
            members=_members(members),
            events=_events(),
            opening_slug=OPENING_SLUG,
            opening_event_id=opening.id,
        )
        db.session.remove()
        db.engine.dispose()
    return workload


def _members(count: int) -> list[tuple[str, str]]:
    from portal.accounts.models import Membership, Person
    from portal.extensions import db
    from portal.organizations.models import Organization

    emails = [MEMBER_EMAIL.format(n) for n in range(1, count + 1)]
    homes = dict(
        db.session.execute(
            select(Person.email, Organization.slug)
            .join(Membership, Membership.person_id == Person.id)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Person.email.in_(emails))
        ).all()
    )
    return [(email, homes[email]) for email in emails]


def _events() -> list[tuple[str, str, frozenset[str]]]:
    from portal.events.models import Event, event_agreement
    from portal.extensions import db
    from portal.organizations.models import Agreement, Organization

    partners: dict[str, set[str]] = {}
    for slug, partner in db.session.execute(
        select(Event.slug, Organization.slug)
        .join(event_agreement, event_agreement.c.event_id == Event.id)
        .join(Agreement, Agreement.id == event_agreement.c.agreement_id)
        .join(Organization, Organization.id == Agreement.partner_id)
    ):
        partners.setdefault(slug, set()).add(partner)
    return [
        (slug, visibility, frozenset(partners.get(slug, ())))
        for slug, visibility in db.session.execute(
            select(Event.slug, Event.visibility)
            .where(Event.status == "published", Event.slug != OPENING_SLUG)
            .order_by(Event.id)
        )
    ]


def may_see(home: str | None, visibility: str, partners: frozenset[str]) -> bool:
    """Rule 3's visibility as the workload's people meet it (their one verified membership)."""
    if visibility == "public":
        return True
    if visibility == "linkj":
        return home == "link-j"
    return home == "link-j" or home in partners


def _fill_members(count: int, rng: random.Random) -> None:
    from portal.accounts.models import Membership, Person
    from portal.accounts.passwords import hash_password
    from portal.db import utcnow
    from portal.extensions import db
    from portal.organizations.models import Organization

    have = db.session.scalar(
        select(func.count()).select_from(Person).where(Person.email.like(f"%@{DOMAIN}"))
    )
    if have >= count:
        return
    organizations = dict(db.session.execute(select(Organization.slug, Organization.id)).all())
    password_hash = hash_password(PASSWORD)  # one Argon2id hash for all: filling stays fast
    now = utcnow()
    homes, weights = zip(*HOMES.items(), strict=True)
    for first in range(have + 1, count + 1, 1000):
        numbers = range(first, min(count, first + 999) + 1)
        people = [
            {
                "email": MEMBER_EMAIL.format(n),
                "email_normalized": MEMBER_EMAIL.format(n),
                "email_confirmed_at": now,
                "password_hash": password_hash,
                "family_name": rng.choice(("佐藤", "鈴木", "Smith", "Garcia", "Dubois")),
                "given_name": f"Member {n}",
                "affiliation": "Nihonbashi Therapeutics",
                "preferred_locale": "ja" if n % 2 else "en",
            }
            for n in numbers
        ]
        ids = db.session.scalars(
            insert(Person).returning(Person.id, sort_by_parameter_order=True), people
        ).all()
        db.session.execute(
            insert(Membership),
            [
                {
                    "person_id": person_id,
                    "organization_id": organizations[rng.choices(homes, weights)[0]],
                    "member_number": f"RW-{person_id}",
                    "status": "verified",
                    "verified_via": "manual",
                    "decided_at": now,
                }
                for person_id in ids
            ],
        )
        db.session.commit()


def _actor():  # noqa: ANN202 - a Person
    from portal.accounts.services import find_person_by_email

    return find_person_by_email("staff@link-j.example")


def _fill_events(rng: random.Random) -> None:
    from portal.events.models import Event
    from portal.events.setup import EventData, TicketTypeData, publish_event, save_event
    from portal.extensions import db
    from portal.organizations.models import Agreement, Organization

    have = db.session.scalar(
        select(func.count()).select_from(Event).where(Event.slug.like("realistic-%"))
    )
    if have >= EVENTS + 1:
        return
    hub = db.session.scalar(select(Organization).where(Organization.slug == "link-j"))
    agreements = db.session.scalars(select(Agreement).order_by(Agreement.id)).all()
    actor = _actor()
    tokyo = ZoneInfo("Asia/Tokyo")
    for number in range(1, EVENTS + 1):
        slug = f"realistic-{number:03d}"
        if db.session.scalar(select(Event.id).where(Event.slug == slug)) is not None:
            continue
        agreement = rng.choice(agreements)
        day = datetime.now(tokyo).date() + timedelta(days=3 + number * 2)
        starts = datetime.combine(day, time(14, 0), tzinfo=tokyo).astimezone(UTC)
        visibility = rng.choices(*zip(*VISIBILITIES, strict=True))[0]
        data = EventData(
            slug=slug,
            kind=rng.choice(KINDS),
            title_en=f"Joint programme {number}: {agreement.partner.short_name} and LINK-J",
            title_ja=f"合同プログラム{number}：{agreement.partner.short_name}とLINK-J",
            host_id=hub.id,
            cohost_ids=[agreement.partner_id],
            agreement_ids=[agreement.id],
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            description_en="Talks, a panel and a networking reception. " * 8,
            description_ja="講演、パネル討論、交流会。" * 8,
            venue_en="Nihonbashi Life Science Building, Tokyo",
            venue_ja="日本橋ライフサイエンスビルディング（東京）",
            capacity=rng.choice((60, 100, 200, 400)),
            visibility=visibility,
            ticket_types=[
                TicketTypeData("linkj_member", "LINK-J member", "LINK-J会員", 0, "JPY"),
                TicketTypeData(
                    "partner_member",
                    f"{agreement.partner.short_name} member",
                    f"{agreement.partner.short_name}会員",
                    0,
                    "JPY",
                    agreement_id=agreement.id,
                ),
                TicketTypeData("non_member", "General", "一般", 0, "JPY"),
            ],
        )
        publish_event(save_event(None, data, actor=actor), actor=actor)


def _opening_event():  # noqa: ANN202 - an Event
    """One free, public, 100-seat event that everyone may register for."""
    from portal.events.models import Event
    from portal.events.setup import EventData, TicketTypeData, publish_event, save_event
    from portal.extensions import db
    from portal.organizations.models import Organization

    event = db.session.scalar(select(Event).where(Event.slug == OPENING_SLUG))
    if event is not None:
        return event
    hub = db.session.scalar(select(Organization).where(Organization.slug == "link-j"))
    starts = datetime.now(UTC) + timedelta(days=30)
    actor = _actor()
    event = save_event(
        None,
        EventData(
            slug=OPENING_SLUG,
            kind="forum",
            title_en="Opening-day forum",
            title_ja="オープニング・フォーラム",
            host_id=hub.id,
            starts_at=starts,
            ends_at=starts + timedelta(hours=4),
            capacity=OPENING_SEATS,
            visibility="public",
            ticket_types=[
                TicketTypeData(audience, name_en, name_ja, 0, "JPY")
                for audience, name_en, name_ja in (
                    ("linkj_member", "LINK-J member", "LINK-J会員"),
                    ("partner_member", "Partner member", "提携先会員"),
                    ("non_member", "General", "一般"),
                )
            ],
        ),
        actor=actor,
    )
    publish_event(event, actor=actor)
    return event


def _empty(event) -> None:  # noqa: ANN001 - an Event
    """Every run starts from 100 free seats: its registrations and their mail go."""
    from portal.events.models import Registration
    from portal.extensions import db
    from portal.notifications.models import OutboxMessage

    registrations = select(Registration.id).where(Registration.event_id == event.id)
    people = select(Registration.person_id).where(Registration.event_id == event.id)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.person_id.in_(people)))
    db.session.execute(delete(Registration).where(Registration.id.in_(registrations)))
    db.session.commit()


def signed_in_client(app: Flask, person: Any, *, base_url: str = "http://localhost") -> Any:
    """A test client of ``app`` whose session cookie names a session record of its own for
    ``person``, as the sign-in page opens one (rule 15), without the page's password hash.
    Call it in a request context of ``app``."""
    from portal.accounts.sessions import sign_in

    opened = sign_in(person, remember=False)
    client = app.test_client()
    with client.session_transaction(base_url=base_url) as session:
        session["_user_id"] = opened.person.get_id()
        session["_fresh"] = True
    return client


def empty_opening_event(app: Flask, event_id: int) -> None:
    from portal.events.models import Event
    from portal.extensions import db

    with app.app_context():
        event = db.session.get(Event, event_id)
        _empty(event)
        db.session.remove()


def seat_statuses(app: Flask, event_id: int) -> dict[str, int]:
    """The opening event's registrations by state, as the database holds them."""
    from portal.events.models import Registration
    from portal.extensions import db

    with app.app_context():
        found = dict(
            db.session.execute(
                select(Registration.status, func.count())
                .where(Registration.event_id == event_id)
                .group_by(Registration.status)
            ).all()
        )
        duplicates = db.session.scalar(
            select(func.count() - func.count(func.distinct(Registration.person_id))).where(
                Registration.event_id == event_id
            )
        )
        db.session.remove()
    found["duplicate people"] = int(duplicates or 0)
    return found

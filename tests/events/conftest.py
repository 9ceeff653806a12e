"""Factories for events: a published event with ticket types, and people to register."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.accounts.models import Person, Role
from portal.db import utcnow
from portal.events.models import (
    Audience,
    Event,
    EventStatus,
    Question,
    Registration,
    TicketType,
    Visibility,
)
from portal.extensions import db
from portal.organizations.models import Agreement
from tests.accounts.conftest import add_membership, add_person, add_role, org

# The management pages' tests play the admin pages' cast (staff, partner admins, members).
from tests.admin.conftest import cast  # noqa: F401

_slugs = itertools.count(1)


def add_event(
    *,
    host: str = "link-j",
    cohosts: tuple[str, ...] = (),
    agreements: tuple[str, ...] = (),
    capacity: int = 10,
    starts_in: timedelta = timedelta(days=30),
    visibility: str = Visibility.PUBLIC.value,
    requires_approval: bool = False,
    status: str = EventStatus.PUBLISHED.value,
    tickets: tuple[dict[str, Any], ...] | None = None,
    questions: tuple[dict[str, Any], ...] = (),
    timezone: str = "Asia/Tokyo",
    **fields: Any,
) -> Event:
    starts = utcnow().replace(microsecond=0) + starts_in
    event = Event(
        slug=f"event-{next(_slugs)}",
        title_en="Regenerative Medicine Industrialisation Forum",
        title_ja="再生医療産業化フォーラム",
        host=org(host),
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        capacity=capacity,
        visibility=visibility,
        requires_approval=requires_approval,
        status=status,
        timezone=timezone,
        venue_en="Nihonbashi Life Science Hub",
        venue_ja="日本橋ライフサイエンスハブ",
        **fields,
    )
    event.cohosts = [org(slug) for slug in cohosts]
    event.agreements = [
        db.session.scalar(select(Agreement).where(Agreement.slug == slug)) for slug in agreements
    ]
    for position, ticket in enumerate(
        tickets
        or (
            {"audience": Audience.LINKJ_MEMBER.value, "price": 0},
            {"audience": Audience.PARTNER_MEMBER.value, "price": 0},
            {"audience": Audience.NON_MEMBER.value, "price": 5000},
        )
    ):
        event.ticket_types.append(
            TicketType(
                name_en=ticket.get("name_en", ticket["audience"].replace("_", " ").title()),
                name_ja=ticket.get("name_ja", ""),
                position=position,
                **{k: v for k, v in ticket.items() if k not in ("name_en", "name_ja")},
            )
        )
    for position, question in enumerate(questions):
        event.questions.append(Question(position=position, **question))
    db.session.add(event)
    db.session.commit()
    return event


def member_of(slug: str, email: str | None = None) -> Person:
    """A confirmed person with a verified membership of that organization."""
    person = add_person(email)
    add_membership(
        person, slug, status="verified", valid_until=utcnow().date() + timedelta(days=300)
    )
    db.session.refresh(person)
    return person


def ticket(event: Event, audience: str) -> TicketType:
    return next(t for t in event.ticket_types if t.audience == audience)


def registrations(event: Event) -> list[Registration]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
        )
    )


@pytest.fixture
def make_event(network: None) -> Callable[..., Event]:
    return add_event


@pytest.fixture
def organizer(network: None) -> Person:
    return add_role(add_person("events@link-j.org"), Role.STAFF)


def later(minutes: int = 0, **delta: int) -> datetime:
    return utcnow() + timedelta(minutes=minutes, **delta)

"""Read-only queries for the event pages, each in a fixed number of statements."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, and_, bindparam, case, func, inspect, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal import versions
from portal.accounts.models import Membership, MembershipStatus, Person
from portal.accounts.queries import person_with_roles_and_mous
from portal.accounts.search import person_matches
from portal.db import utcnow
from portal.events import pricing
from portal.events.models import (
    LIVE_STATES,
    SEAT_STATES,
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    Visibility,
    event_cohost,
)
from portal.extensions import db
from portal.organizations.models import Agreement

EVENTS_PAGE_SIZE = 20
REGISTRATIONS_PAGE_SIZE = 50


def viewer_with_memberships(person: Person | None) -> Person | None:
    """The signed-in person with memberships and their MOUs loaded (for pricing)."""
    if person is None or not person.is_authenticated:
        return None
    person = getattr(person, "_get_current_object", lambda: person)()  # current_user's object
    if "memberships" in inspect(person).dict:
        return person  # the session's loader brought them (see load_person_for_session)
    return person_with_roles_and_mous(person.id)


def viewer_zone(viewer: Person | None) -> str | None:
    """The zone to show the viewer times in: their own setting, else their home organization's."""
    if viewer is None:
        return None
    if viewer.timezone:
        return viewer.timezone
    for membership in viewer.memberships:
        return membership.organization.timezone
    return None


def visible_levels(viewer: Person | None) -> list[str]:
    levels = [Visibility.PUBLIC.value]
    if viewer is None:
        return levels
    linkj = pricing.is_linkj_member(viewer)
    partner = any(
        m.organization.kind == "partner" and m.is_verified_on(pricing.today(m.organization))
        for m in viewer.memberships
    )
    if linkj or partner:
        levels.append(Visibility.NETWORK.value)
    if linkj:
        levels.append(Visibility.LINKJ.value)
    return levels


def _event_options() -> tuple:
    return (
        joinedload(Event.host),
        selectinload(Event.cohosts),
        selectinload(Event.agreements).joinedload(Agreement.partner),
        selectinload(Event.ticket_types),
    )


#: The tables an event's definition is read from (``_event_definition``): what the memo below
#: and the page cache's kept event pages depend on.
EVENT_DEFINITION_TABLES = (
    "event",
    "event_cohost",
    "event_agreement",
    "ticket_type",
    "question",
    "event_session",
    "agreement",
    "organization",
)
_EVENT_DEFINITIONS = versions.GraphMemo(tables=EVENT_DEFINITION_TABLES)


@functools.cache
def _event_definition() -> Select:
    """An event (``slug``) with hosts, MOUs, ticket types, questions and sessions, joined into
    one statement: each is a handful of rows, so their product stays small, and a page that
    renders the event afresh asks the database once. Built once (see
    ``accounts.queries.signed_in_person_and_session``)."""
    return (
        select(Event)
        .where(Event.slug == bindparam("slug"))
        .options(
            joinedload(Event.host),
            joinedload(Event.cohosts),
            joinedload(Event.agreements).joinedload(Agreement.partner),
            joinedload(Event.agreements).joinedload(Agreement.hub),
            joinedload(Event.ticket_types),
            joinedload(Event.questions),
            joinedload(Event.sessions),
        )
    )


def event_by_slug(slug: str) -> Event | None:
    """The event with its hosts, MOUs, ticket types, questions and sessions loaded."""

    def load(session: Session) -> Event | None:
        return session.execute(_event_definition(), {"slug": slug}).unique().scalar_one_or_none()

    return _EVENT_DEFINITIONS.get(slug, load)


@dataclass(frozen=True)
class OwnRegistration:
    """The viewer's live registration as the event page shows it."""

    id: int
    status: str
    waitlist_position: int | None = None


@functools.cache
def _seats_and_own() -> Select:
    # Built once: the event page runs it on every view (building costs about a third of it).
    # By slug, with the event's id and capacity: a kept page is served knowing only its address.
    mine = case(
        (
            and_(
                Registration.person_id == bindparam("person_id"),
                Registration.status.in_([s.value for s in LIVE_STATES]),
            ),
            Registration.id,
        )
    )
    return (
        select(
            Event.id,
            Event.capacity,
            Registration.status,
            func.count(Registration.id),
            func.max(mine),
        )
        .outerjoin(Registration, Registration.event_id == Event.id)
        .where(Event.slug == bindparam("slug"))
        .group_by(Event.id, Event.capacity, Registration.status)
    )


@dataclass(frozen=True)
class SeatsAndOwn:
    """An event's registrations by state and a person's live one, as one statement reads them."""

    event_id: int
    capacity: int
    by_state: dict[str, int]
    own: OwnRegistration | None


def _read_seats_and_own(slug: str, person_id: int | None) -> SeatsAndOwn | None:
    rows = db.session.execute(
        _seats_and_own(), {"slug": slug, "person_id": person_id if person_id is not None else -1}
    ).all()
    if not rows:
        return None  # no such event
    by_state: dict[str, int] = {}
    own: OwnRegistration | None = None
    for _event_id, _capacity, status, count, own_id in rows:
        if status is not None:  # an event without registrations: one row, no state
            by_state[status] = count
        if own_id is not None:
            own = OwnRegistration(own_id, status)
    return SeatsAndOwn(rows[0][0], rows[0][1], by_state, own)


@dataclass(frozen=True)
class ViewerSeats:
    """An event's capacity and seats held, and whether one person holds a live registration."""

    event_id: int
    capacity: int
    held: int
    registered: bool


def seats_for_viewer(slug: str, person_id: int) -> ViewerSeats | None:
    """What an event's page shows a signed-in person that changes with registrations, in one
    statement: the page cache serves the page their audience shares with it (None: no such
    event)."""
    found = _read_seats_and_own(slug, person_id)
    if found is None:
        return None
    return ViewerSeats(
        found.event_id, found.capacity, held_seats(found.by_state), found.own is not None
    )


def seats_and_own_registration(
    event: Event, person: Person | None
) -> tuple[dict[str, int], OwnRegistration | None]:
    """The event's seat figures (``live_counts``) and the person's live registration, in one
    statement: registrations by state, each state's row also naming the person's live one."""
    found = _read_seats_and_own(event.slug, person.id if person is not None else None)
    by_state = found.by_state if found is not None else {}
    own = found.own if found is not None else None
    if own is not None and own.status == RegistrationStatus.WAITLISTED:
        registration = db.session.get(Registration, own.id)
        if registration is not None:  # one more statement, only for people waiting
            own = OwnRegistration(own.id, own.status, waitlist_position(registration))
    return _live_counts(event, by_state), own


def seat_counts(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per event: registrations by state, in one statement."""
    counts: dict[int, dict[str, int]] = {i: {} for i in event_ids}
    if not event_ids:
        return counts
    for event_id, status, count in db.session.execute(_SEAT_COUNTS, {"event_ids": event_ids}):
        counts[event_id][status] = count
    return counts


#: Built once: every event page, list and anonymous page served from the page cache runs it.
_SEAT_COUNTS = (
    select(Registration.event_id, Registration.status, func.count(Registration.id))
    .where(Registration.event_id.in_(bindparam("event_ids", expanding=True)))
    .group_by(Registration.event_id, Registration.status)
)


def held_seats(counts: dict[str, int]) -> int:
    return sum(counts.get(s.value, 0) for s in SEAT_STATES)


def held_seats_of(event_ids: list[int]) -> dict[int, int]:
    """Seats held per event (those with none are left out), in one statement."""
    held = {event_id: held_seats(counts) for event_id, counts in seat_counts(event_ids).items()}
    return {event_id: seats for event_id, seats in held.items() if seats}


def my_registrations(person: Person) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.person_id == person.id)
            .options(joinedload(Registration.event), joinedload(Registration.ticket_type))
            .order_by(Registration.created_at.desc())
        )
    )


#: Upcoming registrations shown on the dashboard ("My events" lists them all).
DASHBOARD_REGISTRATIONS = 5


def registrations_to_show(person: Person) -> list[Registration]:
    """The person's live registrations for events that have not ended, and any awaiting
    payment, soonest event first, with event, host and ticket type: the dashboard's upcoming
    events and its payments due, in one statement."""
    return list(
        db.session.scalars(_registrations_to_show(), {"person_id": person.id, "now": utcnow()})
    )


@functools.cache
def _registrations_to_show() -> Select:
    # Built once: every dashboard runs it.
    return (
        select(Registration)
        .join(Registration.event)
        .where(
            Registration.person_id == bindparam("person_id"),
            or_(
                Registration.status == RegistrationStatus.AWAITING_PAYMENT.value,
                and_(
                    Registration.status.in_([s.value for s in LIVE_STATES]),
                    Event.ends_at > bindparam("now", type_=Event.__table__.c.ends_at.type),
                ),
            ),
        )
        .options(
            joinedload(Registration.event).joinedload(Event.host),
            joinedload(Registration.ticket_type),
        )
        .order_by(Event.starts_at, Registration.id)
    )


def upcoming_registrations(
    person: Person, shown: list[Registration] | None = None
) -> list[Registration]:
    """The person's live registrations for events that have not ended, soonest first (the
    first few), from ``shown`` (``registrations_to_show``) when the caller read it."""
    if shown is None:
        shown = registrations_to_show(person)
    now = utcnow()
    live = {s.value for s in LIVE_STATES}
    upcoming = [r for r in shown if r.status in live and r.event.ends_at > now]
    return upcoming[:DASHBOARD_REGISTRATIONS]


def feed_registrations(person: Person) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.person_id == person.id,
                Registration.status.in_(
                    [s.value for s in LIVE_STATES if s != RegistrationStatus.WAITLISTED]
                ),
            )
            .options(joinedload(Registration.event))
            .order_by(Registration.created_at)
        )
    )


def own_registration(person: Person, registration_id: int) -> Registration | None:
    return db.session.scalar(
        select(Registration)
        .where(Registration.id == registration_id, Registration.person_id == person.id)
        .options(joinedload(Registration.event), joinedload(Registration.ticket_type))
    )


def waitlist_position(registration: Registration) -> int | None:
    if registration.status != RegistrationStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITLISTED.value,
            or_(
                Registration.created_at < registration.created_at,
                and_(
                    Registration.created_at == registration.created_at,
                    Registration.id < registration.id,
                ),
            ),
        )
    )
    return (ahead or 0) + 1


def person_by_calendar_token(token: str) -> Person | None:
    if not token:
        return None
    return db.session.scalar(
        select(Person).where(Person.calendar_token == token, Person.deleted_at.is_(None))
    )


# --- organizers -----------------------------------------------------------------------------


def managed_events(actor: Person, *, page: int = 1) -> Pagination:
    """Events the actor may manage, newest first (drafts included)."""
    query = (
        select(Event).options(*_event_options()).order_by(Event.starts_at.desc(), Event.id.desc())
    )
    if not actor.is_staff:
        organization_id = actor.administered_organization_id or -1
        query = query.where(
            or_(
                Event.host_id == organization_id,
                Event.id.in_(
                    select(event_cohost.c.event_id).where(
                        event_cohost.c.organization_id == organization_id
                    )
                ),
            )
        )
    return db.paginate(query, page=page, per_page=EVENTS_PAGE_SIZE, error_out=False)


def events_of_own_members(actor: Person) -> list[Event]:
    """Published or cancelled events, not organized by the actor's organization, for which
    one of its verified members registered (what another partner's admin may read)."""
    organization_id = actor.administered_organization_id
    if organization_id is None:
        return []
    members = select(Membership.person_id).where(
        Membership.organization_id == organization_id,
        Membership.status == MembershipStatus.VERIFIED.value,
    )
    events = db.session.scalars(
        select(Event)
        .where(
            Event.status != EventStatus.DRAFT.value,
            Event.id.in_(select(Registration.event_id).where(Registration.person_id.in_(members))),
        )
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(50)
    ).all()
    return [e for e in events if organization_id not in e.organizer_ids]


def viewable_registrations_query(actor: Person, event: Event) -> Select:
    """Registrations the actor may see: all for organizers; for another partner's admin,
    only those of people verified as members of their organization."""
    query = select(Registration).where(Registration.event_id == event.id)
    if actor.is_staff or actor.administered_organization_id in event.organizer_ids:
        return query
    organization_id = actor.administered_organization_id or -1
    return query.where(
        Registration.person_id.in_(
            select(Membership.person_id).where(
                Membership.organization_id == organization_id,
                Membership.status == MembershipStatus.VERIFIED.value,
                or_(Membership.valid_until.is_(None), Membership.valid_until >= utcnow().date()),
            )
        )
    )


def can_view_registrations(actor: Person, event: Event) -> bool:
    return actor.is_staff or actor.administered_organization_id is not None


def registrations_page(
    actor: Person, event: Event, *, status: str = "", search: str = "", page: int = 1
) -> Pagination:
    # No join for the page count unless searching: joinedload fetches the people per page.
    query = viewable_registrations_query(actor, event).options(
        joinedload(Registration.person), joinedload(Registration.ticket_type)
    )
    if status:
        query = query.where(Registration.status == status)
    matches = person_matches(search, Registration.code)
    if matches is not None:
        query = query.join(Registration.person).where(matches)
    query = query.order_by(Registration.created_at, Registration.id)
    return db.paginate(query, page=page, per_page=REGISTRATIONS_PAGE_SIZE, error_out=False)


def all_registrations_for_export(actor: Person, event: Event) -> list[Registration]:
    query = (
        viewable_registrations_query(actor, event)
        .options(
            # Joined, not "selectin": one statement however many registrations.
            joinedload(Registration.person)
            .joinedload(Person.memberships)
            .joinedload(Membership.organization),
            joinedload(Registration.ticket_type),
        )
        .order_by(Registration.created_at, Registration.id)
    )
    return list(db.session.scalars(query).unique())


def live_counts(event: Event) -> dict[str, int]:
    return _live_counts(event, seat_counts([event.id])[event.id])


def _live_counts(event: Event, counts: dict[str, int]) -> dict[str, int]:
    return {
        "registered": held_seats(counts),
        "confirmed": counts.get("confirmed", 0) + counts.get("checked_in", 0),
        "awaiting_payment": counts.get("awaiting_payment", 0),
        "waitlisted": counts.get("waitlisted", 0),
        "pending_approval": counts.get("pending_approval", 0),
        "checked_in": counts.get("checked_in", 0),
        "capacity": event.capacity,
    }


def ticket_type_counts(event: Event) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Registration.ticket_type_id, func.count(Registration.id))
            .where(
                Registration.event_id == event.id,
                Registration.status.in_([s.value for s in SEAT_STATES]),
            )
            .group_by(Registration.ticket_type_id)
        ).all()
    )

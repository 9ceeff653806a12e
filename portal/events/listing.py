"""The event list and its archive: the filters people set, and the cards of one page read as
plain values in one statement (no ORM objects for a read-only list)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, String, and_, bindparam, cast, func, or_, select
from sqlalchemy.orm import aliased

from portal.accounts.models import Person
from portal.db import utcnow
from portal.events.models import (
    SEAT_STATES,
    Event,
    EventStatus,
    Registration,
    TicketType,
    event_cohost,
)
from portal.events.queries import EVENTS_PAGE_SIZE, visible_levels
from portal.extensions import db
from portal.organizations.models import Organization


@dataclass(frozen=True)
class EventFilters:
    partner: str | None = None
    kind: str | None = None
    month: str | None = None  # "2027-03"
    language: str | None = None
    #: Words that must each appear in the title, description or venue, in either language.
    keywords: str | None = None

    def query_args(self) -> dict[str, str]:
        """The filters as the list's address carries them (for the pager's links)."""
        names = {"partner": self.partner, "kind": self.kind, "month": self.month}
        names |= {"language": self.language, "q": self.keywords}
        return {name: value for name, value in names.items() if value}


#: At most this many words of a keyword search count (a pasted paragraph is not a query).
MAX_KEYWORDS = 8
_SEARCHED = ("title_en", "title_ja", "description_en", "description_ja", "venue_en", "venue_ja")


def _keyword_condition(text: str):  # noqa: ANN202 - a SQL expression
    """Every word in one of the searched texts, case-insensitively; LIKE's wildcards typed
    by the person are matched as themselves."""
    words = text.split()[:MAX_KEYWORDS]
    conditions = []
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped.lower()}%"
        conditions.append(
            or_(*(func.lower(getattr(Event, c)).like(pattern, escape="\\") for c in _SEARCHED))
        )
    return and_(*conditions)


@dataclass(frozen=True)
class EventCard:
    """What the event list prints of one event: its columns, its organizers' names and the
    seats held, read as plain values (no ORM objects for a read-only list)."""

    id: int
    slug: str
    title_en: str
    title_ja: str
    kind: str
    language: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    venue_en: str
    venue_ja: str
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    host_name_en: str
    host_name_ja: str
    cohost_names: str
    #: Not part of a card's equality: a card is remembered (``portal.fragments``) under the
    #: values its remembered part prints, and the seats are printed per request beside it.
    held: int = field(compare=False)
    #: "JPY:5000,JPY:0,USD:40": currency and price of each open ticket type.
    prices: str

    @property
    def price_ranges(self) -> list[tuple[int, int, str]]:
        """Per currency, the lowest and highest price of the event's open ticket types."""
        ranges: dict[str, tuple[int, int]] = {}
        for item in filter(None, self.prices.split(",")):
            currency, _sep, amount = item.partition(":")
            price = int(amount)
            low, high = ranges.get(currency, (price, price))
            ranges[currency] = (min(low, price), max(high, price))
        return [(low, high, currency) for currency, (low, high) in ranges.items()]


@dataclass(frozen=True)
class CardPage:
    """One page of cards, with what the pager needs (Flask-SQLAlchemy's Pagination's names)."""

    items: list[EventCard]
    page: int
    per_page: int
    total: int
    #: When the first of the listed events ends, and the upcoming list changes with no
    #: write (None for the archive or an empty page).
    changes_at: datetime | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


_CARD_COLUMNS = tuple(
    name
    for name in EventCard.__dataclass_fields__
    if name not in ("host_name_en", "host_name_ja", "cohost_names", "held", "prices")
)


def upcoming_events(
    viewer: Person | None, filters: EventFilters, *, page: int = 1, past: bool = False
) -> CardPage:
    """Published events that have not ended and that the viewer may see, soonest first (with
    ``past``, the archive: those that ended, latest first): one statement for the cards,
    their organizers, their prices, their seats held and the total."""
    query = _filtered(_cards_statement(past), filters)
    page = max(1, page)
    values = {
        "now": utcnow(),
        "levels": visible_levels(viewer),
        "limit": EVENTS_PAGE_SIZE,
        "offset": (page - 1) * EVENTS_PAGE_SIZE,
    }
    rows = db.session.execute(query, values).all()
    if rows:
        total = rows[0].total
    else:  # past the last page: the total comes from a count of its own
        counted = select(func.count()).select_from(query.limit(None).offset(None).subquery())
        total = db.session.scalar(counted, values) or 0
    cards = [EventCard(*row[:-2]) for row in rows]
    changes_at = rows[0].ends_first if rows and not past else None
    return CardPage(cards, page, EVENTS_PAGE_SIZE, total, changes_at)


@functools.cache
def _cards_statement(past: bool) -> Select:
    """The list's statement without filters, built once per process (the list is among the
    busiest pages and building it cost more than running it): the moment, the visibility
    levels and the page are bound when it runs. Its columns are ``EventCard``'s, in order,
    then the total."""
    host = aliased(Organization)
    cohost_names = (
        select(func.aggregate_strings(Organization.short_name, ", "))
        .select_from(event_cohost)
        .join(Organization, Organization.id == event_cohost.c.organization_id)
        .where(event_cohost.c.event_id == Event.id)
        .correlate(Event)
        .scalar_subquery()
    )
    held = (
        select(func.count(Registration.id))
        .where(
            Registration.event_id == Event.id,
            Registration.status.in_([s.value for s in SEAT_STATES]),
        )
        .correlate(Event)
        .scalar_subquery()
    )
    prices = (
        select(
            func.aggregate_strings(TicketType.currency + ":" + cast(TicketType.price, String), ",")
        )
        .where(TicketType.event_id == Event.id, TicketType.active.is_(True))
        .correlate(Event)
        .scalar_subquery()
    )
    now = bindparam("now", type_=Event.ends_at.type)
    return (
        select(
            *(getattr(Event, name) for name in _CARD_COLUMNS),
            host.name_en.label("host_name_en"),
            host.name_ja.label("host_name_ja"),
            func.coalesce(cohost_names, "").label("cohost_names"),
            held.label("held"),
            func.coalesce(prices, "").label("prices"),
            func.count().over().label("total"),
            # Over every event the filters match, not only this page's: any of them ending
            # changes the total and the pages.
            func.min(Event.ends_at).over().label("ends_first"),
        )
        .join(host, host.id == Event.host_id)
        .where(
            Event.status == EventStatus.PUBLISHED.value,
            Event.ends_at <= now if past else Event.ends_at > now,
            Event.visibility.in_(bindparam("levels", expanding=True)),
        )
        .order_by(
            *((Event.starts_at.desc(), Event.id.desc()) if past else (Event.starts_at, Event.id))
        )
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


def _filtered(query: Select, filters: EventFilters) -> Select:
    """The list's query narrowed to what the person asked for."""
    if filters.keywords and filters.keywords.split():
        query = query.where(_keyword_condition(filters.keywords))
    if filters.partner:
        organization_id = select(Organization.id).where(Organization.slug == filters.partner)
        query = query.where(
            or_(
                Event.host_id.in_(organization_id),
                Event.id.in_(
                    select(event_cohost.c.event_id).where(
                        event_cohost.c.organization_id.in_(organization_id)
                    )
                ),
            )
        )
    if filters.kind:
        query = query.where(Event.kind == filters.kind)
    if filters.language:
        query = query.where(Event.language.in_([filters.language, "both"]))
    month = month_bounds(filters.month) if filters.month else None
    if month is not None:
        # The month on the event's own calendar, not UTC's (rule 9).
        query = query.where(Event.starts_on_local >= month[0], Event.starts_on_local < month[1])
    return query


def organizations_for_filter() -> list[tuple[str, str]]:
    """(slug, short name) of every organization, for the list's filter."""
    return [
        (slug, name)
        for slug, name in db.session.execute(
            select(Organization.slug, Organization.short_name).order_by(Organization.id)
        )
    ]


def month_bounds(text: str) -> tuple[date, date] | None:
    """``2026-05`` as its first day and the next month's first; None for anything else (a
    month past the calendar's last, digits that are not ASCII)."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text, re.ASCII)
    if match is None:
        return None
    try:
        first = date(int(match[1]), int(match[2]), 1)
        return first, date(first.year + first.month // 12, first.month % 12 + 1, 1)
    except ValueError:
        return None


#: An event's definition: what a registration or the event page needs besides the counts.
#: Registrations do not write these tables, so a burst of them leaves the memo valid.

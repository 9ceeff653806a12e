"""Whole-page cache for the busiest pages, invalidated exactly when what they show changes.

A web-layer concern: the domain code knows nothing of it. ``CACHED_PAGES`` says which pages
are cached and what each reads; the app factory wraps those views (``cache_pages``). A page is
stored under a key made of the address, the viewer (person id and the secret naming their
session record, anonymous, or the audience of members a shared page is the same for), the
language, and the *generations* (``portal.versions``) of
the scopes it depends on, so a commit that changes what a page shows makes its old entry
unreachable; old entries simply age out.

Generations are read *before* the page queries anything, so a page rendered from data older
than a concurrent commit is filed under the older generation, which that commit's bump makes
unreachable. Time alone changes some pages (registration opens at 10:00): entries live at most
``PAGE_CACHE_TTL`` seconds, and less when the view's response says when it changes
(``response.expires``, which the cache takes and does not pass on).

Pages that carry a flash message are neither served from nor stored in the cache, and the
CSRF token in a cached page is replaced by a fresh one for every response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, has_app_context, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Table, event, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import util as sql_util
from werkzeug.wrappers import Response

from portal.accounts import sessions
from portal.accounts.labels import signed_in_as
from portal.db import utcnow
from portal.events import pricing, seat_figures
from portal.events.models import Event
from portal.events.queries import EVENT_DEFINITION_TABLES, seats_for_viewer, viewer_zone
from portal.extensions import db
from portal.i18n import current_language
from portal.organizations.models import Organization
from portal.versions import (
    ENTITY_SCOPES,
    EPOCH,
    Store,
    StoreUnavailable,
    current_store,
    read_generations,
    read_generations_and_get,
)

CSRF_PLACEHOLDER = "<csrf-token>"  # a "<" can never come from escaped page content
VIEWER_PLACEHOLDER = "<signed-in-as>"


class ScopeError(AssertionError):
    """A cached page read a table its declaration does not cover (raised in tests)."""


@dataclass(frozen=True)
class Fill:
    """A part of a kept page printed again each time it is served (the seats left), from
    ``tables``, which the rest of the page must not print from: a change to them leaves the
    page valid. ``refresh`` takes the kept page and gives it back with its parts current."""

    tables: tuple[str, ...]
    refresh: Callable[[str, Mapping[int, int] | None], str]


#: The seats-left figures of the event list and an event's page.
SEAT_FIGURES = Fill(tables=("registration",), refresh=seat_figures.refresh)


@dataclass(frozen=True)
class Viewer:
    """What the pages kept per audience need of a signed-in member: who they are, their
    audience (``events.pricing.audience_of`` and the zone their times are shown in) and the
    header's line naming them, in the request's language. Remembered per session and language
    under the generations of the person's rows (their memberships, roles and sessions among
    them) and of the organizations, never beyond ``PAGE_CACHE_TTL`` nor the session's end: a
    hit then asks the database nothing about who they are (as a page kept per viewer)."""

    person_id: int
    audience: Any
    signed_in_as: str


@dataclass(frozen=True)
class Audience:
    """The signed-in viewers a kept page is the same for: ``key`` holds everything of the
    viewer the page shows besides the header's name (which is printed again for each reader),
    as JSON. ``counted``: the seats held by event, when deciding needed them (the page's seat
    figures are then printed from them without counting again)."""

    key: Any
    counted: Mapping[int, int] | None = None


@dataclass(frozen=True)
class Page:
    """What a cached page reads.

    ``tables``: the tables the page reads as a whole. ``entity``: the one entity the page is
    about, named by the ``slug`` in its address (``event:42``); an unknown slug is served
    uncached (it is a 404). ``viewer``: the page reads the signed-in person's own rows
    (memberships, registrations); a page listing other people's rows declares those tables
    whole instead. A signed-in viewer's ``person`` scope is always part of the key of a page
    kept for them: the header shows roles. ``signed_in_only``: the view requires a signed-in
    person. ``shared``: kept once for every visitor who is not signed in, and once per
    audience of signed-in viewers: ``shared(viewer, slug)`` says whom the member shares
    the page with (an ``Audience``), or None when their page is theirs alone (it is then
    rendered for them). ``fills``: parts printed again when the page is served.
    """

    tables: tuple[str, ...] = ()
    entity: SlugEntity | None = None
    viewer: bool = False
    signed_in_only: bool = False
    shared: Callable[[Viewer, str], Audience | None] | None = None
    fills: tuple[Fill, ...] = ()

    def read_only_to_fill(self, read: set[str]) -> set[str]:
        """``read`` without the tables only the fills print from."""
        return read.difference(*(fill.tables for fill in self.fills))


@dataclass
class Lookup:
    #: Where the page is kept for this viewer (its path, whom it is for, the language and the
    #: scopes it depends on); ``stamp`` is the generations of those scopes now: a page kept
    #: there is served only if it was kept under the same stamp.
    key: str
    stamp: str
    #: What was kept there, read in the same call to the store as the generations.
    found: bytes | None
    session_user: str | None
    tables: tuple[str, ...]
    covering: list[str]
    #: Whom a signed-in viewer shares the page with (None: anonymous, or their own page).
    audience: Audience | None = None
    viewer: Viewer | None = None


def init_app(app: Flask) -> None:
    # App-level hooks run before any blueprint's (the management pages' role check): a hit is
    # answered before anything loads the signed-in person.
    app.before_request(serve_from_cache)
    app.after_request(_say_whether_cached)
    _listen_for_reads()


def _say_whether_cached(response: Response) -> Response:
    """``X-Cache: miss`` on a cacheable page rendered afresh (a hit says ``hit``): the
    benchmarks count hits from it, and an operator can see it in the browser."""
    status = g.pop("pagecache_status", None)
    if status is not None:
        response.headers.setdefault("X-Cache", status)
    return response


def cache_pages(app: Flask) -> None:
    """Wrap the views of ``CACHED_PAGES`` (after the blueprints are registered)."""
    for endpoint, page in cached_pages().items():
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = _cached(page, view)


def clear(store: Store) -> bool:
    """Forget every cached page: every key depends on the epoch. False if Redis is away."""
    return store.bump([EPOCH])


# --- what a page read (checked in tests) ------------------------------------------------------


def _record_read(state: ORMExecuteState) -> None:
    if not state.is_select or not has_app_context():
        return
    tables = g.get("pagecache_reads")
    if tables is not None:
        tables.update(t.name for t in sql_util.find_tables(state.statement) if isinstance(t, Table))


_listening = False


def _listen_for_reads() -> None:
    global _listening
    if not _listening:
        event.listen(Session, "do_orm_execute", _record_read)
        _listening = True


# --- serving pages --------------------------------------------------------------------------


def _scopes_for(tables: Iterable[str], entities: Iterable[str]) -> list[str]:
    scopes = {EPOCH, *(f"t:{t}" for t in tables)}
    for scope in entities:
        scopes.add(scope)
        scopes.add(f"all:{scope.split(':', 1)[0]}")
    return sorted(scopes)


def _check_covered(read: set[str], tables: Iterable[str], entities: Iterable[str]) -> None:
    kinds = {scope.split(":", 1)[0] for scope in entities}
    declared = set(tables)
    missing = sorted(
        table
        for table in read
        if table not in declared and not kinds & set(ENTITY_SCOPES.get(table, {}))
    )
    if missing:
        raise ScopeError(f"{request.endpoint} reads {', '.join(missing)} without declaring it")


def _session_user() -> str | None:
    """The ``<person id>:<session secret>`` Flask-Login keeps in the signed session (not yet
    checked): each sign-in has pages of its own, so ending one (rule 15) leaves no page that
    another, still open, could serve it."""
    value = session.get("_user_id")
    return value if isinstance(value, str) else None


def _look_up(page: Page, store: Store) -> Lookup | None:
    user = _session_user()
    person = user.partition(":")[0] if user else None
    slug = (request.view_args or {}).get("slug", "")
    resolved = page.entity.remembered(slug) if page.entity else None
    if page.entity and resolved is None:
        return None
    shared_by_member = user is not None and page.shared is not None
    language = current_language()

    def slot(whom: Any, scopes: list[str]) -> str:
        # Without the generations: they are the stamp of what is kept there (read with it).
        return hashlib.blake2b(
            json.dumps([request.full_path, whom, language, scopes]).encode(), digest_size=20
        ).hexdigest()

    def scopes_and_generations() -> tuple[
        list[str], list[int], bytes | None, str, tuple[str, ...], list[str]
    ]:
        entities = [resolved.scope] if resolved else []
        tables = (*page.tables, resolved.table) if resolved else page.tables
        covering = list(entities)
        if person:
            entities.append(f"person:{person}")
            if page.viewer:
                covering.append(f"person:{person}")
        if shared_by_member:
            # A member's remembered audience is read in the same call as the generations.
            scopes = _scopes_for((*tables, *VIEWER_TABLES), entities)
            key = _viewer_key(user or "", language)
        else:
            # Whom the page is for is known: the page itself comes in the same call.
            scopes = _scopes_for(tables, entities)
            key = slot(user or "anon", scopes)
        generations, found = read_generations_and_get(store, scopes, key)
        return scopes, generations, found, key, tables, covering

    scopes, generations, found, key, tables, covering = scopes_and_generations()
    if resolved and generations[scopes.index(f"t:{resolved.table}")] != resolved.generation:
        # The remembered id may be stale: look it up again at the current generation.
        assert page.entity is not None
        resolved = page.entity.look_up(slug, generations[scopes.index(f"t:{resolved.table}")])
        if resolved is None:
            return None
        scopes, generations, found, key, tables, covering = scopes_and_generations()
    viewer = audience = None
    if shared_by_member:
        assert user is not None and page.shared is not None
        known = dict(zip(scopes, generations, strict=True))
        viewer = _viewer(store, user, [known[s] for s in _viewer_scopes(person)], found)
        audience = page.shared(viewer, slug) if viewer is not None else None
        if audience is None:
            return None  # their own page, or Flask-Login did not accept the session
        # The page is the audience's: filed under what it prints from, not under the person.
        scopes = _scopes_for(tables, [resolved.scope] if resolved else [])
        generations = [known[s] for s in scopes]
        key = slot(["audience", audience.key], scopes)
        found = store.get(key)
    return Lookup(key, _stamp(generations), found, user, tables, covering, audience, viewer)


def _stamp(generations: list[int]) -> str:
    return ".".join(str(generation) for generation in generations)


def _kept(found: bytes | None, stamp: str) -> bytes | None:
    """What was kept (after its expiry and its stamp), if kept under ``stamp`` and not expired."""
    if found is None:
        return None
    expires, kept_stamp, body = found.split(b"\n", 2)
    if kept_stamp.decode() != stamp or float(expires) <= utcnow().timestamp():
        return None
    return body


#: What a member's audience and header line are read from besides their own rows
#: (``person:<id>``: the person, their memberships, roles and sessions): the organizations'
#: kinds and time zones.
VIEWER_TABLES = ("organization",)


def _viewer_scopes(person: str | None) -> list[str]:
    return _scopes_for(VIEWER_TABLES, [f"person:{person}"])


def _viewer_key(user: str, language: str) -> str:
    return hashlib.blake2b(
        json.dumps(["viewer", user, language]).encode(), digest_size=20
    ).hexdigest()


def _viewer(store: Store, user: str, generations: list[int], found: bytes | None) -> Viewer | None:
    """What the pages kept per audience need of the signed-in member, remembered for their
    session and language (``found``: what is kept for them, read with the generations);
    loaded (by Flask-Login's loader, which checks the session) when not remembered under
    these generations. None if the session signs nobody in."""
    stamp = _stamp(generations)
    kept = _kept(found, stamp)
    if kept is not None:
        person_id, audience, line = json.loads(kept)
        return Viewer(person_id, audience, line)
    if not current_user.is_authenticated:
        return None
    person = current_user._get_current_object()
    viewer = Viewer(person.id, _audience_of(person), str(signed_in_as(person)))
    seconds = int(current_app.config.get("PAGE_CACHE_TTL", 60))
    session_ends = _session_ends()
    if session_ends is not None:
        seconds = min(seconds, int((session_ends - utcnow()).total_seconds()))
    if seconds >= 1:
        remembered = json.dumps([viewer.person_id, viewer.audience, viewer.signed_in_as])
        expires = utcnow().timestamp() + seconds
        store.put(
            _viewer_key(user, current_language()),
            f"{expires}\n{stamp}\n{remembered}".encode(),
            seconds,
        )
    return viewer


def serve_from_cache() -> Response | None:
    """Before any other check of the request: a cached page for this exact viewer, if any.

    A page is stored only after Flask-Login accepted the session and the view (and the admin
    area's role check) served it, under the session's id and the generation of that person's
    scope, and never beyond the moment that session expires. Any change to the person (a
    session ended, a role removed, the account deleted) bumps that generation, so a hit needs
    no query to be trusted.
    """
    if request.method != "GET":
        return None
    page: Page | None = getattr(current_app.view_functions.get(request.endpoint), "_page", None)
    store = current_store()
    if page is None or store is None or "_flashes" in session:
        return None
    if _session_user() is None:
        if page.signed_in_only:
            return None  # let login_required send them to the login page
        if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
            return None  # "remember me": Flask-Login restores the session on this request
    try:
        lookup = _look_up(page, store)
    except StoreUnavailable:
        return None  # the store logged it
    if lookup is None:
        return None
    g.pagecache_lookup = lookup
    body = _kept(lookup.found, lookup.stamp)
    if body is None:
        return None
    page_text = body.decode()
    counted = lookup.audience.counted if lookup.audience else None
    for fill in page.fills:
        page_text = fill.refresh(page_text, counted)
    return _response(page_text, lookup.viewer)


def _cached(page: Page, view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve a GET page from the cache while nothing it depends on has changed."""

    @wraps(view)
    def wrapper(**kwargs: Any) -> Any:
        # serve_from_cache found nothing: render, and keep the page if it may be kept.
        lookup: Lookup | None = g.pop("pagecache_lookup", None)
        store = current_store()
        if not (page.shared and lookup is None and _session_user() is not None):
            g.pagecache_status = "miss"  # a page never kept for this viewer says nothing
        if lookup is None or store is None:
            return _without_expires(view(**kwargs))[0]
        if lookup.audience is not None:
            # Loaded before the page's reads are recorded: the session's statement is not the
            # page's (its audience was remembered; the view still needs the person).
            current_user.is_authenticated  # noqa: B018
        if current_app.config.get("PAGE_CACHE_CHECK_SCOPES"):
            g.pagecache_reads = set()
        try:
            result, changes = _without_expires(view(**kwargs))
        finally:
            read = g.pop("pagecache_reads", None)
        body = _html_body(result)
        if body is None or "_flashes" in session:
            return result
        viewer_id = current_user.get_id() if current_user.is_authenticated else None
        if viewer_id != lookup.session_user:
            return result  # the session named someone Flask-Login did not accept
        if read is not None:
            _check_covered(page.read_only_to_fill(read), lookup.tables, lookup.covering)
        if lookup.audience is not None:
            if not _still_for(page, lookup.audience, kwargs.get("slug", "")):
                return result
            # Kept for everyone of the audience: without the line naming this viewer.
            body = _without_viewer(body)
            if body is None:
                return result
        else:
            session_ends = _session_ends()
            if session_ends is not None:
                changes = min(changes, session_ends) if changes else session_ends
        _store(store, lookup, body, changes)
        return result

    wrapper._page = page  # type: ignore[attr-defined]
    return wrapper


def _session_ends() -> datetime | None:
    """When the viewer's session stops signing them in (idle or in all), if signed in: a page
    kept for it must not outlive it."""
    if not current_user.is_authenticated:
        return None
    person = current_user._get_current_object()
    record = sessions.current_session_of(person)
    return sessions.ends_at(record, person) if record is not None else None


def _without_expires(result: Any) -> tuple[Any, datetime | None]:
    """The view's answer without the moment it said its page changes (kept for the cache:
    browsers revalidate these pages anyway)."""
    if isinstance(result, Response) and result.expires is not None:
        changes = result.expires
        del result.headers["Expires"]
        return result, changes
    return result, None


def _html_body(result: Any) -> str | None:
    if isinstance(result, str):
        return result
    if isinstance(result, tuple) and result[1:] == (200,) and isinstance(result[0], str):
        return result[0]
    if (
        isinstance(result, Response)
        and result.status_code == 200
        and (result.mimetype == "text/html")
    ):
        return result.get_data(as_text=True)
    return None


@dataclass(frozen=True)
class Resolved:
    """An entity's scope found from its slug, and its table's generation when it was found."""

    scope: str
    table: str
    generation: int


class SlugEntity:
    """The entity a page is about, named by the ``slug`` in its address.

    Each process remembers slug → id, and trusts it only while the table's generation is the
    one it was found at (any edit, rename or deletion of a row bumps it), so a hit asks the
    database nothing. The generation travels in the same Redis call as the page's others.
    """

    def __init__(self, kind: str, model: Any) -> None:
        self.kind = kind
        self.model = model
        self.table = model.__tablename__
        self._known: dict[str, tuple[int, int]] = {}

    def remembered(self, slug: str) -> Resolved | None:
        known = self._known.get(slug)
        if known is None:
            return self.look_up(slug)
        return Resolved(f"{self.kind}:{known[0]}", self.table, known[1])

    def look_up(self, slug: str, generation: int | None = None) -> Resolved | None:
        if generation is None:
            [generation] = read_generations(current_store(), [f"t:{self.table}"])  # type: ignore[arg-type]
        # The generation is read before the row: a rename committed in between bumps it again.
        found = db.session.scalar(select(self.model.id).where(self.model.slug == slug))
        if found is None:
            self._known.pop(slug, None)
            return None
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[slug] = (found, generation)
        return Resolved(f"{self.kind}:{found}", self.table, generation)


#: Each process remembers these slugs' ids (see ``SlugEntity``).
EVENT_BY_SLUG = SlugEntity("event", Event)
ORGANIZATION_BY_SLUG = SlugEntity("org", Organization)


def _by_audience(viewer: Viewer, _slug: str = "") -> Audience:
    """What the home page and the event list show of a signed-in member besides their name:
    the events and tickets open to them (their roles and verified memberships: the header's
    links come from the roles too) and the zone their times are shown in."""
    return Audience(viewer.audience)


def _event_page_audience(viewer: Viewer, slug: str) -> Audience | None:
    """An event's page is the audience's unless the member holds a registration for it (then
    it shows theirs). The event being full changes its register button and notice; the seats
    counted here are printed in the page's figure."""
    seats = seats_for_viewer(slug, viewer.person_id)
    if seats is None or seats.registered:
        return None
    return Audience([viewer.audience, seats.held >= seats.capacity], {seats.event_id: seats.held})


def cached_pages() -> dict[str, Page]:
    """The cached pages by endpoint, and what each reads.

    The home page, the event list and an event's page are kept once for every anonymous
    visitor (a third of real traffic) and once per audience of members (docs/performance.md:
    kept per viewer, most requests of real traffic missed them), with the header's line
    naming the member and the seats left printed again when served: a registration changes
    the figure and leaves the page valid. A member holding a registration for an event has
    their own page of it. An event's definition is also remembered between requests for every
    viewer (``versions.GraphMemo``). The event's page declares the event tables whole rather
    than the event (``event:<id>`` is bumped by each of its registrations): an edit to any
    event makes every kept event page unreachable, which is rare.
    """
    return {
        "organizations.home": Page(tables=("organization", "agreement"), shared=_by_audience),
        "events.index": Page(
            tables=("event", "event_cohost", "organization", "ticket_type", "agreement"),
            shared=_by_audience,
            fills=(SEAT_FIGURES,),
        ),
        "events.detail": Page(
            tables=EVENT_DEFINITION_TABLES, shared=_event_page_audience, fills=(SEAT_FIGURES,)
        ),
        "accounts.dashboard": Page(
            # The viewer's own registrations and claims are theirs (person scope); the events,
            # tickets, services and invoices they name, and payments, are declared whole. The
            # dues section reads the member's plan and application (portal.dues.dashboard).
            tables=(
                "organization",
                "agreement",
                "reciprocal_service",
                "company",
                "event",
                "ticket_type",
                "payment",
                "invoice",
                "dues_plan",
                "member_plan",
                "membership_application",
            ),
            viewer=True,
            signed_in_only=True,
        ),
        "accounts_manage.queue": Page(
            tables=("person", "organization", "role_grant", "roster_upload", "roster_entry"),
            entity=ORGANIZATION_BY_SLUG,
            signed_in_only=True,
        ),
        "events_manage.event_registrations": Page(
            tables=("person", "membership", "payment", "role_grant", "organization", "agreement"),
            entity=EVENT_BY_SLUG,
            signed_in_only=True,
        ),
    }


def _store(store: Store, lookup: Lookup, body: str, changes: datetime | None) -> None:
    ttl = int(current_app.config.get("PAGE_CACHE_TTL", 60))
    now = utcnow().timestamp()
    expires = now + ttl
    if changes is not None:
        expires = min(expires, changes.timestamp())
    if expires <= now:
        return
    token = g.get("csrf_token")
    if token:
        body = body.replace(token, CSRF_PLACEHOLDER)
    page = f"{expires}\n{lookup.stamp}\n{body}".encode()
    store.put(lookup.key, page, max(1, int(expires - now) + 1))


def _audience_of(person: Any) -> Any:
    return [pricing.audience_of(person), viewer_zone(person)]


def _still_for(page: Page, audience: Audience, slug: str) -> bool:
    """Whether the page just rendered for the member is the one the audience it will be kept
    for sees: their rows may have changed after their audience was read (a membership
    verified, a registration made in another tab), and the page shows them as they are now."""
    assert page.shared is not None
    person = current_user._get_current_object()
    again = page.shared(Viewer(person.id, _audience_of(person), ""), slug)
    return again is not None and json.dumps(again.key) == json.dumps(audience.key)


def _without_viewer(body: str) -> str | None:
    """A page rendered for a signed-in viewer, with the header's line naming them replaced by a
    placeholder; None if it does not name them exactly once there (then it is not kept)."""
    line = str(signed_in_as(current_user._get_current_object()))
    if body.count(line) != 1:
        return None
    return body.replace(line, VIEWER_PLACEHOLDER)


def _response(body: str, viewer: Viewer | None) -> Response:
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, generate_csrf())
    if viewer is not None:
        body = body.replace(VIEWER_PLACEHOLDER, viewer.signed_in_as)
    g.pagecache_status = "hit"
    return Response(body, mimetype="text/html")

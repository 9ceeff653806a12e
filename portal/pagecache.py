"""Whole-page cache for the busiest pages, invalidated exactly when what they show changes.

A cached page is stored under a key made of the address, the viewer (person id and session
version, or anonymous), the language, and the *generations* of the scopes it depends on.
A scope is either a whole table (``t:event``) or one entity (``event:42``, ``person:7``,
``org:3``). Every commit that touched a row bumps the generations of that row's table and
of the entities the row belongs to (``ENTITY_SCOPES``); a bulk UPDATE/DELETE through the
session, whose rows are unknown, bumps the table and ``all:<kind>`` for each kind the table
feeds, which every entity scope of that kind also depends on. A changed generation means a
new key, so a stale page can never be served after the commit that changed its data; old
entries simply age out. This is pretix's versioned per-event cache, applied per viewer.

Generations are read *before* the page queries anything, so a page rendered from data older
than a concurrent commit is filed under the older generation, which that commit's bump makes
unreachable. Time alone changes some pages (registration opens at 10:00): entries live at most
``PAGE_CACHE_TTL`` seconds, and a view may shorten that with ``expire_at``.

Generations and pages live in Redis when several processes serve the portal (they must agree
on generations); the embedded single-process default keeps them in memory. Pages that carry
a flash message are neither served from nor stored in the cache, and the CSRF token in a
cached page is replaced by a fresh one for every response.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import Flask, current_app, g, has_app_context, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Table, event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, object_session
from sqlalchemy.sql import util as sql_util
from werkzeug.wrappers import Response

from portal.config import REDIS_TIMEOUT_SECONDS
from portal.db import utcnow
from portal.i18n import current_language

#: Which entities a row belongs to: table → {scope kind: column holding that entity's id}.
#: A page that declares ``event:42`` is told about every change to these tables' rows of
#: event 42; everything else it reads must be declared as a whole table.
ENTITY_SCOPES: dict[str, dict[str, str]] = {
    "person": {"person": "id"},
    "membership": {"person": "person_id", "org": "organization_id"},
    "role_grant": {"person": "person_id"},
    "benefit_claim": {"person": "person_id"},
    "event": {"event": "id"},
    "event_cohost": {"event": "event_id"},
    "event_agreement": {"event": "event_id"},
    "ticket_type": {"event": "event_id"},
    "question": {"event": "event_id"},
    "event_session": {"event": "event_id"},
    "registration": {"event": "event_id", "person": "person_id"},
}
#: Bumped by ``portal cache clear`` (after a deploy): every page depends on it.
EPOCH = "epoch"
CSRF_PLACEHOLDER = "<csrf-token>"  # a "<" can never come from escaped page content
PENDING = "pagecache_scopes"


class ScopeError(AssertionError):
    """A cached page read a table its declaration does not cover (raised in tests)."""


class Store(Protocol):
    def generations(self, scopes: list[str]) -> list[int]: ...
    def bump(self, scopes: Iterable[str]) -> bool: ...
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, value: bytes, ttl: int) -> None: ...


class MemoryStore:
    """One process's cache: the embedded default and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generations: dict[str, int] = {}
        self._pages: dict[str, tuple[float, bytes]] = {}

    def generations(self, scopes: list[str]) -> list[int]:
        with self._lock:
            return [self._generations.get(s, 0) for s in scopes]

    def bump(self, scopes: Iterable[str]) -> bool:
        with self._lock:
            for scope in scopes:
                self._generations[scope] = self._generations.get(scope, 0) + 1
        return True

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._pages.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: str, value: bytes, ttl: int) -> None:
        with self._lock:
            if len(self._pages) > 2_000:  # a bound, not an LRU: the dev server's memory
                self._pages.clear()
            self._pages[key] = (time.monotonic() + ttl, value)


class StoreUnavailable(Exception):
    """Redis did not answer: pages are rendered afresh until it does."""


class RedisStore:
    """Shared by every process and machine serving the portal.

    Redis being away never takes the portal down: generations cannot be read, so nothing is
    served from or kept in the cache; its going away is logged once, and its return. A bump
    lost that way leaves pages cached before the outage visible for at most
    ``PAGE_CACHE_TTL`` after it (a restarted Redis has none).
    """

    def __init__(self, url: str, prefix: str = "portal:pc:") -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._prefix = prefix
        self._state = threading.Lock()
        self._away = False

    def _call(self, work: Callable[[Any], Any]) -> Any:
        try:
            result = work(self._redis)
        except self._errors as error:
            with self._state:
                went_away, self._away = not self._away, True
            if went_away:
                _warn(
                    "page cache: Redis unavailable, pages are rendered afresh until it answers "
                    f"({error})"
                )
            raise StoreUnavailable(str(error)) from error
        with self._state:
            came_back, self._away = self._away, False
        if came_back:
            _inform("page cache: Redis answers again")
        return result

    def generations(self, scopes: list[str]) -> list[int]:
        values = self._call(lambda r: r.mget([f"{self._prefix}g:{s}" for s in scopes]))
        return [int(v) if v is not None else 0 for v in values]

    def bump(self, scopes: Iterable[str]) -> bool:
        def incr(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            for scope in scopes:
                pipe.incr(f"{self._prefix}g:{scope}")
            pipe.execute()

        try:
            self._call(incr)
        except StoreUnavailable:
            return False
        return True

    def get(self, key: str) -> bytes | None:
        try:
            value = self._call(lambda r: r.get(f"{self._prefix}p:{key}"))
        except StoreUnavailable:
            return None
        return value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes, ttl: int) -> None:
        with contextlib.suppress(StoreUnavailable):
            self._call(lambda r: r.set(f"{self._prefix}p:{key}", value, ex=ttl))


def _warn(message: str) -> None:
    if has_app_context():
        current_app.logger.warning(message)


def _inform(message: str) -> None:
    if has_app_context():
        current_app.logger.info(message)


def store_for(url: str | None, database_uri: str = "") -> Store | None:
    if not url:
        return None
    if url == "memory://":
        return MemoryStore()
    # Portals on different databases may share one Redis: their generations must not mix.
    database = hashlib.blake2b(database_uri.encode(), digest_size=6).hexdigest()
    return RedisStore(url, prefix=f"portal:pc:{database}:")


def clear(store: Store) -> bool:
    """Forget every cached page: every key depends on the epoch. False if Redis is away."""
    return store.bump([EPOCH])


def current_store() -> Store | None:
    return current_app.extensions.get("pagecache")  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    app.extensions["pagecache"] = store_for(
        app.config.get("PAGE_CACHE_URL"), str(app.config.get("SQLALCHEMY_DATABASE_URI"))
    )
    # App-level hooks run before any blueprint's (the admin area's role check): a hit is
    # answered before anything loads the signed-in person.
    app.before_request(serve_from_cache)
    _listen_once()


# --- what a commit changed ----------------------------------------------------------------


def _instance_scopes(instance: Any) -> set[str]:
    state = inspect(instance)
    table = state.mapper.local_table.name
    scopes = {f"t:{table}"}
    for kind, column in ENTITY_SCOPES.get(table, {}).items():
        # Both the old and the new value: a row that moves leaves one entity for another.
        history = state.attrs[column].history
        values = [*history.added, *history.unchanged, *history.deleted]
        scopes.update(f"{kind}:{v}" for v in values or [getattr(instance, column)] if v is not None)
    return scopes


def note_written(instance: Any) -> None:
    """Pages that show ``instance`` are forgotten when the session commits: for a row written
    by a statement executed with ``pagecache_skip`` (which would otherwise forget every page
    showing its table), then given to the session as a persistent object."""
    session = object_session(instance)
    if session is None:
        raise ValueError("note_written needs an instance in a session")
    session.info.setdefault(PENDING, set()).update(_instance_scopes(instance))


def _after_flush(session: Session, flush_context: Any) -> None:
    pending = session.info.setdefault(PENDING, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        pending.update(_instance_scopes(instance))


def _do_orm_execute(state: ORMExecuteState) -> None:
    if state.is_select:
        _record_read(state)
        return
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if state.execution_options.get("pagecache_skip"):
        return
    pending = state.session.info.setdefault(PENDING, set())
    for table in sql_util.find_tables(state.statement):
        pending.add(f"t:{table.name}")
        pending.update(f"all:{kind}" for kind in ENTITY_SCOPES.get(table.name, {}))


def _after_commit(session: Session) -> None:
    # Scopes flushed in a transaction that was rolled back stay pending and are bumped with
    # the next commit: needless but harmless, and a rolled-back savepoint cannot lose them.
    scopes = session.info.pop(PENDING, None)
    if not scopes or not has_app_context():
        return
    store = current_store()
    if store is not None:
        store.bump(scopes)


_listening = False


def _listen_once() -> None:
    global _listening
    if _listening:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "after_commit", _after_commit)
    _listening = True


# --- serving pages --------------------------------------------------------------------------


def _record_read(state: ORMExecuteState) -> None:
    if not has_app_context():
        return
    tables = g.get("pagecache_reads")
    if tables is not None:
        tables.update(t.name for t in sql_util.find_tables(state.statement) if isinstance(t, Table))


def expire_at(moment: datetime | None) -> None:
    """The page shown changes at ``moment`` without any write (registration opens)."""
    if moment is None or not has_app_context():
        return
    earliest = g.get("pagecache_expires")
    if earliest is None or moment < earliest:
        g.pagecache_expires = moment


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


@dataclass(frozen=True)
class Page:
    """What a cached view declared (see ``cached_page``)."""

    tables: tuple[str, ...]
    entity: SlugEntity | None
    viewer: bool
    signed_in_only: bool


@dataclass
class Lookup:
    key: str
    session_user: str | None
    tables: tuple[str, ...]
    covering: list[str]


def _session_user() -> str | None:
    """The ``id:version`` Flask-Login keeps in the signed session (not yet checked)."""
    value = session.get("_user_id")
    return value if isinstance(value, str) else None


def _look_up(page: Page, store: Store) -> Lookup | None:
    user = _session_user()
    person = user.partition(":")[0] if user else None
    slug = (request.view_args or {}).get("slug", "")
    resolved = page.entity.remembered(slug) if page.entity else None
    if page.entity and resolved is None:
        return None

    def scopes_and_generations() -> tuple[list[str], list[int], tuple[str, ...], list[str]]:
        entities = [resolved.scope] if resolved else []
        tables = (*page.tables, resolved.table) if resolved else page.tables
        covering = list(entities)
        if person:
            entities.append(f"person:{person}")
            if page.viewer:
                covering.append(f"person:{person}")
        scopes = _scopes_for(tables, entities)
        return scopes, store.generations(scopes), tables, covering

    scopes, generations, tables, covering = scopes_and_generations()
    if resolved and generations[scopes.index(f"t:{resolved.table}")] != resolved.generation:
        # The remembered id may be stale: look it up again at the current generation.
        assert page.entity is not None
        resolved = page.entity.look_up(slug, generations[scopes.index(f"t:{resolved.table}")])
        if resolved is None:
            return None
        scopes, generations, tables, covering = scopes_and_generations()
    key = hashlib.blake2b(
        json.dumps(
            [request.full_path, user or "anon", current_language(), scopes, generations]
        ).encode(),
        digest_size=20,
    ).hexdigest()
    return Lookup(key, user, tables, covering)


def serve_from_cache() -> Response | None:
    """Before any other check of the request: a cached page for this exact viewer, if any.

    A page is stored only after Flask-Login accepted the session and the view (and the admin
    area's role check) served it, under the session's ``id:version`` and the generation of
    that person's scope. Any change to the person (a new session version, a role removed,
    the account deleted) bumps that generation, so a hit needs no query to be trusted.
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
    found = store.get(lookup.key)
    if found is not None:
        expires, body = found.split(b"\n", 1)
        if float(expires) > utcnow().timestamp():
            return _response(body.decode())
    return None


def cached_page(
    *,
    tables: Iterable[str] = (),
    entity: SlugEntity | None = None,
    viewer: bool = False,
    signed_in_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a GET page from the cache while nothing it depends on has changed.

    ``tables``: the tables the page reads as a whole. ``entity``: the one entity the page is
    about, named by the ``slug`` in its address (``event:42``); an unknown slug is served
    uncached (it is a 404).
    ``viewer``: the page reads the signed-in person's own rows (memberships, registrations);
    a page listing other people's rows must declare those tables whole instead.
    A signed-in viewer's ``person`` scope is always part of the key: the header shows roles.
    ``signed_in_only``: the view requires a signed-in person (``login_required``).
    """
    page = Page(tuple(tables), entity, viewer, signed_in_only)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            # serve_from_cache found nothing: render, and keep the page if it may be kept.
            lookup: Lookup | None = g.pop("pagecache_lookup", None)
            store = current_store()
            if lookup is None or store is None:
                return view(**kwargs)
            if current_app.config.get("PAGE_CACHE_CHECK_SCOPES"):
                g.pagecache_reads = set()
            g.pagecache_expires = None
            try:
                result = view(**kwargs)
            finally:
                read = g.pop("pagecache_reads", None)
            body = result[0] if isinstance(result, tuple) and result[1:] == (200,) else result
            if not isinstance(body, str) or "_flashes" in session:
                return result
            viewer_id = current_user.get_id() if current_user.is_authenticated else None
            if viewer_id != lookup.session_user:
                return result  # the session named someone Flask-Login did not accept
            if read is not None:
                _check_covered(read, lookup.tables, lookup.covering)
            _store(store, lookup.key, body)
            return result

        wrapper._page = page  # type: ignore[attr-defined]
        return wrapper

    return decorator


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
        from portal.extensions import db

        if generation is None:
            [generation] = current_store().generations([f"t:{self.table}"])  # type: ignore[union-attr]
        # The generation is read before the row: a rename committed in between bumps it again.
        found = db.session.scalar(select(self.model.id).where(self.model.slug == slug))
        if found is None:
            self._known.pop(slug, None)
            return None
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[slug] = (found, generation)
        return Resolved(f"{self.kind}:{found}", self.table, generation)


Graph = TypeVar("Graph")


class GraphMemo:
    """Object graphs that rarely change (an event with its hosts, MOUs, ticket types and
    questions), kept per process and trusted only while the generations of the tables they
    were read from are unchanged: any commit writing one of those tables, in any process,
    makes every graph read from it unreachable. A hit costs one Redis call and no SQL.

    The graph is read in a session of its own on the request's connection, so it outlives
    the request's commit, and is copied into the request's session with ``merge(load=False)``:
    attributes it did not load still load on first use. A session holding unflushed or
    uncommitted changes gets a fresh load, so a memo never paints over them. Like pages, a
    graph is kept at most ``PAGE_CACHE_TTL`` seconds: with the in-memory store of the
    embedded default, a command run in another process bumps no generation this one sees.
    """

    def __init__(self, tables: Iterable[str], size: int = 256) -> None:
        self.scopes = [EPOCH, *(f"t:{table}" for table in tables)]
        self.size = size
        # One memo per store, i.e. per app: apps on other databases never share graphs.
        self._by_store: weakref.WeakKeyDictionary[Store, OrderedDict[Hashable, Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[Session], Graph | None]) -> Graph | None:
        from portal.extensions import db

        store = current_store()
        session = db.session()
        if store is None or session.new or session.dirty or session.deleted:
            return load(session)
        try:
            generations = tuple(store.generations(self.scopes))
        except StoreUnavailable:
            return load(session)  # the store logged it
        with self._lock:
            entries = self._by_store.setdefault(store, OrderedDict())
            entry = entries.get(key)
            if entry is not None:
                entries.move_to_end(key)
        now = time.monotonic()
        if entry is None or entry[0] != generations or entry[2] < now:
            # The generations were read before the rows: a commit in between bumps them again.
            with Session(bind=session.connection()) as reader:
                graph = load(reader)
            if graph is None:
                return None
            entry = (generations, graph, now + int(current_app.config.get("PAGE_CACHE_TTL", 60)))
            with self._lock:
                entries[key] = entry
                while len(entries) > self.size:
                    entries.popitem(last=False)
        return session.merge(entry[1], load=False)  # type: ignore[no-any-return]


def _store(store: Store, key: str, body: str) -> None:
    ttl = int(current_app.config.get("PAGE_CACHE_TTL", 60))
    now = utcnow().timestamp()
    expires = now + ttl
    changes: datetime | None = g.pop("pagecache_expires", None)
    if changes is not None:
        expires = min(expires, changes.timestamp())
    if expires <= now:
        return
    token = g.get("csrf_token")
    if token:
        body = body.replace(token, CSRF_PLACEHOLDER)
    store.put(key, f"{expires}\n{body}".encode(), max(1, int(expires - now) + 1))


def _response(body: str) -> Response:
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, generate_csrf())
    return Response(body, mimetype="text/html")

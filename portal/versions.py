"""Versions of the data: every commit that writes a row bumps a counter (a *generation*) of the
row's table and of the entities the row belongs to, in a store every process shares.

A scope is a whole table (``t:event``) or one entity (``event:42``, ``person:7``, ``org:3``);
``ENTITY_SCOPES`` says which entities a table's rows belong to. A bulk UPDATE or DELETE through
the session, whose rows are unknown, bumps the table and ``all:<kind>`` for each kind the table
feeds. An INSERT statement whose parameters name the entities (``event_id``, ``person_id``) bumps
those entities only; a SELECT whose ``WITH`` inserts names its tables (``WRITES_IN_WITH``) and
is counted as those INSERTs. Statements run on the session's connection rather than through the
ORM (a lock's no-op UPDATE) change nothing and bump nothing.

What is remembered between requests is remembered *under* the generations it was read at, so a
commit in any process makes it unreachable: whole pages (``portal.pagecache``, the web layer)
and object graphs that rarely change (``GraphMemo``, e.g. an event's definition). This is
pretix's versioned cache, kept in one place: no service bumps anything by hand.

Generations live in Redis when several processes serve the portal (they must agree); the
embedded single-process default keeps them in memory; without a store nothing is remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import util as sql_util

from portal.config import REDIS_TIMEOUT_SECONDS

#: Which entities a row belongs to: table → {scope kind: column holding that entity's id}.
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
    # Ending a sign-in (rule 15) makes every page kept for that person unreachable.
    "login_session": {"person": "person_id"},
}
#: Bumped by ``portal cache clear`` (after a deploy): everything remembered depends on it.
EPOCH = "epoch"
PENDING = "versions_pending"


class Store(Protocol):
    def generations(self, scopes: list[str]) -> list[int]: ...
    def bump(self, scopes: Iterable[str]) -> bool: ...
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, value: bytes, ttl: int) -> None: ...
    def generations_and_get(
        self, scopes: list[str], key: str
    ) -> tuple[list[int], bytes | None]: ...


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

    def generations_and_get(self, scopes: list[str], key: str) -> tuple[list[int], bytes | None]:
        return self.generations(scopes), self.get(key)

    def put(self, key: str, value: bytes, ttl: int) -> None:
        with self._lock:
            if len(self._pages) > 2_000:  # a bound, not an LRU: the dev server's memory
                self._pages.clear()
            self._pages[key] = (time.monotonic() + ttl, value)


class StoreUnavailable(Exception):
    """Redis did not answer: nothing is remembered or served from memory until it does."""


#: ``RedisStore.bump``'s script: INCR each key it is given; the epoch's, where Redis has lost
#: it, from the random start given (``RedisStore`` says why).
_BUMP = """
for _, key in ipairs(KEYS) do
  if key == ARGV[1] then redis.call('SET', key, ARGV[2], 'NX') end
  redis.call('INCR', key)
end
"""
#: Bumps owed past this many scopes become one bump of everything (``EPOCH``).
OWED_AT_MOST = 10_000


class RedisStore:
    """Shared by every process and machine serving the portal.

    Redis being away never takes the portal down: generations cannot be read, so nothing is
    served from or kept in the cache; its going away is logged once, and its return. A bump
    Redis did not take is owed: this process sends it before it reads any generation again
    (reading nothing until Redis takes it) and with its next bump. Until then, what other
    processes kept before it stays visible to them, for at most ``PAGE_CACHE_TTL`` (a
    restarted Redis keeps no pages).

    A Redis that lost its keys (restarted with nothing on disk, flushed) starts the epoch at a
    random number rather than at 0, so that what a process kept before (an event's definition
    under generations that were 0 then, read again as 0) is not good again.
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
        # Every commit that writes bumps a few scopes: one command for all of them, where a
        # pipeline of INCRs cost the worker a command built and an answer parsed per scope.
        self._bump_script = self._redis.register_script(_BUMP)
        self._owed: set[str] = set()

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
        self._settle()
        values = self._call(lambda r: r.mget([f"{self._prefix}g:{s}" for s in scopes]))
        return self._numbers(scopes, values)

    def _numbers(self, scopes: list[str], values: list[Any]) -> list[int]:
        epoch = scopes.index(EPOCH) if EPOCH in scopes else None
        if epoch is not None and values[epoch] is None:
            values[epoch] = self._start_epoch()
        return [int(v) if v is not None else 0 for v in values]

    def _start_epoch(self) -> Any:
        key = f"{self._prefix}g:{EPOCH}"

        def start(r: Any) -> Any:
            pipe = r.pipeline(transaction=False)
            pipe.set(key, _epoch_start(), nx=True)  # another process may have started it
            pipe.get(key)
            return pipe.execute()[1]

        return self._call(start)

    def bump(self, scopes: Iterable[str]) -> bool:
        with self._state:
            owed, self._owed = self._owed, set()
        try:
            self._bump({*scopes, *owed})
        except StoreUnavailable:
            return False
        return True

    def _settle(self) -> None:
        """Send the bumps owed (see the class), before anything kept is trusted again."""
        if not self._owed:
            return
        with self._state:
            owed, self._owed = self._owed, set()
        self._bump(owed)

    def _bump(self, scopes: set[str]) -> None:
        keys = [f"{self._prefix}g:{scope}" for scope in scopes]
        # A random start only where the epoch is bumped (rarely), not on every commit.
        start = [f"{self._prefix}g:{EPOCH}", _epoch_start()] if EPOCH in scopes else []
        try:
            self._call(lambda r: self._bump_script(keys=keys, args=start, client=r))
        except StoreUnavailable:
            with self._state:
                self._owed |= scopes
                if len(self._owed) > OWED_AT_MOST:
                    # A long outage: everything kept is as good as stale.
                    self._owed = {EPOCH}
            raise

    def get(self, key: str) -> bytes | None:
        try:
            value = self._call(lambda r: r.get(f"{self._prefix}p:{key}"))
        except StoreUnavailable:
            return None
        return value if isinstance(value, bytes) else None

    def generations_and_get(self, scopes: list[str], key: str) -> tuple[list[int], bytes | None]:
        """Generations and a kept value in one round trip (a page cache hit needs both)."""

        def both(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            pipe.mget([f"{self._prefix}g:{s}" for s in scopes])
            pipe.get(f"{self._prefix}p:{key}")
            return pipe.execute()  # type: ignore[no-any-return]

        self._settle()
        values, value = self._call(both)
        return self._numbers(scopes, values), value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes, ttl: int) -> None:
        with contextlib.suppress(StoreUnavailable):
            self._call(lambda r: r.set(f"{self._prefix}p:{key}", value, ex=ttl))


def _epoch_start() -> int:
    return secrets.randbelow(2**62) + 1


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
    _forget_read()
    return store.bump([EPOCH])


# --- generations read once per request -------------------------------------------------------

#: Where a request keeps the generations it has read (its WSGI environ: one per request, even
#: where a test holds an application context around several).
_READ = "portal.versions.read"
#: The tables whose generations any request has asked for in this process (a few dozen): read
#: with the first memo's generations, so the other memos a request consults (an event's
#: definition, who listens to webhooks, the network's fragments) need no call of their own.
_TABLE_SCOPES: set[str] = {EPOCH}


def read_generations(store: Store, scopes: list[str], *, with_tables: bool = True) -> list[int]:
    """The generations of ``scopes``, each read from the store at most once per request.

    Reading them earlier in the request than the rows they guard is safe (a commit after the
    read only makes what is kept under them unreachable sooner). A commit of the request's own
    forgets them (``_after_commit``): what it wrote must count. ``with_tables`` also reads every
    table scope known to this process in the same call, unless the request has read them (the
    page cache's look-up leaves them out: most look-ups are hits, which consult no memo)."""
    if not has_request_context():
        return store.generations(scopes)
    known, missing = _read_in_this_request(scopes)
    if missing:
        extra = [s for s in _TABLE_SCOPES if s not in known] if with_tables else []
        asked = list(dict.fromkeys([*missing, *extra]))
        known.update(zip(asked, store.generations(asked), strict=True))
    return [known[s] for s in scopes]


def read_generations_and_get(
    store: Store, scopes: list[str], key: str
) -> tuple[list[int], bytes | None]:
    """``read_generations`` (no other tables) and the value kept under ``key``, in one call to
    the store where some of the generations are still to be read."""
    if not has_request_context():
        return store.generations_and_get(scopes, key)
    known, missing = _read_in_this_request(scopes)
    if not missing:
        return [known[s] for s in scopes], store.get(key)
    generations, value = store.generations_and_get(missing, key)
    known.update(zip(missing, generations, strict=True))
    return [known[s] for s in scopes], value


def _read_in_this_request(scopes: list[str]) -> tuple[dict[str, int], list[str]]:
    """The generations this request has read (to be added to), and which of ``scopes`` it has
    not. A table scope asked for once is read with every later request's first call."""
    known: dict[str, int] = request.environ.setdefault(_READ, {})
    missing = [s for s in scopes if s not in known]
    _TABLE_SCOPES.update(s for s in missing if s.startswith("t:"))
    return known, missing


def _forget_read() -> None:
    if has_request_context():
        request.environ.pop(_READ, None)


def current_store() -> Store | None:
    return current_app.extensions.get("versions")  # type: ignore[no-any-return]


def tables_version(*tables: str) -> tuple[int, ...] | None:
    """A key that changes when any of ``tables`` is written, in any process, for remembering
    what is read from them alone (``portal.fragments``); None without a store (then nothing is
    remembered). Like ``GraphMemo``, it also changes every ``PAGE_CACHE_TTL`` seconds: with
    the in-memory store of the embedded default, another process's writes bump nothing here."""
    store = current_store()
    if store is None:
        return None
    try:
        generations = read_generations(store, [EPOCH, *(f"t:{table}" for table in tables)])
    except StoreUnavailable:
        return None  # the store logged it
    ttl = max(1, int(current_app.config.get("PAGE_CACHE_TTL", 60)))
    return (*generations, int(time.monotonic() // ttl))


def init_app(app: Flask) -> None:
    app.extensions["versions"] = store_for(
        app.config.get("PAGE_CACHE_URL"), str(app.config.get("SQLALCHEMY_DATABASE_URI"))
    )
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


def _after_flush(session: Session, flush_context: Any) -> None:
    pending = session.info.setdefault(PENDING, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        pending.update(_instance_scopes(instance))


#: The execution option a SELECT whose ``WITH`` clauses insert rows (PostgreSQL's ``WITH …
#: INSERT``) names the tables they insert into, counted as INSERT statements with the same
#: parameters are: finding them in every SELECT would cost every read.
WRITES_IN_WITH = "portal_writes_in_with"


def _do_orm_execute(state: ORMExecuteState) -> None:
    inserts = state.is_insert
    if state.is_update or state.is_delete or inserts:
        # The table written, not those it reads from (an INSERT … SELECT reads others).
        written = getattr(state.statement, "table", None)
        tables = [written] if written is not None else sql_util.find_tables(state.statement)
    else:
        tables = state.execution_options.get(WRITES_IN_WITH)
        if not tables:
            return
        inserts = True
    pending = state.session.info.setdefault(PENDING, set())
    for table in tables:
        pending.add(f"t:{table.name}")
        named = _named_entities(table.name, state.parameters) if inserts else None
        if named is not None:
            pending.update(named)
        else:
            pending.update(f"all:{kind}" for kind in ENTITY_SCOPES.get(table.name, {}))


def _named_entities(table: str, parameters: Mapping[str, Any] | None) -> set[str] | None:
    """The entities an INSERT's parameters name for every scope of its table, or None (then
    every entity of those kinds is assumed touched)."""
    columns = ENTITY_SCOPES.get(table, {})
    if not columns or not parameters or not all(c in parameters for c in columns.values()):
        return None
    return {f"{kind}:{parameters[column]}" for kind, column in columns.items()}


def _after_commit(session: Session) -> None:
    # Scopes flushed in a transaction that was rolled back stay pending and are bumped with
    # the next commit: needless but harmless, and a rolled-back savepoint cannot lose them.
    scopes = session.info.pop(PENDING, None)
    if not scopes or not has_app_context():
        return
    _forget_read()
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
            generations = tuple(read_generations(store, self.scopes))
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


Fact = TypeVar("Fact", bound=Hashable)


class FactMemo(Generic[Fact]):
    """A small immutable value read from a few tables (which organizations have a live webhook
    endpoint), kept per process under those tables' version (``tables_version``): a hit
    costs one call to the store and no SQL. Read afresh without a store, when
    the store does not answer, and when the request's session writes one of those tables in
    its transaction, or holds changes not yet flushed (its own change must count before it
    commits)."""

    def __init__(self, tables: Iterable[str]) -> None:
        self.tables = tuple(sorted(set(tables)))
        self._by_store: weakref.WeakKeyDictionary[Store, tuple[tuple[int, ...], Fact]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(self, load: Callable[[Session], Fact]) -> Fact:
        from portal.extensions import db

        session = db.session()
        # The version is read before the rows: a commit in between changes it again.
        version = None if self._written_in(session) else tables_version(*self.tables)
        store = current_store()
        if version is None or store is None:
            return load(session)
        with self._lock:
            entry = self._by_store.get(store)
        if entry is None or entry[0] != version:
            entry = (version, load(session))
            with self._lock:
                self._by_store[store] = entry
        return entry[1]

    def _written_in(self, session: Session) -> bool:
        # Any unflushed change counts (as for ``GraphMemo``): telling which tables it writes
        # would cost a bulk change (an event cancelled, each registration announced) a pass
        # over all its objects per announcement.
        if session.new or session.dirty or session.deleted:
            return True
        flushed = session.info.get(PENDING, ())
        return any(f"t:{table}" in flushed for table in self.tables)
